"""Generated pydantic models: examples, construction defaults, closed objects, exports."""

from __future__ import annotations

import importlib
import re
import uuid
from typing import Any

import pydantic
import pytest

from compat.catalogue import Catalogue, EventVersion, load_catalogue
from tests.codegen.conftest import CONTRACTS

_CATALOGUE = load_catalogue(CONTRACTS)
ALL_VERSIONS = [v for e in _CATALOGUE.events.values() for v in e.versions]
NEWEST = [e.versions[-1] for e in _CATALOGUE.events.values()]
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def model_of(version: EventVersion) -> type[pydantic.BaseModel]:
    from refract_sdk._catalogue import MODELS

    module, _, name = MODELS[version.event][str(version.version)].partition(":")
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, pydantic.BaseModel)
    return cls


def dump(instance: pydantic.BaseModel) -> dict[str, Any]:
    return instance.model_dump(mode="json", by_alias=True, exclude_none=True)


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: v.ref)
def test_example_validates_against_its_contract(version: EventVersion) -> None:
    instance = model_of(version).example()  # type: ignore[attr-defined]
    data = dump(instance)
    assert version.schema_set.accepts(data)
    assert data == version.schema_set.schema["examples"][0]


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: v.ref)
def test_every_contract_example_is_accepted_by_the_model(version: EventVersion) -> None:
    model = model_of(version)
    for example in version.schema_set.schema["examples"]:
        assert dump(model.model_validate(example)) == example


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: v.ref)
def test_defaults_are_stamped_at_construction(version: EventVersion) -> None:
    model = model_of(version)
    example = dict(version.schema_set.schema["examples"][0])
    for stamped in ("event_id", "schema", "event_name", "occurred_at", "sent_at", "producer"):
        example.pop(stamped, None)
    example.pop("dedup_key", None)
    first, second = model.model_validate(example), model.model_validate(example)
    data = dump(first)
    assert data["schema"] == version.ref
    assert data["event_name"] == version.event
    assert str(uuid.UUID(data["event_id"])) == data["event_id"]
    assert uuid.UUID(data["event_id"]).version == 4
    assert dump(second)["event_id"] != data["event_id"]  # a fresh id per instance
    assert TIMESTAMP.match(data["occurred_at"])
    assert "sent_at" not in data and "dedup_key" not in data
    # what the emitter stamps at send time completes a valid event
    stamps = {
        k: v
        for k, v in version.schema_set.schema["examples"][0].items()
        if k in ("sent_at", "producer")
    }
    assert version.schema_set.accepts({**data, **stamps})


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: v.ref)
def test_extra_fields_are_rejected_like_the_closed_contract(version: EventVersion) -> None:
    model = model_of(version)
    example = version.schema_set.schema["examples"][0]
    with pytest.raises(pydantic.ValidationError, match="extra"):
        model.model_validate({**example, "not_in_the_contract": 1})
    assert not version.schema_set.accepts({**example, "not_in_the_contract": 1})


def test_the_construction_contract_of_the_spec() -> None:
    from refract_sdk.events import PageView

    view = PageView(
        page={"view_id": str(uuid.uuid4()), "url": "https://app.promptflow.io/", "path": "/"},
        user={"anonymous_id": "anon-1"},
        referral={"utm_source": "chatgpt.com"},
        device={"type": "desktop"},
        session={"session_id": "ses_1"},
    )
    data = dump(view)
    assert data["source"] == "web"  # a single-source event defaults its const
    assert data["privacy"] == {}  # a required object that accepts {} defaults to empty
    stamps = {
        "sent_at": "2026-03-14T09:26:53.802Z",
        "producer": {
            "team": "web-platform",
            "app": "promptflow-web",
            "sdk": {"name": "refract-python", "version": "0.1.0"},
        },
    }
    newest = _CATALOGUE.events["page_view"].versions[-1]
    assert newest.schema_set.accepts({**data, **stamps})


def test_invalid_values_are_rejected() -> None:
    from refract_sdk.events import PageView

    example = PageView.example()
    data = dump(example)
    with pytest.raises(pydantic.ValidationError):
        PageView.model_validate({**data, "schema": "page_view/1.1.0"})  # wrong major
    with pytest.raises(pydantic.ValidationError):
        PageView.model_validate({**data, "occurred_at": "2026-03-14T09:26:53Z"})  # no ms
    with pytest.raises(pydantic.ValidationError):
        PageView.model_validate({**data, "user": {}})  # neither user_id nor anonymous_id


def test_newest_models_are_exported_by_event_name(catalogue: Catalogue) -> None:
    import refract_sdk.events as events
    from refract_sdk.events.page_view.v1_1_0 import PageView as PageView11
    from refract_sdk.events.page_view.v2_0_0 import PageView as PageView20

    assert events.PageView is PageView20
    assert PageView11 is not PageView20
    assert PageView11.example().schema_ == "page_view/1.1.0"
    assert {"PageView", "Signup", "LeadUpdated", "ApiRequest"} <= set(events.__all__)
    assert len(events.__all__) == len(catalogue.events)
    for version in NEWEST:
        assert getattr(events, model_of(version).__name__) is model_of(version)


def test_catalogue_data_matches_the_contracts(catalogue: Catalogue) -> None:
    from refract_sdk import _catalogue

    for name, event in catalogue.events.items():
        assert _catalogue.LATEST[name] == str(event.versions[-1].version)
        assert _catalogue.VERSIONS[name] == tuple(str(v.version) for v in event.versions)
        newest_schema = event.versions[-1].schema_set.schema
        assert _catalogue.DEDUP_KEYS[name] == tuple(newest_schema["x-dedup-key"])
    assert _catalogue.PII["page_view"]["/user/anonymous_id"] == "indirect"
    assert _catalogue.PII["page_view"]["/privacy/ip_address"] == "direct"
    assert _catalogue.PII["page_view"]["/referral/landing_url"] == "indirect"
    assert _catalogue.PII["identify"]["/traits/email"] == "direct"
    assert "/page/title" not in _catalogue.PII["page_view"]
