"""The depth tools of the gateway (registry_service/gateway/depth.py) and their setting."""

from __future__ import annotations

import json
import sys
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry_service.gateway.depth import dumps_any_depth, exceeds_depth, schema_depth_bound
from registry_service.settings import Settings, SettingsError
from tests.gateway.conftest import Service

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=30,
)


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for index in range(depth):
        value = {"a": value} if index % 2 else [value]
    return value


@given(JSON)
def test_dumps_any_depth_writes_what_orjson_writes(value: Any) -> None:
    assert dumps_any_depth(value) == orjson.dumps(value)


@given(JSON, st.integers(0, 8))
def test_exceeds_depth_agrees_with_a_recursive_definition(value: Any, limit: int) -> None:
    assert exceeds_depth(value, limit) == (depth_of(value) > limit)


@pytest.mark.parametrize("depth", [254, 256, 1023, 5000])
def test_the_tools_need_no_recursion(depth: int) -> None:
    value = nested(depth)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # far below the depth: a recursive walk would fail
    try:
        assert exceeds_depth(value, depth - 1) and not exceeds_depth(value, depth)
        encoded = dumps_any_depth(value)
    finally:
        sys.setrecursionlimit(limit)
    sys.setrecursionlimit(max(limit, depth * 3))
    try:
        assert json.loads(encoded) == value
    finally:
        sys.setrecursionlimit(limit)


CLOSED = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "a": {"type": "array", "items": {"$ref": "#/$defs/leaf"}},
        "b": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "c": {"enum": [{"x": [1]}, "y"]},
    },
    "$defs": {"leaf": {"type": "object", "additionalProperties": False, "properties": {}}},
}


@pytest.mark.parametrize(
    ("schema", "bound"),
    [
        (CLOSED, 3),
        ({"type": "string"}, 0),
        ({"type": "object"}, None),  # open: any depth validates
        ({"type": "array"}, None),
        (True, None),
        ({}, None),
        ({"$ref": "#"}, None),  # recursive
        ({"$ref": "https://example.com/s.json"}, None),
        ({"allOf": [{"type": "object"}, {"type": "string"}]}, 0),
        ({"anyOf": [{"type": "object"}, {"type": "string"}]}, None),
        (
            {
                "$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}},
                "$ref": "#/$defs/n",
            },
            None,
        ),
    ],
)
def test_schema_depth_bound_is_conservative(schema: Any, bound: int | None) -> None:
    assert schema_depth_bound(schema) == bound


def test_every_contract_of_this_repository_bounds_its_depth(installation: Service) -> None:
    """So the hot path never walks events of these contracts (validation refuses deeper)."""
    from refract_sdk import _catalogue

    gateway = installation.gateway
    for name, versions in _catalogue.VERSIONS.items():
        for version in versions:
            schema = installation.registry.contract(name, version)
            assert schema is not None
            bound = schema_depth_bound(schema)
            assert bound is not None and bound <= gateway.max_event_depth, (name, version)
            assert not gateway._walks_depth(schema)
    assert gateway._walks_depth({"type": "object"})


def test_the_depth_setting_is_checked() -> None:
    assert Settings.from_env({}).max_event_depth == 32
    assert Settings.from_env({"REFRACT_MAX_EVENT_DEPTH": "8"}).max_event_depth == 8
    for bad in ("0", "201", "x"):
        with pytest.raises(SettingsError, match="REFRACT_MAX_EVENT_DEPTH"):
            Settings.from_env({"REFRACT_MAX_EVENT_DEPTH": bad})
