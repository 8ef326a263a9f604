"""One small original/update pair per difference type the engine emits beyond Confluent's examples.

Each row asserts the exact set of (type, old_path) the engine reports and the verdict under the
strict and lenient policies. Schemas are Draft 2020-12 unless they name draft-07.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from compat.diff import Difference, diff_schemas
from compat.differences import (
    ALL_TYPES,
    COMPATIBLE_LENIENT,
    COMPATIBLE_STRICT,
    CONFLUENT_TYPES,
    explain,
    is_compatible,
)
from compat.model import Policy
from compat.source import Location, SchemaSet

D7 = "http://json-schema.org/draft-07/schema#"
D2020 = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class Case:
    name: str
    original: Any
    update: Any
    expected: frozenset[tuple[str, str]]
    strict: bool
    lenient: bool


def case(
    name: str,
    original: Any,
    update: Any,
    expected: set[tuple[str, str]],
    strict: bool,
    lenient: bool | None = None,
) -> Case:
    return Case(
        name, original, update, frozenset(expected), strict, strict if lenient is None else lenient
    )


STRING = {"type": "string"}
OBJ = {"type": "object", "properties": {"a": STRING}}
CLOSED = {**OBJ, "additionalProperties": False}
ARRAY = {"type": "array", "contains": STRING}

CASES = [
    # format (Refract asserts formats, Confluent treats them as annotations)
    case(
        "format added",
        STRING,
        {**STRING, "format": "email"},
        {("REFRACT_FORMAT_ADDED", "#/format")},
        False,
    ),
    case(
        "format removed",
        {**STRING, "format": "email"},
        STRING,
        {("REFRACT_FORMAT_REMOVED", "#/format")},
        True,
    ),
    case(
        "format changed",
        {**STRING, "format": "date"},
        {**STRING, "format": "date-time"},
        {("REFRACT_FORMAT_CHANGED", "#/format")},
        False,
    ),
    # annotations that never change validation
    case(
        "x-pii changed",
        {"type": "object", "properties": {"email": {**STRING, "x-pii": "direct"}}},
        {"type": "object", "properties": {"email": {**STRING, "x-pii": "indirect"}}},
        {("REFRACT_ANNOTATION_CHANGED", "#/properties/email/x-pii")},
        True,
    ),
    case(
        "examples, x-dedup-key, $comment, deprecated, readOnly",
        {**OBJ, "examples": [{"a": "x"}], "x-dedup-key": ["/a"]},
        {
            **OBJ,
            "examples": [{"a": "y"}],
            "x-dedup-key": ["/a", "/b"],
            "$comment": "c",
            "deprecated": True,
            "readOnly": True,
        },
        {
            ("REFRACT_ANNOTATION_CHANGED", "#/examples"),
            ("REFRACT_ANNOTATION_CHANGED", "#/x-dedup-key"),
            ("REFRACT_ANNOTATION_CHANGED", "#/$comment"),
            ("REFRACT_ANNOTATION_CHANGED", "#/deprecated"),
            ("REFRACT_ANNOTATION_CHANGED", "#/readOnly"),
        },
        True,
    ),
    case(
        "contentMediaType added",
        STRING,
        {**STRING, "contentMediaType": "application/json"},
        {("REFRACT_ANNOTATION_CHANGED", "#/contentMediaType")},
        True,
    ),
    # if/then/else: diffed structurally when `if` is unchanged, judged whole otherwise
    case(
        "if/then added",
        OBJ,
        {**OBJ, "if": {"required": ["a"]}, "then": {"required": ["b"]}},
        {("REFRACT_CONDITIONAL_ADDED", "#/if")},
        False,
    ),
    case(
        "if/then removed",
        {**OBJ, "if": {"required": ["a"]}, "then": {"required": ["b"]}},
        OBJ,
        {("REFRACT_CONDITIONAL_REMOVED", "#/if")},
        True,
    ),
    case(
        "if changed",
        {**OBJ, "if": {"required": ["a"]}, "then": {"required": ["b"]}},
        {**OBJ, "if": {"required": ["b"]}, "then": {"required": ["b"]}},
        {("REFRACT_CONDITIONAL_CHANGED", "#/if")},
        False,
    ),
    case(
        "same if, then tightened and else loosened",
        {"if": STRING, "then": {"maxLength": 5}, "else": {"type": "integer", "maximum": 3}},
        {"if": STRING, "then": {"maxLength": 3}, "else": {"type": "integer"}},
        {("MAX_LENGTH_DECREASED", "#/then/maxLength"), ("MAXIMUM_REMOVED", "#/else/maximum")},
        False,
    ),
    case(
        "same if, else removed",
        {"if": STRING, "then": {"maxLength": 5}, "else": {"type": "integer"}},
        {"if": STRING, "then": {"maxLength": 5}},
        {("SCHEMA_REMOVED", "#/else")},
        True,
    ),
    case(
        "if/then added to an update that is otherwise empty",
        STRING,
        {"if": {"minLength": 1}, "then": {"maxLength": 3}},
        {("REFRACT_CONDITIONAL_ADDED", "#/if")},
        False,
    ),
    case(
        "then without if validates nothing",
        {**OBJ, "then": {"required": ["a"]}},
        {**OBJ, "then": {"required": ["b"]}},
        {("REFRACT_ANNOTATION_CHANGED", "#/then")},
        True,
    ),
    # keywords the engine does not interpret are never ignored, but only reported when changed
    case(
        "$dynamicRef changed",
        {"$dynamicAnchor": "n", "type": "array", "items": {"$dynamicRef": "#n"}},
        {"$dynamicAnchor": "m", "type": "array", "items": {"$dynamicRef": "#m"}},
        {("REFRACT_UNKNOWN_KEYWORD_CHANGED", "#/items/$dynamicRef")},
        False,
    ),
    case(
        "$dynamicRef unchanged beside a loosened bound",
        {"$dynamicAnchor": "n", "type": "array", "items": {"$dynamicRef": "#n"}, "maxItems": 2},
        {"$dynamicAnchor": "n", "type": "array", "items": {"$dynamicRef": "#n"}, "maxItems": 3},
        {("MAX_ITEMS_INCREASED", "#/maxItems")},
        True,
    ),
    # keywords that constrain whatever the kind, on an update with a shortcut verdict
    case(
        "format on an update that is otherwise empty",
        STRING,
        {"format": "email"},
        {("REFRACT_FORMAT_ADDED", "#/format")},
        False,
    ),
    case(
        "format beside the anyOf an old value matches",
        STRING,
        {"anyOf": [STRING, {"type": "null"}], "format": "email"},
        {("REFRACT_FORMAT_ADDED", "#/format"), ("SUM_TYPE_EXTENDED", "#")},
        False,
    ),
    # a schema typed only by its keywords lets every other type through
    case(
        "type declared on a schema typed by its keywords",
        {"properties": {"a": STRING}},
        {"type": "object", "properties": {"a": STRING}},
        {("TYPE_NARROWED", "#")},
        False,
    ),
    case(
        "type dropped, keywords kept",
        {"type": "string", "maxLength": 3},
        {"maxLength": 3},
        {("TYPE_EXTENDED", "#")},
        True,
    ),
    case(
        "type declared inside not",
        {"not": {"prefixItems": [{"type": "boolean"}]}},
        {"not": {"type": "array", "prefixItems": [{"type": "boolean"}]}},
        {("NOT_TYPE_NARROWED", "#/not")},
        True,
    ),
    case(
        "type dropped inside not",
        {"not": {"type": "array", "prefixItems": [{"type": "boolean"}]}},
        {"not": {"prefixItems": [{"type": "boolean"}]}},
        {("NOT_TYPE_EXTENDED", "#/not")},
        False,
    ),
    case(
        "misspelt keyword changed",
        {"type": "object", "properties": {"a": {**STRING, "maxLenght": 3}}},
        {"type": "object", "properties": {"a": {**STRING, "maxLenght": 2}}},
        {("REFRACT_UNKNOWN_KEYWORD_CHANGED", "#/properties/a/maxLenght")},
        False,
    ),
    case(
        "draft-07 keyword in a 2020-12 schema",
        {"type": "array", "prefixItems": [STRING]},
        {"type": "array", "prefixItems": [STRING], "additionalItems": False},
        {("REFRACT_UNKNOWN_KEYWORD_CHANGED", "#/additionalItems")},
        False,
    ),
    case(
        "2020-12 keyword in a draft-07 schema",
        {"$schema": D7, "type": "array", "contains": STRING},
        {"$schema": D7, "type": "array", "contains": STRING, "minContains": 2},
        {("REFRACT_UNKNOWN_KEYWORD_CHANGED", "#/minContains")},
        False,
    ),
    case(
        "dialect changed",
        {"$schema": D7, **STRING},
        {"$schema": D2020, **STRING},
        {("REFRACT_DIALECT_CHANGED", "#/$schema")},
        True,
    ),
    # unevaluatedProperties as the content model
    case(
        "unevaluatedProperties false added",
        OBJ,
        {**OBJ, "unevaluatedProperties": False},
        {("UNEVALUATED_PROPERTIES_REMOVED", "#/unevaluatedProperties")},
        False,
    ),
    case(
        "unevaluatedProperties false dropped",
        {**OBJ, "unevaluatedProperties": False},
        OBJ,
        {("UNEVALUATED_PROPERTIES_ADDED", "#/unevaluatedProperties")},
        False,  # not in Confluent's compatible sets
    ),
    case(
        "unevaluatedProperties restricted",
        OBJ,
        {**OBJ, "unevaluatedProperties": STRING},
        {("UNEVALUATED_PROPERTIES_NARROWED", "#/unevaluatedProperties")},
        False,
    ),
    case(
        "unevaluatedProperties schema changed",
        {**OBJ, "unevaluatedProperties": STRING},
        {**OBJ, "unevaluatedProperties": {"type": "integer"}},
        {("TYPE_CHANGED", "#/unevaluatedProperties")},
        False,
    ),
    case(
        "optional property added under unevaluatedProperties false",
        {**OBJ, "unevaluatedProperties": False},
        {
            "type": "object",
            "properties": {"a": STRING, "b": STRING},
            "unevaluatedProperties": False,
        },
        {("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "#/properties/b")},
        True,
    ),
    case(
        "property added covered by unevaluatedProperties",
        {**OBJ, "unevaluatedProperties": STRING},
        {
            "type": "object",
            "properties": {"a": STRING, "b": STRING},
            "unevaluatedProperties": STRING,
        },
        {
            ("PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "#/properties/b"),
            ("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "#/properties/b"),
        },
        True,
    ),
    # objects
    case(
        "optional property added to open model",
        OBJ,
        {"type": "object", "properties": {"a": STRING, "b": STRING}},
        {("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "#/properties/b")},
        False,
        True,
    ),
    case(
        "required property added to open model",
        OBJ,
        {"type": "object", "properties": {"a": STRING, "b": STRING}, "required": ["b"]},
        {("REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "#/properties/b")},
        False,
    ),
    case(
        "required property with default added to closed model",
        CLOSED,
        {
            "type": "object",
            "properties": {"a": STRING, "b": {**STRING, "default": "x"}},
            "required": ["b"],
            "additionalProperties": False,
        },
        {("REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL", "#/properties/b")},
        True,
    ),
    case(
        "required property added to closed model",
        CLOSED,
        {**CLOSED, "properties": {"a": STRING, "b": STRING}, "required": ["b"]},
        {("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "#/properties/b")},
        False,
    ),
    case(
        "property removed from closed model",
        {**CLOSED, "properties": {"a": STRING, "b": STRING}},
        CLOSED,
        {("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", "#/properties/b")},
        False,
    ),
    case(
        "property declaration dropped but required",
        OBJ,
        {"type": "object", "required": ["a"]},
        {
            ("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL", "#/properties/a"),
            ("REQUIRED_ATTRIBUTE_ADDED", "#/required/a"),
        },
        False,
    ),
    case(
        # Confluent's own example ("Detect required array to be changed") judges a required
        # name that no schema declares compatible; the engine keeps that verdict, documented in
        # compat.differences.CONFLUENT_UNSOUND_BY_DESIGN and excluded from the soundness test.
        "undeclared name made required (Confluent's call)",
        OBJ,
        {**OBJ, "required": ["b"]},
        set(),
        True,
    ),
    case(
        "existing property made required with a default",
        {"type": "object", "properties": {"a": {**STRING, "default": "x"}}},
        {"type": "object", "properties": {"a": {**STRING, "default": "x"}}, "required": ["a"]},
        {("REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED", "#/required/a")},
        True,
    ),
    case(
        "default changed",
        {**STRING, "default": "a"},
        {**STRING, "default": "b"},
        {("DEFAULT_CHANGED", "#")},
        True,
    ),
    case(
        "propertyNames added",
        OBJ,
        {**OBJ, "propertyNames": {"pattern": "^[a-z]+$"}},
        {("SCHEMA_ADDED", "#/propertyNames")},
        False,
    ),
    case(
        "minProperties added",
        OBJ,
        {**OBJ, "minProperties": 1},
        {("MIN_PROPERTIES_ADDED", "#/minProperties")},
        False,
    ),
    # dependentRequired / dependentSchemas (2020-12) and dependencies (draft-07)
    case(
        "dependentRequired extended",
        {**OBJ, "dependentRequired": {"a": ["b"]}},
        {**OBJ, "dependentRequired": {"a": ["b", "c"]}},
        {("DEPENDENCY_ARRAY_EXTENDED", "#/dependentRequired/a")},
        False,
    ),
    case(
        "dependentRequired narrowed",
        {**OBJ, "dependentRequired": {"a": ["b", "c"]}},
        {**OBJ, "dependentRequired": {"a": ["b"]}},
        {("DEPENDENCY_ARRAY_NARROWED", "#/dependentRequired/a")},
        True,
    ),
    case(
        "dependentRequired changed",
        {**OBJ, "dependentRequired": {"a": ["b"]}},
        {**OBJ, "dependentRequired": {"a": ["c"]}},
        {("DEPENDENCY_ARRAY_CHANGED", "#/dependentRequired/a")},
        False,
    ),
    case(
        "dependentSchemas added",
        OBJ,
        {**OBJ, "dependentSchemas": {"a": {"required": ["b"]}}},
        {("DEPENDENCY_SCHEMA_ADDED", "#/dependentSchemas/a")},
        False,
    ),
    case(
        "draft-07 dependencies array extended",
        {"$schema": D7, **OBJ, "dependencies": {"a": ["b"]}},
        {"$schema": D7, **OBJ, "dependencies": {"a": ["b", "c"]}},
        {("DEPENDENCY_ARRAY_EXTENDED", "#/dependencies/a")},
        False,
    ),
    # arrays: prefixItems (2020-12), items arrays (draft-07), contains and its bounds
    case(
        "prefixItems item type changed",
        {"type": "array", "prefixItems": [STRING]},
        {"type": "array", "prefixItems": [{"type": "integer"}]},
        {("TYPE_CHANGED", "#/prefixItems/0")},
        False,
    ),
    case(
        "prefixItems item added to closed tuple",
        {"type": "array", "prefixItems": [STRING], "items": False},
        {"type": "array", "prefixItems": [STRING, STRING], "items": False},
        {("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL", "#/prefixItems/1")},
        True,
    ),
    case(
        "prefixItems item added to open tuple",
        {"type": "array", "prefixItems": [STRING]},
        {"type": "array", "prefixItems": [STRING, STRING]},
        {("ITEM_ADDED_TO_OPEN_CONTENT_MODEL", "#/prefixItems/1")},
        False,
    ),
    case(
        "prefixItems item removed from closed tuple",
        {"type": "array", "prefixItems": [STRING, STRING], "items": False},
        {"type": "array", "prefixItems": [STRING], "items": False},
        {("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL", "#/prefixItems/1")},
        False,
    ),
    case(
        "prefixItems item removed, covered by items",
        {"type": "array", "prefixItems": [STRING, STRING], "items": STRING},
        {"type": "array", "prefixItems": [STRING], "items": STRING},
        {("ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "#/prefixItems/1")},
        True,
    ),
    case(
        "items after prefixItems restricted",
        {"type": "array", "prefixItems": [STRING]},
        {"type": "array", "prefixItems": [STRING], "items": STRING},
        {("ADDITIONAL_ITEMS_NARROWED", "#/items")},
        False,
    ),
    case(
        "draft-07 tuple item removed from closed model",
        {"$schema": D7, "type": "array", "items": [STRING, STRING], "additionalItems": False},
        {"$schema": D7, "type": "array", "items": [STRING], "additionalItems": False},
        {("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL", "#/items/1")},
        False,
    ),
    case("contains added", {"type": "array"}, ARRAY, {("SCHEMA_ADDED", "#/contains")}, False),
    case("contains removed", ARRAY, {"type": "array"}, {("SCHEMA_REMOVED", "#/contains")}, True),
    case(
        "minContains increased",
        {**ARRAY, "minContains": 1},
        {**ARRAY, "minContains": 2},
        {("MIN_CONTAINS_INCREASED", "#/minContains")},
        False,
    ),
    case(
        "maxContains decreased",
        {**ARRAY, "maxContains": 3},
        {**ARRAY, "maxContains": 2},
        {("MAX_CONTAINS_DECREASED", "#/maxContains")},
        False,
    ),
    case(
        # Only loosens, yet Confluent's strict set leaves it out: its verdict is kept and its
        # message says so (test_explain_says_when_the_verdict_is_confluents).
        "maxContains increased",
        {**ARRAY, "maxContains": 2},
        {**ARRAY, "maxContains": 3},
        {("MAX_CONTAINS_INCREASED", "#/maxContains")},
        False,
    ),
    case(
        "maxContains added",
        ARRAY,
        {**ARRAY, "maxContains": 2},
        {("MAX_CONTAINS_ADDED", "#/maxContains")},
        False,
    ),
    case(
        "unevaluatedItems false added",
        {"type": "array", "prefixItems": [STRING]},
        {"type": "array", "prefixItems": [STRING], "unevaluatedItems": False},
        {("UNEVALUATED_ITEMS_REMOVED", "#/unevaluatedItems")},
        False,
    ),
    case(
        "uniqueItems added",
        {"type": "array"},
        {"type": "array", "uniqueItems": True},
        {("UNIQUE_ITEMS_ADDED", "#/uniqueItems")},
        False,
    ),
    case(
        "maxItems increased",
        {"type": "array", "maxItems": 2},
        {"type": "array", "maxItems": 3},
        {("MAX_ITEMS_INCREASED", "#/maxItems")},
        True,
    ),
    # numbers and strings
    case(
        "exclusiveMinimum increased",
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "number", "exclusiveMinimum": 1},
        {("EXCLUSIVE_MINIMUM_INCREASED", "#/exclusiveMinimum")},
        False,
    ),
    case(
        "exclusiveMaximum decreased",
        {"type": "number", "exclusiveMaximum": 10},
        {"type": "number", "exclusiveMaximum": 5},
        {("EXCLUSIVE_MAXIMUM_DECREASED", "#/exclusiveMaximum")},
        False,
    ),
    case(
        "exclusiveMaximum increased",
        {"type": "number", "exclusiveMaximum": 5},
        {"type": "number", "exclusiveMaximum": 10},
        {("EXCLUSIVE_MAXIMUM_INCREASED", "#/exclusiveMaximum")},
        True,
    ),
    case(
        "multipleOf expanded",
        {"type": "integer", "multipleOf": 2},
        {"type": "integer", "multipleOf": 4},
        {("MULTIPLE_OF_EXPANDED", "#/multipleOf")},
        False,
    ),
    case(
        "decimal multipleOf reduced",
        {"type": "number", "multipleOf": 0.5},
        {"type": "number", "multipleOf": 0.25},
        {("MULTIPLE_OF_REDUCED", "#/multipleOf")},
        True,
    ),
    case(
        "pattern added",
        STRING,
        {**STRING, "pattern": "^a"},
        {("PATTERN_ADDED", "#/pattern")},
        False,
    ),
    case(
        "maxLength added",
        STRING,
        {**STRING, "maxLength": 3},
        {("MAX_LENGTH_ADDED", "#/maxLength")},
        False,
    ),
    # types
    case("nullable dropped", {"type": ["string", "null"]}, STRING, {("TYPE_CHANGED", "#")}, False),
    case(
        "nullable string tightened",
        {"type": ["string", "null"], "maxLength": 5},
        {"type": ["string", "null"], "maxLength": 3},
        {("MAX_LENGTH_DECREASED", "#/maxLength")},
        False,
    ),
    case(
        "nullable added", STRING, {"type": ["string", "null"]}, {("SUM_TYPE_EXTENDED", "#")}, True
    ),
    case(
        "integer widened", {"type": "integer"}, {"type": "number"}, {("TYPE_EXTENDED", "#")}, True
    ),
    case("anything to false", {"type": "string"}, False, {("TYPE_CHANGED", "#")}, False),
    case("anything to true", {"type": "string"}, True, set(), True),
    # const and enum
    case(
        "const changed",
        {"const": "a"},
        {"const": "b"},
        {("ENUM_ARRAY_CHANGED", "#/const")},
        False,
    ),
    case(
        "const to an enum holding it",
        {"const": "a"},
        {"enum": ["a", "b"]},
        {("ENUM_ARRAY_EXTENDED", "#/const")},
        True,
    ),
    case(
        "enum to one of its values",
        {"enum": ["a", "b"]},
        {"const": "a"},
        {("ENUM_ARRAY_NARROWED", "#/enum")},
        False,
    ),
    case(
        "enum distinguishes 1 from true",
        {"enum": [1]},
        {"enum": [True]},
        {("ENUM_ARRAY_CHANGED", "#/enum")},
        False,
    ),
    # $ref siblings (2020-12 applies them, annotations describe the referenced schema)
    case(
        "description beside $ref changed",
        {
            "$defs": {"s": STRING},
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/s", "description": "x"}},
        },
        {
            "$defs": {"s": STRING},
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/s", "description": "y"}},
        },
        {("DESCRIPTION_CHANGED", "#/properties/a")},
        True,
    ),
    case(
        "validation keyword beside $ref tightened",
        {
            "$defs": {"s": STRING},
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/s", "maxLength": 5}},
        },
        {
            "$defs": {"s": STRING},
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/s", "maxLength": 3}},
        },
        {("MAX_LENGTH_DECREASED", "#/properties/a/maxLength")},
        False,
    ),
    case(
        "$defs change only seen through the $ref that uses it",
        {"$defs": {"s": STRING, "unused": STRING}, "$ref": "#/$defs/s"},
        {
            "$defs": {"s": {**STRING, "minLength": 1}, "unused": {"type": "integer"}},
            "$ref": "#/$defs/s",
        },
        {("MIN_LENGTH_ADDED", "#/minLength")},
        False,
    ),
]


def _diff(original: Any, update: Any) -> list[Difference]:
    return diff_schemas(SchemaSet.from_value(original), SchemaSet.from_value(update))


@pytest.mark.parametrize("row", CASES, ids=[c.name for c in CASES])
def test_difference_type(row: Case) -> None:
    diffs = _diff(row.original, row.update)
    assert {(d.type, d.old_path) for d in diffs} == row.expected
    assert all(is_compatible(d.type, Policy.STRICT) for d in diffs) == row.strict
    assert all(is_compatible(d.type, Policy.LENIENT) for d in diffs) == row.lenient


def test_paths_follow_each_schema_through_combinators() -> None:
    """Confluent names a matched oneOf member by its original index; new_path keeps the update's."""
    diffs = _diff(
        {"oneOf": [{**STRING, "maxLength": 5}]},
        {"oneOf": [{"type": "boolean"}, {**STRING, "maxLength": 8}]},
    )
    increase = next(d for d in diffs if d.type == "MAX_LENGTH_INCREASED")
    assert (increase.old_path, increase.new_path) == ("#/oneOf/0/maxLength", "#/oneOf/1/maxLength")


