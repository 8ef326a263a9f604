"""refract_sdk.upcast on the contracts' examples: validity, agreement, purity, errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from refract_sdk import _upcasters
from refract_sdk.upcasting import UpcastError, upcast

from compat.catalogue import EventVersion, load_catalogue
from tests.codegen.conftest import CONTRACTS
from tests.codegen.reference import lens_of, reference_downcast, reference_upcast

_CATALOGUE = load_catalogue(CONTRACTS)
OLDER = [v for e in _CATALOGUE.events.values() for v in e.versions[:-1]]
NEWEST = [e.versions[-1] for e in _CATALOGUE.events.values()]


def examples(version: EventVersion) -> list[dict[str, Any]]:
    return list(version.schema_set.schema["examples"])


def test_there_are_older_versions_to_upcast() -> None:
    assert {v.ref for v in OLDER} >= {"page_view/1.0.0", "page_view/1.1.0", "signup/1.0.0"}


@pytest.mark.parametrize("version", OLDER, ids=lambda v: v.ref)
def test_every_older_example_upcasts_to_a_valid_newest_instance(version: EventVersion) -> None:
    event = _CATALOGUE.events[version.event]
    newest = event.versions[-1]
    for example in examples(version):
        snapshot = copy.deepcopy(example)
        result = upcast(example)
        assert example == snapshot  # the input is not mutated
        assert result["schema"] == newest.ref
        assert newest.schema_set.accepts(result), result
        assert result == reference_upcast(event, example)


@pytest.mark.parametrize("version", NEWEST, ids=lambda v: v.ref)
def test_upcast_is_the_identity_on_the_newest_version(version: EventVersion) -> None:
    for example in examples(version):
        result = upcast(example)
        assert result == example
        assert result is not example
        assert upcast(result) == result


def test_upcast_copies_only_what_it_changes() -> None:
    (example,) = examples(_CATALOGUE.events["page_view"].versions[1])[:1]
    document = {**example, "referrer": "https://chatgpt.com/"}
    result = upcast(document)
    assert result["referral"]["referrer_url"] == "https://chatgpt.com/"
    result["referral"]["utm_source"] = "changed"
    result["producer"]["team"] = "changed"
    assert upcast(document)["producer"]["team"] == "web-platform"  # defaults are fresh


def test_page_view_1_0_0_goes_through_1_1_0_then_the_lens() -> None:
    chain = _upcasters.UPCAST_CHAINS["page_view"]["1.0.0"]
    assert [step.__name__ for step in chain] == [
        "upcast_page_view_1_0_0_to_1_1_0",
        "upcast_page_view_1_to_2",
    ]
    assert _upcasters.UPCAST_CHAINS["page_view"]["2.0.0"] == ()
    assert [s.__name__ for s in _upcasters.UPCAST_CHAINS["signup"]["1.0.0"]] == [
        "upcast_signup_1_0_0_to_1_1_0"
    ]


def test_compiled_downcaster_agrees_with_the_inverted_lens() -> None:
    event = _CATALOGUE.events["page_view"]
    lens = lens_of(event, 1)
    downcast = _upcasters.DOWNCASTERS["page_view"][(2, 1)]
    for example in examples(event.versions[-1]):
        snapshot = copy.deepcopy(example)
        assert downcast(example) == reference_downcast(lens, example)
        assert example == snapshot
    for example in examples(event.versions[1]):
        assert downcast(upcast(example)) == {**example, "is_bot": example.get("is_bot", False)}


# -- errors --------------------------------------------------------------------------------------

PAGE_VIEW_11 = examples(_CATALOGUE.events["page_view"].versions[1])[0]


@pytest.mark.parametrize(
    ("payload", "event", "version", "field", "reason"),
    [
        (["not", "an", "object"], None, None, "", "expected an event object, found array"),
        ({"event_name": "page_view"}, None, None, "/schema", "missing 'schema'"),
        ({"schema": 7}, None, None, "/schema", "must be a string"),
        ({"schema": "nope/1.0.0"}, "nope", "1.0.0", "/schema", "unknown event 'nope'"),
        ({"schema": "page_view/1.9.0"}, "page_view", "1.9.0", "/schema", "unknown version"),
        ({"schema": "page_view"}, "page_view", None, "/schema", "unknown version"),
        (  # `user` is not in 1.x; as a string it is a wrong type where the lens needs an object
            {**PAGE_VIEW_11, "user": "someone"},
            "page_view",
            "1.1.0",
            "/user",
            "expected an object to move 'anonymous_id' into, found string",
        ),
        (
            {**PAGE_VIEW_11, "referral": {"referrer_url": "x"}, "referrer": "y"},
            "page_view",
            "1.1.0",
            "/referral/referrer_url",
            "field already present",
        ),
        (
            {**PAGE_VIEW_11, "schema": "page_view/1.0.0", "page": None},
            "page_view",
            "1.0.0",
            "/page",
            "found null",
        ),
    ],
)
def test_malformed_input_raises_upcast_error_naming_event_version_and_field(
    payload: Any, event: str | None, version: str | None, field: str, reason: str
) -> None:
    with pytest.raises(UpcastError) as info:
        upcast(payload)
    error = info.value
    assert (error.event, error.version, error.field) == (event, version, field)
    assert reason in error.reason
    assert isinstance(error, ValueError)
    if event and version:
        assert f"{event}/{version}" in str(error)
    if field:
        assert field in str(error)


def test_a_later_step_failure_names_the_version_as_given() -> None:
    payload = {**PAGE_VIEW_11, "schema": "page_view/1.0.0", "device": []}
    with pytest.raises(UpcastError) as info:
        upcast(payload)
    assert info.value.version == "1.0.0"
    assert info.value.field == "/device"
    assert "in the step from 1.1.0" in info.value.reason
