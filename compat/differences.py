"""The names of schema differences, which of them are compatible, and how to explain them.

The names are Confluent Schema Registry's `Difference.Type` values, all of them (even those this
engine never emits), so reports read the same as a registry's and tools keyed on those names keep
working. What Confluent lacks is prefixed `REFRACT_`. Compatibility is a property of the type
alone, exactly as in Confluent: `COMPATIBLE_STRICT` is its default set, `COMPATIBLE_LENIENT` the
lenient policy's superset. "Compatible" always means: the update schema still accepts what the
original accepted (BACKWARD when original = old version).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from compat.model import Policy

if TYPE_CHECKING:
    from compat.diff import Difference

CONFLUENT_TYPES: tuple[str, ...] = (
    "ID_CHANGED",
    "DESCRIPTION_CHANGED",
    "TITLE_CHANGED",
    "DEFAULT_CHANGED",
    "SCHEMA_ADDED",
    "SCHEMA_REMOVED",
    "TYPE_EXTENDED",
    "TYPE_NARROWED",
    "TYPE_CHANGED",
    "MAX_LENGTH_ADDED",
    "MAX_LENGTH_REMOVED",
    "MAX_LENGTH_INCREASED",
    "MAX_LENGTH_DECREASED",
    "MIN_LENGTH_ADDED",
    "MIN_LENGTH_REMOVED",
    "MIN_LENGTH_INCREASED",
    "MIN_LENGTH_DECREASED",
    "PATTERN_ADDED",
    "PATTERN_REMOVED",
    "PATTERN_CHANGED",
    "MAXIMUM_ADDED",
    "MAXIMUM_REMOVED",
    "MAXIMUM_INCREASED",
    "MAXIMUM_DECREASED",
    "MINIMUM_ADDED",
    "MINIMUM_REMOVED",
    "MINIMUM_INCREASED",
    "MINIMUM_DECREASED",
    "EXCLUSIVE_MAXIMUM_ADDED",
    "EXCLUSIVE_MAXIMUM_REMOVED",
    "EXCLUSIVE_MAXIMUM_INCREASED",
    "EXCLUSIVE_MAXIMUM_DECREASED",
    "EXCLUSIVE_MINIMUM_ADDED",
    "EXCLUSIVE_MINIMUM_REMOVED",
    "EXCLUSIVE_MINIMUM_INCREASED",
    "EXCLUSIVE_MINIMUM_DECREASED",
    "MULTIPLE_OF_ADDED",
    "MULTIPLE_OF_REMOVED",
    "MULTIPLE_OF_EXPANDED",
    "MULTIPLE_OF_REDUCED",
    "MULTIPLE_OF_CHANGED",
    "REQUIRED_ATTRIBUTE_ADDED",
    "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
    "REQUIRED_ATTRIBUTE_REMOVED",
    "MAX_PROPERTIES_ADDED",
    "MAX_PROPERTIES_REMOVED",
    "MAX_PROPERTIES_INCREASED",
    "MAX_PROPERTIES_DECREASED",
    "MIN_PROPERTIES_ADDED",
    "MIN_PROPERTIES_REMOVED",
    "MIN_PROPERTIES_INCREASED",
    "MIN_PROPERTIES_DECREASED",
    "ADDITIONAL_PROPERTIES_ADDED",
    "ADDITIONAL_PROPERTIES_REMOVED",
    "ADDITIONAL_PROPERTIES_EXTENDED",
    "ADDITIONAL_PROPERTIES_NARROWED",
    "DEPENDENCY_ARRAY_ADDED",
    "DEPENDENCY_ARRAY_REMOVED",
    "DEPENDENCY_ARRAY_EXTENDED",
    "DEPENDENCY_ARRAY_NARROWED",
    "DEPENDENCY_ARRAY_CHANGED",
    "DEPENDENCY_SCHEMA_ADDED",
    "DEPENDENCY_SCHEMA_REMOVED",
    "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",  # deprecated by Confluent, still a name
    "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
    "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL",
    "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
    "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
    "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "RESERVED_PROPERTY_REMOVED",
    "RESERVED_PROPERTY_CONFLICTS_WITH_PROPERTY",
    "UNEVALUATED_PROPERTIES_ADDED",
    "UNEVALUATED_PROPERTIES_REMOVED",
    "UNEVALUATED_PROPERTIES_EXTENDED",
    "UNEVALUATED_PROPERTIES_NARROWED",
    "MAX_ITEMS_ADDED",
    "MAX_ITEMS_REMOVED",
    "MAX_ITEMS_INCREASED",
    "MAX_ITEMS_DECREASED",
    "MIN_ITEMS_ADDED",
    "MIN_ITEMS_REMOVED",
    "MIN_ITEMS_INCREASED",
    "MIN_ITEMS_DECREASED",
    "MAX_CONTAINS_ADDED",
    "MAX_CONTAINS_REMOVED",
    "MAX_CONTAINS_INCREASED",
    "MAX_CONTAINS_DECREASED",
    "MIN_CONTAINS_ADDED",
    "MIN_CONTAINS_REMOVED",
    "MIN_CONTAINS_INCREASED",
    "MIN_CONTAINS_DECREASED",
    "UNIQUE_ITEMS_ADDED",
    "UNIQUE_ITEMS_REMOVED",
    "ADDITIONAL_ITEMS_ADDED",
    "ADDITIONAL_ITEMS_REMOVED",
    "ADDITIONAL_ITEMS_EXTENDED",
    "ADDITIONAL_ITEMS_NARROWED",
    "UNEVALUATED_ITEMS_ADDED",
    "UNEVALUATED_ITEMS_REMOVED",
    "UNEVALUATED_ITEMS_EXTENDED",
    "UNEVALUATED_ITEMS_NARROWED",
    "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
    "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
    "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
    "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "ENUM_ARRAY_EXTENDED",
    "ENUM_ARRAY_NARROWED",
    "ENUM_ARRAY_CHANGED",
    "COMBINED_TYPE_EXTENDED",
    "COMBINED_TYPE_CHANGED",
    "PRODUCT_TYPE_EXTENDED",
    "PRODUCT_TYPE_NARROWED",
    "SUM_TYPE_EXTENDED",
    "SUM_TYPE_NARROWED",
    "COMBINED_TYPE_SUBSCHEMAS_CHANGED",
    "NOT_TYPE_EXTENDED",
    "NOT_TYPE_NARROWED",
)

# What Confluent cannot say. `format` is an annotation to Confluent, but Refract validates with
# format assertion, so a new or different format can reject old data.
REFRACT_FORMAT_ADDED = "REFRACT_FORMAT_ADDED"
REFRACT_FORMAT_REMOVED = "REFRACT_FORMAT_REMOVED"
REFRACT_FORMAT_CHANGED = "REFRACT_FORMAT_CHANGED"
# examples, $comment, deprecated, readOnly, writeOnly, content*, x-* (x-pii, x-dedup-key, ...).
REFRACT_ANNOTATION_CHANGED = "REFRACT_ANNOTATION_CHANGED"
# `$schema` changed; what the change does to validation is diffed structurally on its own.
REFRACT_DIALECT_CHANGED = "REFRACT_DIALECT_CHANGED"
# A keyword the engine does not interpret ($dynamicRef, a typo, a draft-foreign keyword...) was
# added, removed or changed: never silently ignored, never assumed safe.
REFRACT_UNKNOWN_KEYWORD_CHANGED = "REFRACT_UNKNOWN_KEYWORD_CHANGED"
# if/then/else, which Confluent does not diff. With an unchanged `if`, `then` and `else` are
# compared as sub-schemas (their differences carry the usual types at #/then/..., #/else/...);
# otherwise the conditional as a whole was added (old data may fail the new branch), removed
# (a constraint less: compatible) or got a different `if` (old data may change branch).
REFRACT_CONDITIONAL_ADDED = "REFRACT_CONDITIONAL_ADDED"
REFRACT_CONDITIONAL_REMOVED = "REFRACT_CONDITIONAL_REMOVED"
REFRACT_CONDITIONAL_CHANGED = "REFRACT_CONDITIONAL_CHANGED"

REFRACT_TYPES: tuple[str, ...] = (
    REFRACT_FORMAT_ADDED,
    REFRACT_FORMAT_REMOVED,
    REFRACT_FORMAT_CHANGED,
    REFRACT_ANNOTATION_CHANGED,
    REFRACT_DIALECT_CHANGED,
    REFRACT_UNKNOWN_KEYWORD_CHANGED,
    REFRACT_CONDITIONAL_ADDED,
    REFRACT_CONDITIONAL_REMOVED,
    REFRACT_CONDITIONAL_CHANGED,
)
ALL_TYPES: frozenset[str] = frozenset(CONFLUENT_TYPES + REFRACT_TYPES)

# Confluent's SchemaDiff.COMPATIBLE_CHANGES_STRICT, name for name.
CONFLUENT_COMPATIBLE_STRICT: frozenset[str] = frozenset(
    {
        "ID_CHANGED",
        "DESCRIPTION_CHANGED",
        "TITLE_CHANGED",
        "DEFAULT_CHANGED",
        "SCHEMA_REMOVED",
        "TYPE_EXTENDED",
        "MAX_LENGTH_INCREASED",
        "MAX_LENGTH_REMOVED",
        "MIN_LENGTH_DECREASED",
        "MIN_LENGTH_REMOVED",
        "PATTERN_REMOVED",
        "MAXIMUM_INCREASED",
        "MAXIMUM_REMOVED",
        "MINIMUM_DECREASED",
        "MINIMUM_REMOVED",
        "EXCLUSIVE_MAXIMUM_INCREASED",
        "EXCLUSIVE_MAXIMUM_REMOVED",
        "EXCLUSIVE_MINIMUM_DECREASED",
        "EXCLUSIVE_MINIMUM_REMOVED",
        "MULTIPLE_OF_REDUCED",
        "MULTIPLE_OF_REMOVED",
        "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
        "REQUIRED_ATTRIBUTE_REMOVED",
        "DEPENDENCY_ARRAY_NARROWED",
        "DEPENDENCY_ARRAY_REMOVED",
        "DEPENDENCY_SCHEMA_REMOVED",
        "MAX_PROPERTIES_INCREASED",
        "MAX_PROPERTIES_REMOVED",
        "MIN_PROPERTIES_DECREASED",
        "MIN_PROPERTIES_REMOVED",
        "ADDITIONAL_PROPERTIES_ADDED",
        "ADDITIONAL_PROPERTIES_EXTENDED",
        "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "MAX_ITEMS_INCREASED",
        "MAX_ITEMS_REMOVED",
        "MIN_ITEMS_DECREASED",
        "MIN_ITEMS_REMOVED",
        "UNIQUE_ITEMS_REMOVED",
        "ADDITIONAL_ITEMS_ADDED",
        "ADDITIONAL_ITEMS_EXTENDED",
        "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
        "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ENUM_ARRAY_EXTENDED",
        "COMBINED_TYPE_EXTENDED",
        "PRODUCT_TYPE_NARROWED",
        "SUM_TYPE_EXTENDED",
        "NOT_TYPE_NARROWED",
    }
)
# Confluent's lenient policy additionally accepts changes to open content models, at the cost of
# missing old data whose extra property had another type than the one now declared.
CONFLUENT_COMPATIBLE_LENIENT: frozenset[str] = CONFLUENT_COMPATIBLE_STRICT | {
    "ADDITIONAL_PROPERTIES_NARROWED",
    "ADDITIONAL_PROPERTIES_REMOVED",
    "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
    "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
    "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
}


# Where Confluent's own rules call a change compatible although old data can fail the update.
# Refract keeps these verdicts (a schema accepted by one registry is accepted by the other, and
# teams know these names), but says so here and in their messages rather than diverging silently:
# - a required property with a `default` (either type below): Confluent assumes the reader
#   fills the default in; a validator does not, so old data without the property is rejected;
# - a `oneOf` that gains alternatives (SUM_TYPE_EXTENDED, COMBINED_TYPE_EXTENDED to a oneOf) or
#   whose alternatives are loosened: Confluent treats oneOf as a sum type, but an old value that
#   now matches two alternatives is rejected. These types are sound on `anyOf`, so they are not
#   listed; the soundness test excludes exactly the differences that land on or inside a oneOf;
# - a name added to `required` that neither schema declares in `properties`: Confluent's diff
#   only looks at declared properties, and its own example ("Detect required array to be
#   changed": required [foo] -> [bar], bar undeclared) is judged compatible, so the engine stays
#   silent there too (a declared property dropped and required at once is reported);
# - the lenient policy's extra types (COMPATIBLE_LENIENT - COMPATIBLE_STRICT), documented there.
CONFLUENT_UNSOUND_BY_DESIGN: frozenset[str] = frozenset(
    {
        "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
        "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
    }
)
# The converse: changes that only loosen (no old data is rejected) but that Confluent's strict
# set leaves out, so they count as incompatible. Their messages say both things.
CONFLUENT_CONSERVATIVE: frozenset[str] = frozenset(
    {
        "MAX_CONTAINS_INCREASED",
        "MAX_CONTAINS_REMOVED",
        "MIN_CONTAINS_DECREASED",
        "MIN_CONTAINS_REMOVED",
        "UNEVALUATED_PROPERTIES_ADDED",
        "UNEVALUATED_PROPERTIES_EXTENDED",
        "UNEVALUATED_ITEMS_ADDED",
        "UNEVALUATED_ITEMS_EXTENDED",
    }
)

REFRACT_COMPATIBLE: frozenset[str] = frozenset(
    {
        REFRACT_FORMAT_REMOVED,
        REFRACT_ANNOTATION_CHANGED,
        REFRACT_DIALECT_CHANGED,
        REFRACT_CONDITIONAL_REMOVED,
    }
)
COMPATIBLE_STRICT: frozenset[str] = CONFLUENT_COMPATIBLE_STRICT | REFRACT_COMPATIBLE
COMPATIBLE_LENIENT: frozenset[str] = CONFLUENT_COMPATIBLE_LENIENT | REFRACT_COMPATIBLE


def compatible_set(policy: Policy) -> frozenset[str]:
    return COMPATIBLE_LENIENT if policy is Policy.LENIENT else COMPATIBLE_STRICT


def is_compatible(type_: str, policy: Policy = Policy.STRICT) -> bool:
    """Whether a difference of this type lets the update read what the original accepted."""
    return type_ in compatible_set(policy)


# Keyword names and what a tightening of each rejects, for messages.
_BOUNDS: dict[str, tuple[str, str, str]] = {
    # prefix: (keyword, what a tighter upper bound rejects, what a tighter lower bound rejects)
    "MAX_LENGTH": ("maxLength", "values longer than the new bound", ""),
    "MIN_LENGTH": ("minLength", "", "values shorter than the new bound"),
    "MAXIMUM": ("maximum", "numbers above the new maximum", ""),
    "MINIMUM": ("minimum", "", "numbers below the new minimum"),
    "EXCLUSIVE_MAXIMUM": ("exclusiveMaximum", "numbers at or above the new limit", ""),
    "EXCLUSIVE_MINIMUM": ("exclusiveMinimum", "", "numbers at or below the new limit"),
    "MAX_PROPERTIES": ("maxProperties", "objects with more properties than the new bound", ""),
    "MIN_PROPERTIES": ("minProperties", "", "objects with fewer properties than the new bound"),
    "MAX_ITEMS": ("maxItems", "arrays longer than the new bound", ""),
    "MIN_ITEMS": ("minItems", "", "arrays shorter than the new bound"),
    "MAX_CONTAINS": ("maxContains", "arrays with more matching items than the new bound", ""),
    "MIN_CONTAINS": ("minContains", "", "arrays with fewer matching items than the new bound"),
}

_MESSAGES: dict[str, str] = {
    "ID_CHANGED": "$id changed at {path}",
    "DESCRIPTION_CHANGED": "description changed at {path}",
    "TITLE_CHANGED": "title changed at {path}",
    "DEFAULT_CHANGED": "default changed at {path}",
    "SCHEMA_ADDED": "sub-schema added at {path}: values it rejects were accepted before",
    "SCHEMA_REMOVED": "sub-schema removed at {path}: its constraints no longer apply",
    "TYPE_EXTENDED": "type widened at {path} (e.g. integer to number)",
    "TYPE_NARROWED": "type narrowed at {path} (e.g. number to integer): old values of the dropped type are rejected",
    "TYPE_CHANGED": "type changed at {path}: values of the old type are rejected",
    "PATTERN_ADDED": "pattern added at {path}: old strings that do not match it are rejected",
    "PATTERN_REMOVED": "pattern removed at {path}",
    "PATTERN_CHANGED": "pattern changed at {path}: old strings matching only the old pattern are rejected",
    "MULTIPLE_OF_ADDED": "multipleOf added at {path}: old numbers that are not multiples are rejected",
    "MULTIPLE_OF_REMOVED": "multipleOf removed at {path}",
    "MULTIPLE_OF_EXPANDED": "multipleOf grew to a multiple of the old value at {path}: some old numbers are rejected",
    "MULTIPLE_OF_REDUCED": "multipleOf reduced to a divisor of the old value at {path}",
    "MULTIPLE_OF_CHANGED": "multipleOf changed at {path}: some old numbers are rejected",
    "REQUIRED_ATTRIBUTE_ADDED": "property became required at {path}: old data without it is rejected",
    "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED": "property with a default became required at {path}: compatible only if readers fill in the default (Confluent's rule)",
    "REQUIRED_ATTRIBUTE_REMOVED": "property no longer required at {path}",
    "ADDITIONAL_PROPERTIES_ADDED": "additional properties now allowed at {path}",
    "ADDITIONAL_PROPERTIES_REMOVED": "additional properties no longer allowed at {path}: old data with extra properties is rejected",
    "ADDITIONAL_PROPERTIES_EXTENDED": "additional properties schema removed at {path}: any extra property is allowed",
    "ADDITIONAL_PROPERTIES_NARROWED": "additional properties restricted to a schema at {path}: old extra properties may not match it",
    "DEPENDENCY_ARRAY_ADDED": "property dependency added at {path}: old data may lack the dependent properties",
    "DEPENDENCY_ARRAY_REMOVED": "property dependency removed at {path}",
    "DEPENDENCY_ARRAY_EXTENDED": "property dependency requires more properties at {path}",
    "DEPENDENCY_ARRAY_NARROWED": "property dependency requires fewer properties at {path}",
    "DEPENDENCY_ARRAY_CHANGED": "property dependency changed at {path}",
    "DEPENDENCY_SCHEMA_ADDED": "schema dependency added at {path}: old data may not match it",
    "DEPENDENCY_SCHEMA_REMOVED": "schema dependency removed at {path}",
    "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL": "property added to an open object at {path}: old data may carry it with another type",
    "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL": "required property added to an open object at {path}: old data without it is rejected",
    "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL": "required property with default added to an open object at {path}: old data may carry it with another type",
    "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL": "optional property added to an open object at {path}: old data may carry it with another type",
    "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL": "property accepting anything added to an open object at {path}",
    "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL": "required property added at {path}: old data without it is rejected",
    "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL": "required property with a default added to a closed object at {path}: compatible only if readers fill in the default (Confluent's rule)",
    "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL": "optional property added to a closed object at {path}",
    "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL": "property removed from an open object at {path}: it is still accepted as an extra property",
    "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL": "forbidden property removed from a closed object at {path}",
    "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL": "property removed from a closed object at {path}: old data carrying it is rejected",
    "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": "property removed at {path}, still accepted by patternProperties/additionalProperties",
    "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": "property removed at {path} and its old values do not match patternProperties/additionalProperties",
    "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": "property added at {path}, accepting what patternProperties/additionalProperties accepted",
    "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": "property added at {path} rejects values patternProperties/additionalProperties accepted",
    "UNEVALUATED_PROPERTIES_ADDED": "unevaluated properties now allowed at {path}",
    "UNEVALUATED_PROPERTIES_REMOVED": "unevaluated properties no longer allowed at {path}: old data with extra properties is rejected",
    "UNEVALUATED_PROPERTIES_EXTENDED": "unevaluatedProperties widened at {path}",
    "UNEVALUATED_PROPERTIES_NARROWED": "unevaluatedProperties restricted at {path}: old extra properties may not match",
    "UNIQUE_ITEMS_ADDED": "uniqueItems added at {path}: old arrays with duplicates are rejected",
    "UNIQUE_ITEMS_REMOVED": "uniqueItems removed at {path}",
    "ADDITIONAL_ITEMS_ADDED": "additional items now allowed at {path}",
    "ADDITIONAL_ITEMS_REMOVED": "additional items no longer allowed at {path}: longer old arrays are rejected",
    "ADDITIONAL_ITEMS_EXTENDED": "additional items schema removed at {path}",
    "ADDITIONAL_ITEMS_NARROWED": "additional items restricted to a schema at {path}: old extra items may not match",
    "UNEVALUATED_ITEMS_ADDED": "unevaluated items now allowed at {path}",
    "UNEVALUATED_ITEMS_REMOVED": "unevaluated items no longer allowed at {path}: longer old arrays are rejected",
    "UNEVALUATED_ITEMS_EXTENDED": "unevaluatedItems widened at {path}",
    "UNEVALUATED_ITEMS_NARROWED": "unevaluatedItems restricted at {path}: old extra items may not match",
    "ITEM_ADDED_TO_OPEN_CONTENT_MODEL": "tuple item added to an open array at {path}: old arrays may hold another type there",
    "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL": "tuple item accepting anything added at {path}",
    "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL": "tuple item added to a closed array at {path}",
    "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL": "tuple item removed at {path}: any value is accepted there now",
    "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL": "forbidden tuple item removed at {path}",
    "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL": "tuple item removed from a closed array at {path}: old arrays that long are rejected",
    "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": "tuple item removed at {path}, still accepted by the additional items schema",
    "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": "tuple item removed at {path} and its old values do not match the additional items schema",
    "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": "tuple item added at {path}, accepting what the additional items schema accepted",
    "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": "tuple item added at {path} rejects values the additional items schema accepted",
    "ENUM_ARRAY_EXTENDED": "allowed values extended at {path}",
    "ENUM_ARRAY_NARROWED": "allowed values narrowed at {path}: old data with a dropped value is rejected",
    "ENUM_ARRAY_CHANGED": "allowed values changed at {path}: old data with a dropped value is rejected",
    "COMBINED_TYPE_EXTENDED": "combinator relaxed at {path} (e.g. oneOf to anyOf)",
    "COMBINED_TYPE_CHANGED": "combinator changed at {path}: old data may no longer match",
    "PRODUCT_TYPE_EXTENDED": "allOf gained sub-schemas at {path}: old data may not match the new ones",
    "PRODUCT_TYPE_NARROWED": "allOf lost sub-schemas at {path}",
    "SUM_TYPE_EXTENDED": "oneOf/anyOf gained alternatives at {path} (on a oneOf, an old value matching two alternatives is rejected; Confluent counts it compatible)",
    "SUM_TYPE_NARROWED": "oneOf/anyOf lost alternatives at {path}: old data matching only those is rejected",
    "COMBINED_TYPE_SUBSCHEMAS_CHANGED": "sub-schemas at {path} changed so that some old alternative has no compatible counterpart",
    "NOT_TYPE_EXTENDED": "not now excludes more at {path}: old data may be excluded",
    "NOT_TYPE_NARROWED": "not now excludes less at {path}",
    "RESERVED_PROPERTY_REMOVED": "reserved property removed at {path}",
    "RESERVED_PROPERTY_CONFLICTS_WITH_PROPERTY": "property at {path} conflicts with a reserved property",
    REFRACT_FORMAT_ADDED: "format added at {path}: old strings not in that format are rejected",
    REFRACT_FORMAT_REMOVED: "format removed at {path}",
    REFRACT_FORMAT_CHANGED: "format changed at {path}: old strings in the old format may be rejected",
    REFRACT_ANNOTATION_CHANGED: "annotation changed at {path} (no effect on validation)",
    REFRACT_DIALECT_CHANGED: "$schema dialect changed at {path}",
    REFRACT_UNKNOWN_KEYWORD_CHANGED: "keyword the compatibility engine does not understand changed at {path}: treated as breaking",
    REFRACT_CONDITIONAL_ADDED: "if/then/else added at {path}: old data may fail the branch it now takes",
    REFRACT_CONDITIONAL_REMOVED: "if/then/else removed at {path}: its constraints no longer apply",
    REFRACT_CONDITIONAL_CHANGED: "if condition changed at {path}: old data may now take a branch it fails",
}


def _bound_message(type_: str) -> str | None:
    for prefix, (keyword, upper, lower) in _BOUNDS.items():
        if not type_.startswith(prefix + "_"):
            continue
        change = type_[len(prefix) + 1 :]
        if change not in ("ADDED", "REMOVED", "INCREASED", "DECREASED"):
            continue
        verb = change.lower()
        tightening = (upper and change in ("ADDED", "DECREASED")) or (
            lower and change in ("ADDED", "INCREASED")
        )
        if tightening:
            return f"{keyword} {verb} at {{path}}: {upper or lower} written with the old schema are rejected"
        return f"{keyword} {verb} at {{path}}"
    return None


def explain(diff: Difference) -> str:
    """One line for people: what changed, where (the path), and what it breaks if anything.

    Where the verdict is Confluent's rather than the data's (a loosening counted as
    incompatible, a default assumed to be filled in), the message says so, so nobody hunts for
    old data that a loosening cannot reject.
    """
    template = _bound_message(diff.type) or _MESSAGES.get(diff.type, f"{diff.type} at {{path}}")
    if diff.type in CONFLUENT_CONSERVATIVE:
        template += ": no old data is rejected, but Confluent's rules count it as incompatible"
    path = diff.new_path if diff.new_location is not None else diff.old_path
    return template.format(path=path)