def test_locations_point_at_the_keyword_and_are_none_where_absent() -> None:
    original = SchemaSet.from_value({"type": "string"}, display="old.json")
    update = SchemaSet.from_value({"type": "string", "maxLength": 3}, display="new.json")
    (diff,) = diff_schemas(original, update)
    assert diff.type == "MAX_LENGTH_ADDED"
    assert diff.old_location is None
    assert isinstance(diff.new_location, Location)
    assert diff.new_location.file == "new.json"
    assert diff.new_location.pointer == "/maxLength"


def test_identical_schemas_have_no_differences() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": ["string", "null"], "format": "email"}},
    }
    assert _diff(schema, schema) == []


def test_every_confluent_name_is_known_and_sets_are_nested() -> None:
    assert len(CONFLUENT_TYPES) == len(set(CONFLUENT_TYPES)) == 132
    assert COMPATIBLE_STRICT < COMPATIBLE_LENIENT <= ALL_TYPES
    assert "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL" in COMPATIBLE_LENIENT - COMPATIBLE_STRICT
    assert not is_compatible("REFRACT_UNKNOWN_KEYWORD_CHANGED", Policy.LENIENT)


def test_emitted_types_are_all_named() -> None:
    emitted = {d.type for row in CASES for d in _diff(row.original, row.update)}
    assert emitted <= ALL_TYPES


