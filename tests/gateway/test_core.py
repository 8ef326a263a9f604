"""The processing core on the real registry, local streams and classifier.

Each test sends events through ``Gateway.ingest`` (the adapters' interface) and reads the
records back from the local streams, so every assertion is about what consumers will see.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import uuid
from pathlib import Path

import pytest
from refract_sdk import dedup_key

from registry_service.gateway.core import GATEWAY_VERSION
from registry_service.gateway.errors import SinkUnavailable
from registry_service.model import Producer
from tests.gateway.conftest import PII_KEY, Service, example

PRODUCER = Producer("k1", "web", "web-platform")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def pii_hash(value: str) -> str:
    return hmac.new(PII_KEY, value.encode(), hashlib.sha256).hexdigest()


def test_a_canonical_event_is_stamped_keyed_classified_and_keyed_by_user(
    installation: Service,
) -> None:
    event = example("page_view", "2.0.0")
    event.pop("dedup_key", None)
    event["referral"].pop("classification", None)
    original = copy.deepcopy(event)
    outcomes = installation.gateway.ingest([event], PRODUCER, "sdk")
    assert [(o.status, o.event_id) for o in outcomes] == [("accepted", event["event_id"])]
    assert event == original, "the producer's objects are not modified"
    [record] = installation.events()
    stored = record["event"]
    assert stored["schema"] == "page_view/2.0.0"
    assert stored["dedup_key"] == dedup_key(original)
    assert stored["referral"]["classification"] == {
        "channel": "ai_assistant",
        "ai_platform": "chatgpt",
        "method": "utm",
        "conflict": False,
    }
    assert TIMESTAMP.match(record["received_at"])
    gateway = record["gateway"]
    assert gateway["origin"] == "sdk"
    assert gateway["version"] == GATEWAY_VERSION
    assert gateway["producer"] == {"key_id": "k1", "source": "web", "name": "web-platform"}
    assert gateway["upcast_from"] is None
    assert gateway["host"]
    # The IP is truncated to its /24; everything else is as sent.
    assert stored["privacy"]["ip_address"] == "203.0.113.0"
    assert stored["page"] == original["page"]
    assert installation.dead_letters() == []


def test_the_partition_key_is_the_user(installation: Service) -> None:
    event = example("page_view", "2.0.0")
    installation.gateway.ingest([event], PRODUCER, "sdk")
    from pipeline.streams.local import StreamReader

    [(_, record)] = StreamReader(installation.data_dir / "streams" / "events").read(0, 10)
    assert record.partition_key == event["user"]["anonymous_id"]


@pytest.mark.parametrize(
    ("event", "version", "newest"),
    [
        ("page_view", "1.0.0", "page_view/2.0.0"),
        ("page_view", "1.1.0", "page_view/2.0.0"),
        ("signup", "1.0.0", "signup/1.1.0"),
    ],
)
def test_older_versions_are_upcast_and_say_from_what(
    installation: Service, event: str, version: str, newest: str
) -> None:
    sent = example(event, version)
    [outcome] = installation.gateway.ingest([sent], PRODUCER, "sdk")
    assert outcome.status == "accepted", outcome
    [record] = installation.events()
    assert record["event"]["schema"] == newest
    assert record["gateway"]["upcast_from"] == f"{event}/{version}"
    metrics = installation.gateway.metrics.render().decode()
    assert (
        f'refract_gateway_upcasts_total{{event="{event}",from_version="{version}",'
        f'to_version="{newest.split("/")[1]}"}} 1.0'
    ) in metrics


def test_direct_identifiers_are_hashed_and_ips_truncated(installation: Service) -> None:
    identify = example("identify", "1.0.0")
    lead = example("lead_created", "1.0.0")
    api = example("api_request", "1.0.0")
    outcomes = installation.gateway.ingest([identify, lead, api], PRODUCER, "sdk")
    assert [o.status for o in outcomes] == ["accepted"] * 3, outcomes
    stored = {r["event"]["event_name"]: r["event"] for r in installation.events()}
    traits = stored["identify"]["traits"]
    assert traits["email"] == pii_hash(identify["traits"]["email"].strip().lower())
    assert traits["name"] == pii_hash(identify["traits"]["name"])
    assert stored["identify"]["privacy"]["ip_address"] == "203.0.113.0"
    assert stored["lead_created"]["email"] == pii_hash("maria.keller@example.com")
    assert stored["lead_created"]["first_name"] == pii_hash(lead["first_name"])
    assert stored["api_request"]["ip"] == "2001:db8:85a3::"
    text = json.dumps([r for r in installation.events()])
    assert "maria.keller@example.com" not in text
    assert "203.0.113.42" not in text


def test_emails_hash_the_same_whatever_the_case(installation: Service) -> None:
    a = example("lead_created", "1.0.0")
    b = example("lead_created", "1.0.0")
    b["event_id"] = str(uuid.uuid4())
    b["email"] = "Maria.Keller@Example.com"
    b.pop("dedup_key", None)
    b["lead_id"] = "another-lead"
    outcomes = installation.gateway.ingest([a, b], PRODUCER, "crm")
    assert [o.status for o in outcomes] == ["accepted", "accepted"], outcomes
    first, second = (r["event"]["email"] for r in installation.events())
    assert first == second


def test_a_correct_dedup_key_is_kept_and_a_wrong_one_rejected(installation: Service) -> None:
    good = example("page_view", "2.0.0")
    good["dedup_key"] = dedup_key(good)
    bad = example("page_view", "2.0.0")
    bad["event_id"] = str(uuid.uuid4())
    bad["dedup_key"] = str(uuid.uuid4())
    outcomes = installation.gateway.ingest([good, bad], PRODUCER, "sdk")
    assert [o.status for o in outcomes] == ["accepted", "rejected"]
    assert outcomes[1].reason == "dedup_key_mismatch"
    assert "/page/view_id" in (outcomes[1].message or "")
    assert installation.events()[0]["event"]["dedup_key"] == good["dedup_key"]
    [letter] = installation.dead_letters()
    assert letter["reason"] == "dedup_key_mismatch"
    assert letter["payload"] == bad


def test_an_upcast_event_is_keyed_like_its_newest_version(installation: Service) -> None:
    old = example("signup", "1.0.0")
    old.pop("dedup_key", None)
    installation.gateway.ingest([old], PRODUCER, "sdk")
    [record] = installation.events()
    assert record["event"]["dedup_key"] == dedup_key(old)


@pytest.mark.parametrize(
    ("mutate", "reason", "where"),
    [
        (lambda e: e.update(schema="no_such_event/1.0.0"), "unknown_contract", "/schema"),
        (lambda e: e.update(schema="page_view/9.9.9"), "unknown_version", "/schema"),
        (lambda e: e.pop("schema"), "schema_violation", "/schema"),
        (lambda e: e["page"].update(url="not a url"), "schema_violation", "/page/url"),
        (lambda e: e.update(occurred_at="yesterday"), "schema_violation", "/occurred_at"),
        (lambda e: e.update(extra_field=1), "schema_violation", "/"),
    ],
    ids=[
        "unknown-contract",
        "unknown-version",
        "no-schema",
        "bad-url",
        "bad-time",
        "extra",
    ],
)
def test_rejected_events_go_to_dead_letters_with_reason_payload_and_producer(
    installation: Service, mutate: object, reason: str, where: str
) -> None:
    good = example("page_view", "2.0.0")
    bad = example("page_view", "2.0.0")
    bad["event_id"] = str(uuid.uuid4())
    mutate(bad)  # type: ignore[operator]
    sent = copy.deepcopy(bad)
    outcomes = installation.gateway.ingest([bad, good], PRODUCER, "sdk")
    assert [o.status for o in outcomes] == ["rejected", "accepted"]
    assert outcomes[0].reason == reason
    assert (outcomes[0].message or "").startswith(where), outcomes[0].message
    assert [r["event"]["event_id"] for r in installation.events()] == [good["event_id"]]
    [letter] = installation.dead_letters()
    assert letter["reason"] == reason
    assert letter["message"] == outcomes[0].message
    assert letter["payload"] == sent
    assert letter["producer"] == {"key_id": "k1", "source": "web", "name": "web-platform"}
    assert letter["origin"] == "sdk"
    assert TIMESTAMP.match(letter["received_at"])


def test_an_event_over_the_byte_limit_is_rejected_alone(installation: Service) -> None:
    installation.gateway.max_event_bytes = 1000
    big = example("page_view", "2.0.0")  # about 1.3 KB
    small = example("trial_started", "1.0.0")  # about 0.5 KB
    outcomes = installation.gateway.ingest([big, small], PRODUCER, "sdk")
    assert [o.status for o in outcomes] == ["rejected", "accepted"]
    assert outcomes[0].reason == "event_too_large"
    assert "over the 1000-byte limit" in (outcomes[0].message or "")
    [letter] = installation.dead_letters()
    assert letter["payload"] == big


def test_values_that_are_not_events_are_rejected_one_by_one(installation: Service) -> None:
    outcomes = installation.gateway.ingest(
        [3, "x", None, [], example("app_open", "1.0.0")], PRODUCER, "sdk"
    )
    assert [o.status for o in outcomes] == ["rejected"] * 4 + ["accepted"]
    assert [d["payload"] for d in installation.dead_letters()] == [3, "x", None, []]


def test_a_version_registered_while_running_is_served_soon(
    tmp_path: Path, registry_template: Path
) -> None:
    service = Service(tmp_path / "d", registry_template, negative_cache_seconds=0.3)
    now = [1000.0]  # the cache's clock, advanced by the test: no dependence on machine speed
    service.gateway.validators.clock = lambda: now[0]
    try:
        event = example("page_view", "2.0.0")
        event["schema"] = "page_view/2.1.0"
        [first] = service.gateway.ingest([event], PRODUCER, "sdk")
        assert first.reason == "unknown_version"
        schema = service.registry.contract("page_view", "2.0.0")
        schema["properties"]["schema"]["default"] = "page_view/2.1.0"
        service.registry.register("page_view", {"schemaType": "JSON", "schema": json.dumps(schema)})
        # Within the negative-cache interval the miss is remembered (one lookup, not one per
        # event); after it the new version is found without any restart.
        lookups = service.gateway.validators.lookups
        [again] = service.gateway.ingest([event], PRODUCER, "sdk")
        assert again.reason == "unknown_version"
        assert service.gateway.validators.lookups == lookups
        now[0] += 0.35
        [later] = service.gateway.ingest([event], PRODUCER, "sdk")
        assert later.status == "accepted", later
        record = service.events()[-1]
        assert record["event"]["schema"] == "page_view/2.1.0"  # a newer minor passes unchanged
        assert record["gateway"]["upcast_from"] is None
    finally:
        service.close()


def test_the_cache_drops_validators_when_the_registry_generation_moves(
    installation: Service,
) -> None:
    cache = installation.gateway.validators
    cache.refresh_seconds = 0
    installation.gateway.ingest([example("page_view", "2.0.0")], PRODUCER, "sdk")
    compiled = cache.compilations
    installation.gateway.ingest([example("page_view", "2.0.0")], PRODUCER, "sdk")
    assert cache.compilations == compiled, "a warm cache compiles nothing"
    installation.registry.set_config("page_view", "FULL")  # any write moves the generation
    installation.gateway.ingest([example("page_view", "2.0.0")], PRODUCER, "sdk")
    assert cache.compilations == compiled + 1


def test_nothing_is_acknowledged_when_the_events_stream_refuses(installation: Service) -> None:
    good = example("page_view", "2.0.0")
    bad = example("page_view", "2.0.0")
    bad["schema"] = "nope/1.0.0"
    installation.gateway.events_sink.close()  # a closed LocalStream refuses every put
    with pytest.raises(SinkUnavailable) as raised:
        installation.gateway.ingest([good, bad], PRODUCER, "sdk")
    assert raised.value.status == 503
    assert raised.value.headers["Retry-After"]
    # The accepted event is kept in the dead-letter stream, so it survives a client that
    # gives up; the rejected one is there with its own reason.
    reasons = sorted(d["reason"] for d in installation.dead_letters())
    assert reasons == ["sink_unavailable", "unknown_contract"]
    rescued = next(d for d in installation.dead_letters() if d["reason"] == "sink_unavailable")
    assert rescued["payload"]["event_id"] == good["event_id"]
    metrics = installation.gateway.metrics.render().decode()
    assert 'refract_gateway_sink_failures_total{stream="events"} 1.0' in metrics


def test_dead_letter_for_bytes_is_capped_base64(installation: Service) -> None:
    import base64

    installation.gateway.dead_letter_payload_cap = 10
    installation.gateway.dead_letter(
        b"0123456789abcdef", "malformed_json", "not JSON", None, "logs"
    )
    [letter] = installation.dead_letters()
    assert base64.b64decode(letter["payload_base64"]) == b"0123456789"
    assert letter["payload_bytes"] == 16
    assert letter["payload_truncated"] is True
    assert letter["producer"] is None
    assert letter["origin"] == "logs"


def test_version_plans_follow_the_validator_cache(installation: Service) -> None:
    """The per-version plans hold compiled validators: they go when the cache drops them."""
    gateway = installation.gateway
    cache = gateway.validators
    cache.refresh_seconds = 0
    gateway.ingest([example("page_view", "2.0.0")], PRODUCER, "sdk")
    planned = gateway._plans["page_view/2.0.0"].compiled
    assert planned is cache.get("page_view", "2.0.0")
    installation.registry.set_config("page_view", "FULL")  # moves the generation
    [outcome] = gateway.ingest([example("page_view", "2.0.0")], PRODUCER, "sdk")
    assert outcome.status == "accepted"
    replanned = gateway._plans["page_view/2.0.0"].compiled
    assert replanned is not planned
    assert replanned is cache.get("page_view", "2.0.0")


def test_a_stored_schema_naming_a_file_is_never_read_by_the_gateway(
    installation: Service, tmp_path: Path
) -> None:
    """A contract stored before the registry refused outside references (or edited in its
    database by hand) must not make the gateway read a file: jsonschema_rs's default
    retriever would load the file and validate events against it."""
    import sqlite3

    outside = tmp_path / "outside.json"
    outside.write_text('{"type": "object"}')  # would accept anything the real contract refuses
    schema = installation.registry.contract("page_view", "2.0.0")
    assert schema is not None
    schema["properties"]["page"] = {"$ref": outside.as_uri()}
    database = installation.settings.data_dir / "registry.db"
    with sqlite3.connect(database) as connection:
        connection.execute(
            "UPDATE registry_schemas SET schema_text = ? WHERE id = (SELECT schema_id FROM "
            "registry_versions WHERE subject = 'page_view' AND semver = '2.0.0')",
            (json.dumps(schema),),
        )
        connection.execute("UPDATE registry_generation SET generation = generation + 1")
    installation.gateway.validators.refresh_seconds = 0
    event = example("page_view", "2.0.0")
    event["page"] = {"not": "a page"}
    [outcome] = installation.gateway.ingest([event], PRODUCER, "sdk")
    assert outcome.status == "rejected" and outcome.reason == "unknown_version", outcome
    assert "references outside the schema are not resolved" in str(outcome.message)
    assert installation.events() == []
