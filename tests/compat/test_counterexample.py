"""Counterexamples per kind of incompatible change: found, accepted by the writer, rejected by the reader."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from compat.counterexample import find_counterexample, inline_refs
from compat.instances import InstanceBuilder
from compat.source import SchemaSet

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "contracts" / "events"


@dataclass(frozen=True)
class Diff:
    """The two paths find_counterexample reads from a compat.diff.Difference."""

    old_path: str
    new_path: str


def at(path: str) -> Diff:
    return Diff(path, path)


def separate(writer: Any, reader: Any, path: str | None) -> Any:
    """Find a counterexample and check it really separates the two schemas."""
    w, r = SchemaSet.from_value(writer), SchemaSet.from_value(reader)
    found, instance = find_counterexample(w, r, at(path) if path is not None else None)
    assert found, f"no counterexample for {path}"
    assert w.accepts(instance)
    assert not r.accepts(instance)
    return instance


def obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


CASES: list[tuple[str, Any, Any, str]] = [
    (
        "max length decreased",
        obj({"name": {"type": "string", "maxLength": 12}}),
        obj({"name": {"type": "string", "maxLength": 10}}),
        "#/properties/name/maxLength",
    ),
    (
        "min length increased",
        {"type": "string", "minLength": 10},
        {"type": "string", "minLength": 11},
        "#/minLength",
    ),
    (
        "maximum decreased",
        {"type": "number", "maximum": 11},
        {"type": "number", "maximum": 10},
        "#/maximum",
    ),
    (
        "minimum increased",
        {"type": "integer", "minimum": 1},
        {"type": "integer", "minimum": 5},
        "#/minimum",
    ),
    (
        "exclusive maximum added",
        {"type": "number"},
        {"type": "number", "exclusiveMaximum": 0},
        "#/exclusiveMaximum",
    ),
    ("type changed", {"type": "object"}, {"type": "array"}, "#/"),
    ("type narrowed", {"type": "number"}, {"type": "integer"}, "#/"),
    (
        "type narrowed inside property",
        obj({"v": {"type": ["string", "null"]}}),
        obj({"v": {"type": "string"}}),
        "#/properties/v",
    ),
    (
        "enum narrowed",
        obj({"plan": {"enum": ["free", "pro", "team"]}}),
        obj({"plan": {"enum": ["free", "pro"]}}),
        "#/properties/plan/enum",
    ),
    (
        "const changed",
        obj({"foo": {"const": "red"}}),
        obj({"foo": {"const": "blue"}}),
        "#/properties/foo/const",
    ),
    (
        "required added",
        obj({"foo": {"type": "string"}}),
        obj({"foo": {"type": "string"}}, required=["foo"]),
        "#/required/foo",
    ),
    (
        "property added to closed model (additionalProperties removed)",
        obj({"foo": {"type": "string"}}),
        obj({"foo": {"type": "string"}}, additionalProperties=False),
        "#/additionalProperties",
    ),
    (
        "property removed from closed model",
        obj({"a": {"type": "string"}, "b": {"type": "string"}}, additionalProperties=False),
        obj({"a": {"type": "string"}}, additionalProperties=False),
        "#/properties/b",
    ),
    (
        # Forward check of removing a typed property from an open model: the new schema writes
        # anything under that name, the old one reads it with the old type.
        "property removed from open model with a type (forward)",
        obj({"a": {"type": "string"}}),
        obj({"a": {"type": "string"}, "count": {"type": "integer"}}),
        "#/properties/count",
    ),
    (
        "items narrowed",
        {"type": "array", "items": {"type": ["string", "integer"]}},
        {"type": "array", "items": {"type": "string"}},
        "#/items",
    ),
    (
        "max items decreased",
        {"type": "array", "maxItems": 3},
        {"type": "array", "maxItems": 1},
        "#/maxItems",
    ),
    (
        "unique items added",
        {"type": "array"},
        {"type": "array", "uniqueItems": True},
        "#/uniqueItems",
    ),
    (
        "oneOf branch removed",
        obj({"prop1": {"oneOf": [{"type": "number"}, {"type": "string"}]}}),
        obj({"prop1": {"oneOf": [{"type": "string"}]}}),
        "#/properties/prop1",
    ),
    (
        "anyOf branch narrowed",
        obj({"p": {"anyOf": [{"type": "string"}, {"type": "integer", "maximum": 10}]}}),
        obj({"p": {"anyOf": [{"type": "string"}, {"type": "integer", "maximum": 5}]}}),
        "#/properties/p/anyOf/1/maximum",
    ),
    (
        "ref target changed",
        {"type": "array", "items": {"$ref": "#/$defs/x"}, "$defs": {"x": {"type": "string"}}},
        {"type": "array", "items": {"$ref": "#/$defs/x"}, "$defs": {"x": {"type": "number"}}},
        "#/items",
    ),
    ("format added", {"type": "string"}, {"type": "string", "format": "uuid"}, "#/format"),
    (
        "pattern changed",
        obj({"code": {"type": "string", "pattern": "^[a-z]+$"}}, required=["code"]),
        obj({"code": {"type": "string", "pattern": "^[a-z]{2}$"}}, required=["code"]),
        "#/properties/code/pattern",
    ),
    (
        "multipleOf changed",
        {"type": "number", "multipleOf": 10},
        {"type": "number", "multipleOf": 11},
        "#/multipleOf",
    ),
    ("not extended", {"not": {"type": "integer"}}, {"not": {"type": "number"}}, "#/not"),
    (
        "additional properties narrowed",
        {"type": "object", "additionalProperties": True},
        {"type": "object", "additionalProperties": {"type": "number"}},
        "#/additionalProperties",
    ),
    (
        "prefix item changed",
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}]},
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
        "#/prefixItems/1",
    ),
]


@pytest.mark.parametrize(
    ("writer", "reader", "path"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_counterexample_found_and_verified(writer: Any, reader: Any, path: str) -> None:
    separate(writer, reader, path)


def test_max_length_counterexample_is_one_past_the_new_bound() -> None:
    instance = separate(
        obj({"name": {"type": "string", "maxLength": 12}}),
        obj({"name": {"type": "string", "maxLength": 10}}),
        "#/properties/name/maxLength",
    )
    assert len(instance["name"]) == 11


def test_required_added_counterexample_omits_the_property() -> None:
    instance = separate(
        obj({"a": {"type": "string"}, "b": {"type": "string"}}, required=["a"]),
        obj({"a": {"type": "string"}, "b": {"type": "string"}}, required=["a", "b"]),
        "#/required/b",
    )
    assert "a" in instance and "b" not in instance


def test_embeds_into_valid_parents_making_optional_ancestors_present() -> None:
    writer = obj(
        {
            "id": {"type": "string", "format": "uuid"},
            "context": obj({"page": obj({"title": {"type": "string", "maxLength": 100}})}),
        },
        required=["id"],
        additionalProperties=False,
    )
    reader = json.loads(json.dumps(writer).replace('"maxLength": 100', '"maxLength": 20'))
    instance = separate(
        writer, reader, "#/properties/context/properties/page/properties/title/maxLength"
    )
    assert len(instance["context"]["page"]["title"]) == 21
    assert instance["id"] == "00000000-0000-4000-8000-000000000000"


def test_without_a_diff_the_search_starts_at_the_root() -> None:
    separate(
        obj({"n": obj({"x": {"type": "integer", "maximum": 10}})}),
        obj({"n": obj({"x": {"type": "integer", "maximum": 9}})}),
        None,
    )


def write(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")
    return path


def test_change_nested_inside_a_refd_file(tmp_path: Path) -> None:
    user_v1 = obj({"user_id": {"type": "string", "maxLength": 64}}, required=["user_id"])
    user_v2 = obj({"user_id": {"type": "string", "maxLength": 32}}, required=["user_id"])
    write(tmp_path / "common" / "user" / "1.0.0.json", user_v1)
    write(tmp_path / "common" / "user" / "2.0.0.json", user_v2)

    def event(user_ref: str) -> dict[str, Any]:
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": False,
            "required": ["event_name", "user"],
            "properties": {"event_name": {"const": "signup"}, "user": {"$ref": user_ref}},
        }

    old = SchemaSet.from_file(
        write(tmp_path / "events" / "signup" / "1.0.0.json", event("../../common/user/1.0.0.json"))
    )
    new = SchemaSet.from_file(
        write(tmp_path / "events" / "signup" / "2.0.0.json", event("../../common/user/2.0.0.json"))
    )
    found, instance = find_counterexample(
        old, new, at("#/properties/user/properties/user_id/maxLength")
    )
    assert found
    assert old.accepts(instance) and not new.accepts(instance)
    assert instance["event_name"] == "signup"
    assert len(instance["user"]["user_id"]) == 33


@pytest.mark.parametrize(
    ("writer", "reader", "path"),
    [
        ({"type": "string", "maxLength": 5}, {"type": "string", "maxLength": 9}, "#/maxLength"),
        (obj({"a": {"type": "integer"}}), obj({"a": {"type": "number"}}), "#/properties/a"),
        (obj({"a": {"enum": ["x"]}}), obj({"a": {"enum": ["x", "y"]}}), "#/properties/a/enum"),
        # Removing a property from an open model: the reader still accepts anything there.
        (obj({"a": {"type": "string"}}), obj({}), "#/properties/a"),
    ],
    ids=[
        "max length increased",
        "type extended",
        "enum extended",
        "property removed from open model",
    ],
)
def test_no_counterexample_for_compatible_changes(writer: Any, reader: Any, path: str) -> None:
    result = find_counterexample(
        SchemaSet.from_value(writer), SchemaSet.from_value(reader), at(path)
    )
    assert result == (False, None)


def test_output_is_deterministic() -> None:
    writer = SchemaSet.from_value(
        obj({"s": {"type": "string", "pattern": "^[a-z]{3}-[0-9]+$"}}, required=["s"])
    )
    reader = SchemaSet.from_value(
        obj({"s": {"type": "string", "pattern": "^[a-z]{3}-[0-9]{2}$"}}, required=["s"])
    )
    results = [find_counterexample(writer, reader, at("#/properties/s/pattern")) for _ in range(3)]
    assert results[0][0]
    assert results[0] == results[1] == results[2]


def test_search_fallback_finds_what_the_targeted_strategy_misses() -> None:
    """`if`/`then` is not negated by the targeted strategy; the bounded search still separates."""
    writer = SchemaSet.from_value({"type": "integer"})
    reader = SchemaSet.from_value(
        {"type": "integer", "if": {"minimum": 5}, "then": {"multipleOf": 2}}
    )
    assert find_counterexample(writer, reader, at("#/then"), search=False) == (False, None)
    found, instance = find_counterexample(writer, reader, at("#/then"))
    assert found and writer.accepts(instance) and not reader.accepts(instance)


@pytest.mark.parametrize(
    "path", sorted(EVENTS.glob("*/[0-9]*.json")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_minimal_instances_of_real_contracts_are_valid(path: Path) -> None:
    schemas = SchemaSet.from_file(path)
    build = InstanceBuilder(schemas)
    found, instance = build.first([build.root()])
    assert found
    assert schemas.accepts(instance)


def test_inline_refs_keeps_the_accepted_set(tmp_path: Path) -> None:
    write(tmp_path / "part.json", {"type": "string", "maxLength": 3})
    root = write(
        tmp_path / "root.json",
        obj(
            {"p": {"$ref": "part.json", "description": "kept as a reference target"}},
            required=["p"],
        ),
    )
    schemas = SchemaSet.from_file(root)
    bundled = SchemaSet.from_value(inline_refs(schemas))
    for instance in ({"p": "abc"}, {"p": "abcd"}, {"p": 1}, {}):
        assert bundled.accepts(instance) == schemas.accepts(instance)


def test_no_search_beyond_the_depth_limit() -> None:
    # Generation cost explodes with nesting; beyond the limit the change is reported without
    # a counterexample instead of searching for minutes.
    def nested(leaf: dict[str, Any], depth: int) -> dict[str, Any]:
        schema = leaf
        for _ in range(depth):
            schema = {"type": "array", "items": schema}
        return schema

    deep_writer = SchemaSet.from_value(nested({"type": "string"}, 20))
    deep_reader = SchemaSet.from_value(nested({"type": "integer"}, 20))
    assert find_counterexample(deep_writer, deep_reader) == (False, None)
    shallow_writer = SchemaSet.from_value(nested({"type": "string"}, 3))
    shallow_reader = SchemaSet.from_value(nested({"type": "integer"}, 3))
    found, instance = find_counterexample(shallow_writer, shallow_reader)
    assert found and shallow_writer.accepts(instance) and not shallow_reader.accepts(instance)