def test_explain_names_the_path_and_the_consequence() -> None:
    diffs = _diff(
        {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}},
        {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}}},
    )
    assert [explain(d) for d in diffs] == [
        "maxLength decreased at #/properties/name/maxLength: values longer than the new bound"
        " written with the old schema are rejected"
    ]
    for row in CASES:
        for d in _diff(row.original, row.update):
            message = explain(d)
            assert "\n" not in message
            assert d.old_path in message or d.new_path in message


def test_explain_says_when_the_verdict_is_confluents() -> None:
    """Loosenings Confluent counts as incompatible, and defaults it assumes filled in, say so."""
    (loosened,) = _diff({**ARRAY, "maxContains": 2}, {**ARRAY, "maxContains": 3})
    assert explain(loosened) == (
        "maxContains increased at #/maxContains: no old data is rejected,"
        " but Confluent's rules count it as incompatible"
    )
    (dropped,) = _diff({**ARRAY, "maxContains": 2}, ARRAY)
    assert "no old data is rejected" in explain(dropped)
    (tightened,) = _diff({**ARRAY, "maxContains": 3}, {**ARRAY, "maxContains": 2})
    assert "no old data is rejected" not in explain(tightened)
    assert "are rejected" in explain(tightened)
    (defaulted,) = _diff(
        {"type": "object", "properties": {"a": {**STRING, "default": "x"}}},
        {"type": "object", "properties": {"a": {**STRING, "default": "x"}}, "required": ["a"]},
    )
    assert "compatible only if readers fill in the default" in explain(defaulted)


