"""Malformed traffic: one request builder per way producers get it wrong, each with the
dead-letter reason the gateway must give it (docs/dead-letters.md, docs/adapters.md).

Every fault is otherwise valid, so the only reason it can be refused is the injected one; the
counts go into `Expected.dead_letters` for the report to compare with raw.dead_letters. Faults
are never retried (a retried fault would simply be counted twice; keeping them single keeps
the comparison exact and obvious).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import orjson

from pipeline.demo.model import (
    ROUTE_CRM,
    ROUTE_EVENTS,
    ROUTE_LOGS,
    ROUTE_SEGMENT,
    WINDOW_END,
    WINDOW_START,
    Expected,
    Request,
    ts,
)

SHARE = 0.0012
"""Requests per fault kind, as a share of the planned events (at least one of each)."""


def page_view(uuid: Callable[[], str], moment: datetime) -> dict[str, Any]:
    """A valid current page view (the base most faults spoil)."""
    return {
        "event_id": uuid(),
        "schema": "page_view/2.0.0",
        "event_name": "page_view",
        "occurred_at": ts(moment),
        "source": "web",
        "producer": {
            "team": "web-platform",
            "app": "promptflow-web",
            "sdk": {"name": "refract-js", "version": "2.3.1"},
        },
        "user": {"anonymous_id": uuid()},
        "device": {"type": "desktop"},
        "referral": {
            "referrer_url": "https://chatgpt.com/",
            "landing_url": "https://app.promptflow.io/?utm_source=chatgpt.com",
        },
        "privacy": {},
        "page": {
            "view_id": uuid(),
            "url": "https://app.promptflow.io/?utm_source=chatgpt.com",
            "path": "/",
        },
    }


def signup(uuid: Callable[[], str], moment: datetime) -> dict[str, Any]:
    return {
        "event_id": uuid(),
        "schema": "signup/1.1.0",
        "event_name": "signup",
        "occurred_at": ts(moment),
        "source": "backend",
        "producer": {
            "team": "growth",
            "app": "accounts-service",
            "sdk": {"name": "refract-python", "version": "1.5.0"},
        },
        "user": {"user_id": "usr_" + uuid().replace("-", "")[:26].upper()},
        "method": "email",
        "plan": "free",
    }


Fault = tuple[str, int, Callable[[Callable[[], str], datetime], Request]]
"""(dead-letter reason, dead letters per request, builder)."""


def _bad_url(uuid: Callable[[], str], at: datetime) -> Request:
    event = page_view(uuid, at)
    event["page"]["url"] = "not a url"
    return Request(at, "promptflow-web", ROUTE_EVENTS, (event,))


def _bad_plan(uuid: Callable[[], str], at: datetime) -> Request:
    event = signup(uuid, at)
    event["plan"] = "platinum"
    return Request(at, "accounts-service", ROUTE_EVENTS, (event,))


def _no_session(uuid: Callable[[], str], at: datetime) -> Request:
    event = {
        "event_id": uuid(),
        "schema": "screen_view/1.0.0",
        "event_name": "screen_view",
        "occurred_at": ts(at),
        "source": "mobile",
        "producer": {
            "team": "mobile",
            "app": "promptflow-mobile",
            "sdk": {"name": "refract-swift", "version": "0.9.0"},
        },
        "user": {"anonymous_id": uuid()},
        "device": {"type": "mobile"},
        "privacy": {},
        "screen": {"view_id": uuid(), "name": "home"},
    }
    return Request(at, "promptflow-mobile", ROUTE_EVENTS, (event,))


def _unknown_contract(uuid: Callable[[], str], at: datetime) -> Request:
    event = signup(uuid, at)
    event["schema"] = "checkout_completed/1.0.0"
    event["event_name"] = "checkout_completed"
    return Request(at, "billing-service", ROUTE_EVENTS, (event,))


def _unknown_version(uuid: Callable[[], str], at: datetime) -> Request:
    event = signup(uuid, at)
    event["schema"] = "signup/1.9.0"
    return Request(at, "accounts-service", ROUTE_EVENTS, (event,))


def _dedup_mismatch(uuid: Callable[[], str], at: datetime) -> Request:
    event = page_view(uuid, at)
    event["dedup_key"] = uuid()
    return Request(at, "web-ssr", ROUTE_EVENTS, (event,))


def _too_large(uuid: Callable[[], str], at: datetime) -> Request:
    event = page_view(uuid, at)
    event["page"]["search"] = "q=" + "x" * 70_000
    return Request(at, "promptflow-web", ROUTE_EVENTS, (event,))


def _not_json(uuid: Callable[[], str], at: datetime) -> Request:
    body = orjson.dumps({"sent_at": ts(at), "events": [page_view(uuid, at)]})
    return Request(at, "legacy-web-tracker", ROUTE_EVENTS, raw=body[: len(body) // 2])


def _not_a_batch(uuid: Callable[[], str], at: datetime) -> Request:
    body = orjson.dumps({"sent_at": ts(at), "events": {"page_view": page_view(uuid, at)}})
    return Request(at, "legacy-web-tracker", ROUTE_EVENTS, raw=body)


def _content_type(uuid: Callable[[], str], at: datetime) -> Request:
    body = orjson.dumps({"sent_at": ts(at), "events": [page_view(uuid, at)]})
    return Request(at, "legacy-web-tracker", ROUTE_EVENTS, raw=body, content_type="text/plain")


def _unknown_key(uuid: Callable[[], str], at: datetime) -> Request:
    events = (page_view(uuid, at), page_view(uuid, at + timedelta(seconds=30)))
    return Request(at, "promptflow-web", ROUTE_EVENTS, events, use_unknown_key=True)


def _segment_anonymous(uuid: Callable[[], str], at: datetime) -> Request:
    message = {
        "type": "page",
        "messageId": uuid(),
        "timestamp": ts(at),
        "properties": {"url": "https://app.promptflow.io/docs", "path": "/docs"},
    }
    return Request(at, "docs-site-segment", ROUTE_SEGMENT, (message,))


def _segment_unmapped(uuid: Callable[[], str], at: datetime) -> Request:
    message = {
        "type": "track",
        "event": "Button Clicked",
        "messageId": uuid(),
        "anonymousId": uuid(),
        "timestamp": ts(at),
        "properties": {"button": "cta"},
    }
    return Request(at, "docs-site-segment", ROUTE_SEGMENT, (message,))


def _log_truncated(uuid: Callable[[], str], at: datetime) -> Request:
    line = orjson.dumps({"time": ts(at), "method": "GET", "path": "/api/v2/dashboards"})
    return Request(at, "api-access-logs", ROUTE_LOGS, (line[:20] + b"\n",))


def _log_no_status(uuid: Callable[[], str], at: datetime) -> Request:
    line = {
        "time": ts(at),
        "method": "GET",
        "path": "/api/v2/dashboards",
        "latency_ms": 12.5,
        "request_id": "req_" + uuid().replace("-", ""),
    }
    return Request(at, "api-access-logs", ROUTE_LOGS, (line,))


def _crm_no_id(uuid: Callable[[], str], at: datetime) -> Request:
    item = {
        "crm": "hubspot",
        "change": "created",
        "record": {"properties": {"lifecyclestage": "lead", "createdate": ts(at)}},
    }
    return Request(at, "hubspot", ROUTE_CRM, (item,))


FAULTS: tuple[Fault, ...] = (
    ("schema_violation", 1, _bad_url),
    ("schema_violation", 1, _bad_plan),
    ("schema_violation", 1, _no_session),
    ("unknown_contract", 1, _unknown_contract),
    ("unknown_version", 1, _unknown_version),
    ("dedup_key_mismatch", 1, _dedup_mismatch),
    ("event_too_large", 1, _too_large),
    ("malformed_json", 1, _not_json),
    ("malformed_batch", 1, _not_a_batch),
    ("unsupported_content_type", 1, _content_type),
    ("adapter_failed", 1, _segment_anonymous),
    ("unmapped_event", 1, _segment_unmapped),
    ("malformed_json", 1, _log_truncated),
    ("adapter_failed", 1, _log_no_status),
    ("adapter_failed", 1, _crm_no_id),
)


Refusal = tuple[str, int, Callable[[Callable[[], str], datetime], Request]]
"""(reason, events per request, builder): requests refused before their body is read, so
they leave nothing in the warehouse; the sender counts their 401s instead."""

REFUSALS: tuple[Refusal, ...] = (("unauthorized", 2, _unknown_key),)


def per_kind(events: int) -> int:
    return max(1, round(events * SHARE))


def budget(events: int) -> int:
    """How many of `events` the faults take (the population gets the rest)."""
    per_request = sum(count for _, count, _ in FAULTS) + sum(n for _, n, _ in REFUSALS)
    return per_kind(events) * per_request


def requests(
    rng: random.Random, events: int, expected: Expected, uuid: Callable[[], str]
) -> list[Request]:
    """`per_kind(events)` requests of every fault, at random simulated times."""
    span = (WINDOW_END - WINDOW_START).total_seconds()
    planned: list[Request] = []
    for _ in range(per_kind(events)):
        for reason, count, build in FAULTS:
            at = WINDOW_START + timedelta(seconds=round(rng.uniform(0, span), 3))
            planned.append(replace(build(uuid, at), fault=reason))
            expected.dead_letters[reason] += count
        for reason, _, build in REFUSALS:
            at = WINDOW_START + timedelta(seconds=round(rng.uniform(0, span), 3))
            planned.append(replace(build(uuid, at), fault=reason))
            expected.refused[reason] += 1
    return planned
