"""The demo's traffic generator: deterministic for a seed, valid where it means to be, and
refused for exactly the injected reason where it does not (checked through the real gateway).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from compat.source import SchemaSet
from pipeline.demo import faults, traffic
from pipeline.demo.model import (
    PROBE_PRODUCER,
    PRODUCER_BY_NAME,
    ROUTE_CRM,
    ROUTE_EVENTS,
    ROUTE_LOGS,
    ROUTE_SDK,
    ROUTE_SEGMENT,
    WINDOW_END,
    WINDOW_START,
    Request,
)
from pipeline.demo.send import LatencyProbe, send_plan
from registry_service.adapters import crm, logs, segment
from registry_service.model import Producer
from tests.demo.conftest import Gateway

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "events"
NOW = "2026-11-01T00:00:00.000Z"


@cache
def validator(schema_ref: str) -> jsonschema.protocols.Validator:
    name, version = schema_ref.split("/")
    return SchemaSet.from_file(CONTRACTS / name / f"{version}.json").validator()


def assert_valid(event: dict[str, Any], where: str) -> None:
    errors = sorted(validator(event["schema"]).iter_errors(event), key=lambda e: e.json_path)
    assert not errors, f"{where}: {event['schema']}: {errors[0].json_path}: {errors[0].message}"


@pytest.fixture(scope="module")
def plan() -> traffic.Plan:
    return traffic.plan(seed=11, events=3000)


def test_same_seed_same_requests_byte_for_byte() -> None:
    first, second = traffic.plan(5, 1500), traffic.plan(5, 1500)
    assert first.fingerprint() == second.fingerprint()
    assert [r.fingerprint_json() for r in first.requests] == [
        r.fingerprint_json() for r in second.requests
    ]
    assert first.expected.to_json() == second.expected.to_json()


def test_different_seed_different_requests() -> None:
    assert traffic.plan(5, 1500).fingerprint() != traffic.plan(6, 1500).fingerprint()


def test_events_scales_the_volume() -> None:
    small, large = traffic.plan(1, 1000), traffic.plan(1, 4000)
    assert 0.9 * 1000 <= small.event_items <= 1.1 * 1000
    assert 0.9 * 4000 <= large.event_items <= 1.1 * 4000
    assert large.expected.users > 3 * small.expected.users


def test_too_few_events_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 50"):
        traffic.plan(1, 10)


def test_window_is_fixed_and_requests_are_in_order(plan: traffic.Plan) -> None:
    assert all(r.at >= WINDOW_START for r in plan.requests)
    assert all(r.at <= WINDOW_END + timedelta(days=4) for r in plan.requests)
    assert [r.at for r in plan.requests] == sorted(r.at for r in plan.requests)


def test_every_producer_and_mix_is_present(plan: traffic.Plan) -> None:
    producers = {r.producer for r in plan.requests}
    assert producers == {p for p in PRODUCER_BY_NAME if p != PROBE_PRODUCER}
    schemas = Counter(
        item["schema"]
        for r in plan.requests
        if r.route in (ROUTE_SDK, ROUTE_EVENTS) and r.fault is None
        for item in r.items
        if isinstance(item.get("schema"), str)
    )
    for schema in (
        "page_view/1.0.0",
        "page_view/1.1.0",
        "page_view/2.0.0",
        "signup/1.0.0",
        "signup/1.1.0",
        "trial_started/1.0.0",
        "subscription_started/1.0.0",
        "identify/1.0.0",
        "app_open/1.0.0",
        "screen_view/1.0.0",
    ):
        assert schemas[schema] > 0, schema
    channels = plan.expected.visits_by_channel
    for key in (
        "chatgpt",
        "claude",
        "gemini",
        "perplexity",
        "copilot",
        "google",
        "bing",
        "social",
        "email",
        "direct",
    ):
        assert channels[key] > 0, key
    expected = plan.expected
    assert expected.duplicates_by_kind["retried_request"] > 0
    assert expected.duplicates_by_kind["client_server_copy"] > 0
    assert expected.late_events > 0
    assert sum(r.attempts > 1 for r in plan.requests) > 0
    assert set(expected.dead_letters) == {reason for reason, _, _ in faults.FAULTS}


def test_chatgpt_links_carry_what_chatgpt_sends(plan: traffic.Plan) -> None:
    landings = [
        item["referral"]
        for r in plan.requests
        if r.producer == "promptflow-web"
        for item in r.items
        if item.get("event_name") == "page_view"
        and "utm_source" in item.get("referral", {})
        and item["referral"]["utm_source"] == "chatgpt.com"
    ]
    assert landings
    assert all("utm_source=chatgpt.com" in ref["landing_url"] for ref in landings)
    referrers = Counter(ref.get("referrer_url") for ref in landings)
    assert referrers["https://chatgpt.com/"] > 0


def _adapted(request: Request, item: Any) -> dict[str, Any]:
    producer = Producer(
        "0123456789abcdef", PRODUCER_BY_NAME[request.producer].source, request.producer
    )
    if request.route == ROUTE_SEGMENT:
        return segment.map_message(item, producer=producer, now=NOW)
    if request.route == ROUTE_CRM:
        return crm.map_lead(item, producer=producer, now=NOW)
    assert request.route == ROUTE_LOGS
    return logs.map_line(item, producer=producer, now=NOW)


def test_valid_traffic_validates_against_its_exact_contract_version(plan: traffic.Plan) -> None:
    """Everything but the faults is valid: canonical events against the exact version they
    name, adapter items (Segment, CRM, logs) once mapped by the gateway's own adapters."""
    checked = Counter[str]()
    for request in plan.requests:
        if request.fault is not None:
            continue
        for item in request.items:
            where = f"{request.producer} {request.route} at {request.at}"
            if request.route in (ROUTE_SDK, ROUTE_EVENTS):
                event = dict(item, sent_at=NOW)
                if request.route == ROUTE_SDK:  # what the emitter stamps
                    spec = PRODUCER_BY_NAME[request.producer]
                    event["producer"] = {
                        "team": spec.team,
                        "app": spec.app,
                        "sdk": {"name": "refract-python", "version": "1.0.0"},
                    }
            else:
                event = _adapted(request, item)
            assert_valid(event, where)
            checked[event["schema"]] += 1
    retried = sum(len(r.items) * (r.attempts - 1) for r in plan.requests)
    assert sum(checked.values()) == plan.expected.emissions - retried


