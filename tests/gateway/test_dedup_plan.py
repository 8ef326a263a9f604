"""The gateway's compiled dedup key gives exactly refract_sdk.dedup's keys."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from refract_sdk import _catalogue
from refract_sdk.dedup import dedup_key_for

from registry_service.gateway.dedup import DedupPlan
from tests.sdk.test_dedup import documented_vectors


@pytest.mark.parametrize("vector", documented_vectors(), ids=lambda v: v["event_name"])
def test_documented_vectors(vector: dict[str, Any]) -> None:
    plan = DedupPlan(vector["event_name"], vector["pointers"])
    assert plan.key(vector["instance"]) == vector["dedup_key"]


def test_every_code_point_is_escaped_as_the_sdk_escapes_it() -> None:
    plan = DedupPlan("page_view", ["/page/view_id"])
    for start in range(0, 0x110000, 64):
        text = "".join(chr(c) for c in range(start, start + 64) if not 0xD800 <= c <= 0xDFFF)
        instance = {"page": {"view_id": text}}
        assert plan.key(instance) == dedup_key_for("page_view", instance, ["/page/view_id"])


scalars = st.one_of(
    st.text(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=3),
    st.lists(st.integers(), max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(a=scalars, b=scalars, drop=st.booleans())
def test_generated_values_agree_with_the_sdk(a: Any, b: Any, drop: bool) -> None:
    pointers = ["/user/user_id", "/a~1b/c~0d"]
    instance: dict[str, Any] = {"user": {"user_id": a}, "a/b": {"c~d": b}}
    if drop:
        del instance["user"]
    plan = DedupPlan("identify", pointers)
    assert plan.key(instance) == dedup_key_for("identify", instance, pointers)


def test_paths_through_arrays_and_the_catalogue() -> None:
    instance = {"items": [{"id": "x"}, {"id": 3}]}
    for pointers in (["/items/1/id"], ["/items/0/id", "/items/5/id"], []):
        assert DedupPlan("e", pointers).key(instance) == dedup_key_for("e", instance, pointers)
    for name, contract_pointers in _catalogue.DEDUP_KEYS.items():
        flat: dict[str, Any] = {p.split("/")[1]: "v" for p in contract_pointers}
        expected = dedup_key_for(name, flat, contract_pointers)
        assert DedupPlan(name, contract_pointers).key(flat) == expected
