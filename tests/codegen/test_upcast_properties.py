"""Property tests: upcasting generated instances of every older version of every event.

Instances come from hypothesis-jsonschema on the bundled (self-contained) schema of each older
version. For each, the compiled upcast must produce a valid instance of the newest version and
exactly what the reference interpreter (compat.lens.apply) produces; for reversible lenses the
compiled downcaster must undo the upcast and agree with the inverted lens.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from refract_sdk import _upcasters
from refract_sdk.upcasting import upcast

from codegen.bundle import bundle
from compat.catalogue import EventVersion, load_catalogue
from compat.source import SchemaSet
from tests.codegen.conftest import CONTRACTS
from tests.codegen.reference import (
    lens_of,
    reference_downcast,
    reference_upcast,
    with_removed_defaults,
)

_CATALOGUE = load_catalogue(CONTRACTS)
OLDER = [v for e in _CATALOGUE.events.values() for v in e.versions[:-1]]
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _generation_view(node: Any) -> Any:
    """Drop `format` where a `pattern` pins the spelling: the pattern is what generation needs.

    Generating from a format and filtering by the pattern (a millisecond UTC timestamp, a
    lowercase UUID) rejects almost everything; the generated instances are still validated
    against the real schema, formats included, before use.
    """
    if isinstance(node, list):
        return [_generation_view(item) for item in node]
    if isinstance(node, dict):
        drop = "format" if "pattern" in node else None
        return {
            key: value if key in ("const", "enum", "examples") else _generation_view(value)
            for key, value in node.items()
            if key != drop and key != "examples"
        }
    return node


def instances(version: EventVersion) -> st.SearchStrategy[dict[str, Any]]:
    """Valid instances of `version` that name exactly that version in `schema`."""
    schema = _generation_view(bundle(version.schema_set))
    return from_schema(schema).map(lambda doc: {**doc, "schema": version.ref})


def newest_set(version: EventVersion) -> SchemaSet:
    return _CATALOGUE.events[version.event].versions[-1].schema_set


@pytest.mark.parametrize("version", OLDER, ids=lambda v: v.ref)
def test_upcast_of_generated_older_instances_is_valid_newest_and_agrees(
    version: EventVersion,
) -> None:
    event = _CATALOGUE.events[version.event]
    source, target = version.schema_set.validator(), newest_set(version).validator()

    @SETTINGS
    @given(instances(version))
    def check(document: dict[str, Any]) -> None:
        assume(source.is_valid(document))
        snapshot = copy.deepcopy(document)
        result = upcast(document)
        assert document == snapshot
        errors = [e.message for e in target.iter_errors(result)]
        assert not errors, (document, result)
        assert result == reference_upcast(event, document)
        assert upcast(result) == result

    check()


REVERSIBLE = [
    (event, major)
    for event in _CATALOGUE.events.values()
    for major, _ in sorted(event.lenses)
    if lens_of(event, major).reversible
]


def test_page_view_lens_is_among_the_reversible_ones() -> None:
    assert ("page_view", 1) in {(event.name, major) for event, major in REVERSIBLE}


@pytest.mark.parametrize(
    ("event", "major"), REVERSIBLE, ids=lambda x: x.name if hasattr(x, "name") else str(x)
)
def test_round_trip_through_a_reversible_lens_returns_the_original(event: Any, major: int) -> None:
    lens = lens_of(event, major)
    following = next(m for m in event.majors() if m > major)
    downcast = _upcasters.DOWNCASTERS[event.name][(following, major)]
    upcast_step = _upcasters.UPCAST_CHAINS[event.name][lens.source.split("/")[1]][0]  # the lens
    source_version = event.newest_of_major(major)
    assert source_version is not None
    validator = source_version.schema_set.validator()

    @SETTINGS
    @given(instances(source_version))
    def check(document: dict[str, Any]) -> None:
        assume(validator.is_valid(document))
        original = with_removed_defaults(lens.operations, document)
        assume(validator.is_valid(original))
        upcasted = upcast_step(original)
        assert downcast(upcasted) == original
        assert downcast(upcasted) == reference_downcast(lens, upcasted)

    check()


@pytest.mark.parametrize(
    ("event", "major"), REVERSIBLE, ids=lambda x: x.name if hasattr(x, "name") else str(x)
)
def test_compiled_downcaster_agrees_with_the_inverted_lens_on_newer_instances(
    event: Any, major: int
) -> None:
    lens = lens_of(event, major)
    following = next(m for m in event.majors() if m > major)
    downcast = _upcasters.DOWNCASTERS[event.name][(following, major)]
    first = event.first_of_major(following)
    assert first is not None
    validator = first.schema_set.validator()

    @settings(SETTINGS, max_examples=50)  # 2.0.0 instances are slow to generate
    @given(instances(first))
    def check(document: dict[str, Any]) -> None:
        assume(validator.is_valid(document))
        snapshot = copy.deepcopy(document)
        assert downcast(document) == reference_downcast(lens, document)
        assert document == snapshot

    check()