def test_faults_are_single_and_counted(plan: traffic.Plan) -> None:
    found = [r for r in plan.requests if r.fault is not None]
    per_kind = faults.per_kind(3000)
    assert len(found) == per_kind * (len(faults.FAULTS) + len(faults.REFUSALS))
    assert all(r.attempts == 1 for r in found)
    assert Counter(r.fault for r in found) == Counter(
        {
            reason: per_kind * sum(1 for f in faults.FAULTS if f[0] == reason)
            for reason, _, _ in faults.FAULTS
        }
        | {reason: per_kind for reason, _, _ in faults.REFUSALS}
    )
    assert sum(plan.expected.dead_letters.values()) == per_kind * sum(
        c for _, c, _ in faults.FAULTS
    )
    assert plan.expected.refused == {reason: per_kind for reason, _, _ in faults.REFUSALS}


def _ids(request: Request) -> set[str]:
    """The event ids / message ids a fault request carries (raw bodies: none readable)."""
    ids = set()
    for item in request.items:
        if isinstance(item, dict):
            for key in ("event_id", "messageId", "request_id"):
                if isinstance(item.get(key), str):
                    ids.add(item[key])
    return ids


def test_through_the_gateway_what_was_injected_is_what_arrives(gateway: Gateway) -> None:
    """Real HTTP, real SDK emitters, real adapters: the events stream holds the expected
    copies and identities, and the dead-letter stream every fault with its injected reason."""
    plan = traffic.plan(seed=23, events=800)
    result = send_plan(plan, gateway.url, gateway.keys)
    events = gateway.records("events")
    dead = gateway.records("dead_letters")
    assert len(events) == plan.expected.emissions
    identities = {e["event"].get("dedup_key") or e["event"]["event_id"] for e in events}
    assert len(identities) == plan.expected.business_events
    assert Counter(d["reason"] for d in dead) == plan.expected.dead_letters
    assert result.refused == plan.expected.refused  # 401 at the door, nothing written
    reason_of = {}
    for record in dead:
        payload = record.get("payload")
        # a request refused as a whole is one dead letter holding its body (its events inside)
        items = payload.get("events") if isinstance(payload, dict) else None
        for item in items if isinstance(items, list) else [payload]:
            if isinstance(item, dict):
                for key in ("event_id", "messageId", "request_id"):
                    if isinstance(item.get(key), str):
                        reason_of[item[key]] = record["reason"]
    stored = {e["event"]["event_id"] for e in events}
    refused = {reason for reason, _, _ in faults.REFUSALS}
    for request in plan.requests:
        for event_id in _ids(request) if request.fault else ():
            if request.fault in refused:  # refused before the body is read: stored nowhere
                assert event_id not in reason_of and event_id not in stored
            else:
                assert reason_of.get(event_id) == request.fault, (request.fault, event_id)
    assert result.sdk_delivered == sum(len(r.items) for r in plan.requests if r.route == ROUTE_SDK)
    by_producer = Counter(e["gateway"]["producer"]["name"] for e in events)
    assert by_producer == plan.expected.events_by_producer
    upcast = Counter(e["gateway"].get("upcast_from") for e in events)
    assert upcast["page_view/1.0.0"] > 0 and upcast["page_view/1.1.0"] > 0
    platforms = Counter(
        e["event"]["referral"]["classification"]["ai_platform"]
        for e in events
        if e["event"].get("referral", {}).get("classification")
    )
    for platform in ("chatgpt", "claude", "gemini", "perplexity", "copilot"):
        assert platforms[platform] > 0, platform


def test_latency_probe_sends_wall_clock_page_views(gateway: Gateway) -> None:
    probe = LatencyProbe(gateway.url, gateway.keys[PROBE_PRODUCER], interval=0.1).start()
    deadline = time.monotonic() + 10
    while probe.sent < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    probe.stop()
    assert probe.sent >= 3 and probe.failed == 0
    events = gateway.records("events")
    assert len(events) == probe.sent
    assert {e["gateway"]["producer"]["name"] for e in events} == {PROBE_PRODUCER}
    for record in events:
        occurred = datetime.fromisoformat(record["event"]["occurred_at"])
        received = datetime.fromisoformat(record["received_at"])
        assert timedelta(0) <= received - occurred < timedelta(seconds=5)