def event_schema(properties: int, *, tweak: bool) -> dict[str, Any]:
    """A realistic flat event schema of `properties` fields; `tweak` narrows one and adds one."""
    props: dict[str, Any] = {}
    for i in range(properties):
        kind = i % 5
        if kind == 0:
            props[f"f{i}"] = {"type": "string", "maxLength": 64, "description": f"field {i}"}
        elif kind == 1:
            props[f"f{i}"] = {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": f"field {i}",
            }
        elif kind == 2:
            props[f"f{i}"] = {"enum": ["a", "b", "c"], "description": f"field {i}"}
        elif kind == 3:
            props[f"f{i}"] = {
                "type": "object",
                "properties": {"x": {"type": "string", "format": "uri"}, "y": {"type": "number"}},
                "additionalProperties": False,
                "description": f"field {i}",
            }
        else:
            props[f"f{i}"] = {
                "type": "array",
                "items": {"type": "string"},
                "description": f"field {i}",
            }
    if tweak:
        props["f0"] = {**props["f0"], "maxLength": 32}
        props["extra"] = {"type": "string", "description": "new"}
    return {
        "$schema": D2020,
        "title": "event",
        "description": "an event",
        "type": "object",
        "additionalProperties": False,
        "required": [f"f{i}" for i in range(0, properties, 3)],
        "properties": props,
    }


def test_diffing_two_event_schemas_of_fifty_properties_finds_exactly_the_two_changes() -> None:
    """Speed is measured by benchmarks/compat_diff.py, not asserted here."""
    original = SchemaSet.from_value(event_schema(50, tweak=False))
    update = SchemaSet.from_value(event_schema(50, tweak=True))
    diffs = diff_schemas(original, update)
    assert {d.type for d in diffs} == {
        "MAX_LENGTH_DECREASED",
        "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
    }
