"""Soundness of the strict policy: a change the engine calls compatible never rejects old data.

Confluent's verdicts are a property of difference *types*; Refract promises more: when every
difference between a writer and a reader schema is strict-compatible, no instance the writer
accepts is rejected by the reader. Random schemas and mutated copies put that promise to the
test: for every pair the engine judges compatible, a bounded search (the targeted builder and the
hypothesis search of `compat.counterexample`) looks for a separating instance, and none may exist.
On pairs the engine flags as incompatible, any instance the search returns must really separate
the two schemas under independent reference validators (a sanity check of the search itself).

Excluded from the soundness assertion, and only those: changes Confluent's own rules declare
compatible although they can reject old data (see `compat.differences.CONFLUENT_UNSOUND_BY_DESIGN`):
a `oneOf` that gains or loosens alternatives (an old value may now match two of them), a
required property with a `default` (Confluent assumes the reader fills in defaults), and a name
made required that neither schema declares (Confluent's own example calls it compatible). Keeping
Confluent's verdict there keeps verdicts portable between registries; the exclusion below is
exactly the set of pairs whose compatible verdict rests on one of those rules.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compat import counterexample
from compat.diff import Difference, diff_schemas
from compat.differences import CONFLUENT_UNSOUND_BY_DESIGN, is_compatible
from compat.model import Policy
from compat.source import SchemaSet, pointer_tokens

NAMES = ("a", "b", "c")
PATTERNS = ("^a", "^[0-9]+$", "b$")
FORMATS = ("uuid", "date-time", "email")
VALUES: tuple[Any, ...] = (0, 1, 2.5, "a", "b", "", None, True, False)
TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(autouse=True)
def bounded_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """A few dozen instances per pair: enough for these small schemas, and the test stays fast."""
    monkeypatch.setattr(counterexample, "TARGETED_ATTEMPTS", 60)
    monkeypatch.setattr(counterexample, "SEARCH_EXAMPLES", 60)
    monkeypatch.setattr(counterexample, "SEARCH_SECONDS", 1.0)


# -- schemas -----------------------------------------------------------------------------------


@st.composite
def strings(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if draw(st.booleans()):
        schema["minLength"] = draw(st.integers(0, 3))
    if draw(st.booleans()):
        schema["maxLength"] = schema.get("minLength", 0) + draw(st.integers(0, 4))
    if draw(st.integers(0, 3)) == 0:
        schema["pattern"] = draw(st.sampled_from(PATTERNS))
    if draw(st.integers(0, 4)) == 0:
        schema["format"] = draw(st.sampled_from(FORMATS))
    return schema


@st.composite
def numbers(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": draw(st.sampled_from(["number", "integer"]))}
    low = draw(st.integers(-5, 5))
    for key in draw(st.sets(st.sampled_from(["minimum", "exclusiveMinimum"]), max_size=1)):
        schema[key] = low
    for key in draw(st.sets(st.sampled_from(["maximum", "exclusiveMaximum"]), max_size=1)):
        schema[key] = low + draw(st.integers(1, 10))
    if draw(st.integers(0, 3)) == 0:
        schema["multipleOf"] = draw(st.sampled_from([2, 3, 0.5]))
    return schema


def leaves() -> st.SearchStrategy[Any]:
    return st.one_of(
        strings(),
        numbers(),
        st.sampled_from([{"type": "boolean"}, {"type": "null"}, {}, True]),
        st.lists(st.sampled_from(VALUES), min_size=1, max_size=3, unique_by=repr).map(
            lambda values: {"enum": values}
        ),
        st.sampled_from(VALUES).map(lambda value: {"const": value}),
    )


def composites(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    @st.composite
    def objects(draw: st.DrawFn) -> dict[str, Any]:
        properties = draw(st.dictionaries(st.sampled_from(NAMES), children, max_size=3))
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        required = [n for n in NAMES if (n in properties or draw(st.integers(0, 5)) == 0)]
        required = [n for n in required if draw(st.booleans())]
        if required:
            schema["required"] = required
        closed = draw(st.sampled_from([None, None, False, "schema"]))
        if closed == "schema":
            schema["additionalProperties"] = draw(children)
        elif closed is not None:
            schema["additionalProperties"] = closed
        if draw(st.integers(0, 4)) == 0:
            del schema["type"]  # typed by its keywords: accepts every non-object too
        return schema

    @st.composite
    def arrays(draw: st.DrawFn) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array"}
        if draw(st.booleans()):
            schema["prefixItems"] = draw(st.lists(children, min_size=1, max_size=2))
            rest = draw(st.sampled_from([None, False, "schema"]))
            if rest is not None:
                schema["items"] = draw(children) if rest == "schema" else rest
        else:
            schema["items"] = draw(children)
        if draw(st.booleans()):
            schema["minItems"] = draw(st.integers(0, 2))
        if draw(st.booleans()):
            schema["maxItems"] = draw(st.integers(1, 3))
        if draw(st.integers(0, 3)) == 0:
            schema["uniqueItems"] = True
        return schema

    @st.composite
    def combinations(draw: st.DrawFn) -> dict[str, Any]:
        criterion = draw(st.sampled_from(["anyOf", "oneOf", "allOf"]))
        return {criterion: draw(st.lists(children, min_size=1, max_size=3))}

    @st.composite
    def conditionals(draw: st.DrawFn) -> dict[str, Any]:
        schema: dict[str, Any] = {"if": draw(children), "then": draw(children)}
        if draw(st.booleans()):
            schema["else"] = draw(children)
        return schema

    negations = children.map(lambda inner: {"not": inner})
    return st.one_of(objects(), arrays(), combinations(), negations, conditionals())


SCHEMAS = st.recursive(leaves(), composites, max_leaves=5)


def subschemas(schema: Any) -> Iterator[dict[str, Any]]:
    """Every schema object inside `schema` (itself included), in a fixed order."""
    if not isinstance(schema, dict):
        return
    yield schema
    for name in sorted(schema.get("properties", {})):
        yield from subschemas(schema["properties"][name])
    for key in ("items", "additionalProperties", "not", "if", "then", "else"):
        yield from subschemas(schema.get(key))
    for key in ("prefixItems", "anyOf", "oneOf", "allOf"):
        for member in schema.get(key, []):
            yield from subschemas(member)


EDITS = (
    "bound",
    "drop",
    "type",
    "required",
    "closed",
    "property",
    "enum",
    "string",
    "wrap",
    "replace",
    "conditional",
    "items",
)
BOUNDS = (
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
)


def _edit(draw: st.DrawFn, target: dict[str, Any], edit: str) -> None:
    """One small change to `target`, in place: the kind of edit people make to a schema."""
    if edit == "bound":
        key = draw(st.sampled_from(BOUNDS))
        if key in target and draw(st.booleans()):
            del target[key]
        else:
            target[key] = (
                draw(st.sampled_from([1, 2, 3, 4, 0.5]))
                if key == "multipleOf"
                else (
                    draw(st.integers(-2, 6))
                    if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
                    else draw(st.integers(0, 5))
                )
            )
    elif edit == "drop" and target:
        del target[draw(st.sampled_from(sorted(target)))]
    elif edit == "type":
        choice = draw(st.sampled_from([*TYPES, "drop", "nullable"]))
        if choice == "drop":
            target.pop("type", None)
        elif choice == "nullable" and isinstance(target.get("type"), str):
            target["type"] = [target["type"], "null"]
        elif choice != "nullable":
            target["type"] = choice
    elif edit == "required":
        target["required"] = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=2))
    elif edit == "closed":
        choice = draw(st.sampled_from(["false", "true", "schema", "drop"]))
        if choice == "drop":
            target.pop("additionalProperties", None)
        else:
            target["additionalProperties"] = (
                draw(leaves()) if choice == "schema" else choice == "true"
            )
    elif edit == "property":
        properties = target.setdefault("properties", {})
        name = draw(st.sampled_from(NAMES))
        if name in properties and draw(st.booleans()):
            del properties[name]
        else:
            properties[name] = draw(leaves())
    elif edit == "enum":
        if draw(st.booleans()):
            target["enum"] = draw(
                st.lists(st.sampled_from(VALUES), min_size=1, max_size=3, unique_by=repr)
            )
        else:
            target["const"] = draw(st.sampled_from(VALUES))
    elif edit == "string":
        key = draw(st.sampled_from(["pattern", "format"]))
        options = PATTERNS if key == "pattern" else FORMATS
        if key in target and draw(st.booleans()):
            del target[key]
        else:
            target[key] = draw(st.sampled_from(options))
    elif edit == "wrap":
        inner = copy.deepcopy(target)
        criterion = draw(st.sampled_from(["anyOf", "oneOf", "allOf"]))
        target.clear()
        target[criterion] = draw(st.permutations([inner, draw(leaves())]))
    elif edit == "replace":
        target.clear()
        replacement = draw(leaves())
        if isinstance(replacement, dict):
            target.update(replacement)
    elif edit == "conditional":
        key = draw(st.sampled_from(["if", "then", "else"]))
        if key in target and draw(st.booleans()):
            del target[key]
        else:
            target[key] = draw(leaves())
    elif edit == "items":
        key = draw(st.sampled_from(["items", "prefixItems"]))
        if key in target and draw(st.booleans()):
            del target[key]
        elif key == "items":
            target["items"] = draw(st.one_of(leaves(), st.just(False)))
        else:
            target["prefixItems"] = draw(st.lists(leaves(), min_size=1, max_size=2))


@st.composite
def mutated(draw: st.DrawFn, schema: Any) -> Any:
    """`schema` after one to three random edits at random places."""
    result = copy.deepcopy(schema)
    if not isinstance(result, dict):
        result = {}
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(list(subschemas(result))))
        _edit(draw, target, draw(st.sampled_from(EDITS)))
    return result


PAIRS = SCHEMAS.filter(lambda s: isinstance(s, dict)).flatmap(
    lambda base: st.tuples(st.just(base), mutated(base))
)


# -- the judge ---------------------------------------------------------------------------------


def _validator(schema: Any) -> Any:
    """An independent 2020-12 validator with formats asserted (not SchemaSet's)."""
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _under_oneof(schema: Any, diff: Difference) -> bool:
    """Whether `diff` lands on a `oneOf` of the update, or inside one of its alternatives."""
    tokens = pointer_tokens(diff.new_path[1:])
    if "oneOf" in tokens:
        return True
    node = schema
    for token in tokens:
        if isinstance(node, dict):
            node = node.get(token)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return isinstance(node, dict) and "oneOf" in node


def _placed(schema: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every schema object with its location, to line up the two schemas of a pair."""
    if not isinstance(schema, dict):
        return
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from _placed(child, (*path, "properties", name))
    for key in ("items", "additionalProperties", "not", "if", "then", "else"):
        yield from _placed(schema.get(key), (*path, key))
    for key in ("prefixItems", "anyOf", "oneOf", "allOf"):
        for index, member in enumerate(schema.get(key, [])):
            yield from _placed(member, (*path, key, str(index)))


def _undeclared_required_added(original: Any, update: Any) -> bool:
    """Whether the update requires, somewhere, a name that neither schema declares there."""
    before = dict(_placed(original))
    for path, node in _placed(update):
        old = before.get(path, {})
        declared = {*node.get("properties", {}), *old.get("properties", {})}
        for name in node.get("required", []):
            if name not in declared and name not in old.get("required", []):
                return True
    return False


def _confluent_by_design(original: Any, update: Any, diffs: list[Difference]) -> bool:
    """Pairs whose compatible verdict rests on a Confluent rule that is unsound by design.

    A sum type that gained or loosened alternatives is compatible for Confluent, but a `oneOf`
    rejects a value two alternatives match; required-with-default types assume the reader
    fills in the default; a name required without being declared is not Confluent's concern
    (its own example says so). Those verdicts are Confluent's to keep (see
    compat.differences.CONFLUENT_UNSOUND_BY_DESIGN); everything else must be sound.
    """
    return _undeclared_required_added(original, update) or any(
        d.type in CONFLUENT_UNSOUND_BY_DESIGN or _under_oneof(update, d) for d in diffs
    )


def check_pair(original: Any, update: Any, stats: Counter[str]) -> None:
    """Judge one pair: sound if compatible, honest if incompatible; tallies into `stats`."""
    old, new = SchemaSet.from_value(original), SchemaSet.from_value(copy.deepcopy(update))
    diffs = diff_schemas(old, new)
    stats["pairs"] += 1
    compatible = all(is_compatible(d.type, Policy.STRICT) for d in diffs)
    if compatible and _confluent_by_design(original, update, diffs):
        stats["excluded (Confluent by design)"] += 1
        return
    found, instance = counterexample.find_counterexample(old, new, diffs[0] if diffs else None)
    if compatible:
        stats["compatible"] += 1
        assert not found, (
            f"unsound: {[(d.type, d.old_path) for d in diffs]} are all strict-compatible, "
            f"but {instance!r} is accepted by the original and rejected by the update "
            f"(pair {stats['pairs']}: {dict(stats)})"
        )
        return
    stats["incompatible"] += 1
    if found:
        stats["incompatible, separated"] += 1
        assert _validator(original).is_valid(instance), (instance, dict(stats))
        assert not _validator(update).is_valid(instance), (instance, dict(stats))


def test_strict_compatible_changes_never_reject_old_data() -> None:
    stats: Counter[str] = Counter()

    @SETTINGS
    @given(PAIRS)
    def check(pair: tuple[Any, Any]) -> None:
        check_pair(*pair, stats)

    check()
    assert stats["pairs"] >= 250, dict(stats)
    assert stats["compatible"] >= 60, dict(stats)
    assert stats["incompatible, separated"] >= 60, dict(stats)
    print(f"soundness: {dict(stats)}")
