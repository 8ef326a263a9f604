"""Properties of the checker over random schemas: reflexivity, direction symmetry, honest counterexamples."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compat import counterexample
from compat.check import check_compatibility
from compat.model import Direction, Mode, Policy
from compat.source import SchemaSet

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NAMES = ("a", "b", "c")
SCALARS = ("string", "integer", "number", "boolean", "null")


@pytest.fixture(autouse=True)
def quick_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the counterexample budgets small: these tests check honesty, not search power."""
    monkeypatch.setattr(counterexample, "TARGETED_ATTEMPTS", 40)
    monkeypatch.setattr(counterexample, "SEARCH_SECONDS", 0.2)
    monkeypatch.setattr(counterexample, "SEARCH_EXAMPLES", 40)


@st.composite
def scalar_schemas(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(SCALARS))
    schema: dict[str, Any] = {"type": kind}
    if kind == "string":
        if draw(st.booleans()):
            schema["minLength"] = draw(st.integers(0, 3))
        if draw(st.booleans()):
            schema["maxLength"] = schema.get("minLength", 0) + draw(st.integers(0, 4))
        if draw(st.integers(0, 4)) == 0:
            schema = {
                "enum": draw(
                    st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=3, unique=True)
                )
            }
    elif kind in ("integer", "number"):
        if draw(st.booleans()):
            schema["minimum"] = draw(st.integers(-5, 5))
        if draw(st.booleans()):
            schema["maximum"] = schema.get("minimum", -5) + draw(st.integers(0, 10))
        if draw(st.integers(0, 4)) == 0:
            schema = {
                "enum": draw(st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True))
            }
    return schema


def composites(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def objects(draw: st.DrawFn) -> dict[str, Any]:
        properties = draw(st.dictionaries(st.sampled_from(NAMES), children, max_size=3))
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        required = [n for n in properties if draw(st.booleans())]
        if required:
            schema["required"] = required
        closed = draw(st.sampled_from([None, False, True, "schema"]))
        if closed == "schema":
            schema["additionalProperties"] = draw(children)
        elif closed is not None:
            schema["additionalProperties"] = closed
        return schema

    @st.composite
    def arrays(draw: st.DrawFn) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": draw(children)}
        if draw(st.booleans()):
            schema["maxItems"] = draw(st.integers(1, 3))
        return schema

    unions = st.lists(children, min_size=1, max_size=3).map(lambda branches: {"anyOf": branches})
    return st.one_of(objects(), arrays(), unions)


SCHEMAS = st.recursive(scalar_schemas(), composites, max_leaves=6)


def subschemas(schema: Any) -> Iterator[dict[str, Any]]:
    """Every schema object inside `schema` (itself included), in a fixed order."""
    if not isinstance(schema, dict):
        return
    yield schema
    for name in sorted(schema.get("properties", {})):
        yield from subschemas(schema["properties"][name])
    for key in ("items", "additionalProperties"):
        yield from subschemas(schema.get(key))
    for branch in schema.get("anyOf", []):
        yield from subschemas(branch)


@st.composite
def mutated(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with one small edit somewhere: the kind of change people actually make."""
    result = copy.deepcopy(schema)
    target = draw(st.sampled_from(list(subschemas(result))))
    edit = draw(
        st.sampled_from(["bound", "drop", "type", "required", "closed", "property", "enum"])
    )
    if edit == "bound":
        key = draw(st.sampled_from(["minLength", "maxLength", "minimum", "maximum", "maxItems"]))
        target[key] = draw(st.integers(0, 6))
    elif edit == "drop" and target:
        del target[draw(st.sampled_from(sorted(target)))]
    elif edit == "type":
        target["type"] = draw(st.sampled_from([*SCALARS, "object", "array"]))
    elif edit == "required":
        names = list(target.get("properties", {})) or list(NAMES)
        target["required"] = draw(st.lists(st.sampled_from(names), unique=True, max_size=2))
    elif edit == "closed":
        target["additionalProperties"] = draw(st.booleans())
    elif edit == "property":
        target.setdefault("properties", {})[draw(st.sampled_from(NAMES))] = draw(scalar_schemas())
    elif edit == "enum":
        target["enum"] = draw(
            st.lists(st.sampled_from([0, 1, "x", "y"]), min_size=1, max_size=3, unique=True)
        )
    return result


PAIRS = st.one_of(
    st.tuples(SCHEMAS, SCHEMAS),
    SCHEMAS.flatmap(lambda a: st.tuples(st.just(a), mutated(a))),
)


@SETTINGS
@given(SCHEMAS)
def test_every_schema_is_compatible_with_itself_in_every_mode(schema: dict[str, Any]) -> None:
    schemas = [SchemaSet.from_value(schema), SchemaSet.from_value(copy.deepcopy(schema))]
    for mode in Mode:
        for policy in Policy:
            report = check_compatibility(schemas, mode, policy)
            assert report.compatible
            assert report.changes == []


@SETTINGS
@given(PAIRS)
def test_backward_of_a_b_is_forward_of_b_a(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a, b = (SchemaSet.from_value(s) for s in pair)
    backward = check_compatibility([a, b], Mode.BACKWARD)
    forward = check_compatibility([b, a], Mode.FORWARD)
    assert backward.compatible == forward.compatible
    assert [c.type for c in backward.changes] == [c.type for c in forward.changes]


@SETTINGS
@given(PAIRS)
def test_every_counterexample_separates_writer_from_reader(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    old, new = (SchemaSet.from_value(s) for s in pair)
    report = check_compatibility([old, new], Mode.FULL)
    for change in report.changes:
        if change.compatible:
            assert not change.has_counterexample and change.counterexample is None
            continue
        if not change.has_counterexample:
            assert change.counterexample is None
            continue
        writer, reader = (old, new) if change.direction is Direction.BACKWARD else (new, old)
        assert writer.accepts(change.counterexample), change
        assert not reader.accepts(change.counterexample), change
