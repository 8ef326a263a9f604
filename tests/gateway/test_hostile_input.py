"""Hostile shapes on every gateway and adapter route, with a valid key: never a 5xx.

Issue 10 found 500s for an event nested ~960 deep (RecursionError in the dead-letter fallback),
Python ``repr``s in dead letters for events 255-961 deep (not replayable), and OverflowError
for Segment and CRM timestamps at the limits of datetime. The class is "an exception hostile
input can raise", so this table sends one of each shape (deep nesting, integers beyond 64
bits, floats at the limit, very long strings, non-object items, wrong types, control and
bidirectional characters, timestamps at the datetime limits and beyond) between two valid
items of the same request, on every route, and checks that:

* the answer is never a 5xx, and keeps its route family's shape;
* the valid items beside the hostile ones land in the events stream (one bad item is rejected
  alone);
* every dead letter is replayable JSON (``payload``, or ``payload_base64`` whose bytes parse),
  and none is an ``internal_error``.
"""

from __future__ import annotations

import base64
import copy
import json
import sys
import uuid
from typing import Any

import httpx
import orjson
import pytest

from tests.gateway.conftest import Service, example

LIMIT_TIMESTAMPS = [
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "10/Jan/0001:00:00:00 +0100",
    "10/Dec/9999:23:59:59 -0100",
    "9" * 400,
    "1e400",
    "١٢٣٤٥٦٧٨٩٠",
    "2026-13-45T99:99:99Z",
    2**63,
    -(2**63),
    1.7976931348623157e308,
    -1.7976931348623157e308,
    "",
    "x" * 10_000,
]


def nested(depth: int, leaf: Any = "x", *, lists: bool = False) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value] if lists else {"a": value}
    return value


HOSTILE: dict[str, Any] = {
    "nested-40": nested(40),
    "nested-300": nested(300),
    "nested-960": nested(960),
    "lists-1000": nested(1000, lists=True),
    "zero": 0,
    "string": "x",
    "null": None,
    "empty-list": [],
    "u64-max": 2**64 - 1,
    "i64-min": -(2**63),
    "float-max": 1.7976931348623157e308,
    "long-string": "y" * 200_000,
    "bidi-and-controls": "\u202e\u0000\u001b[31m\u2066",
    "schema-number": {"schema": 5},
    "schema-long": {"schema": "page_view/" + "9" * 5000},
    "schema-bogus": {"schema": "../../etc/passwd/1.0.0"},
    "event-id-object": {"event_id": {"a": 1}, "schema": "page_view/2.0.0"},
    "many-keys": {f"k{i}": i for i in range(5000)},
}


def dumps(value: Any) -> bytes:
    """JSON of a test body, however deep (orjson writes 255 levels; the stdlib encoder
    recurses, so the limit is raised for it alone)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        return json.dumps(value, ensure_ascii=False).encode()
    finally:
        sys.setrecursionlimit(limit)


def deep_in(base: dict[str, Any], field: str, depth: int) -> dict[str, Any]:
    """``base`` with ``field`` replaced by a value ``depth`` levels deep (a valid ``schema``)."""
    event = copy.deepcopy(base)
    event[field] = nested(depth)
    return event


def post(service: Service, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    sent = {"Content-Type": "application/json", **headers}
    return httpx.post(f"{service.url}{path}", content=body, headers=sent, timeout=60)


def assert_replayable(service: Service) -> list[dict[str, Any]]:
    """Every dead letter carries JSON (or base64 bytes that are the JSON it was sent as)."""
    letters = service.dead_letters()
    for letter in letters:
        assert letter["reason"] != "internal_error", letter["message"]
        if "payload" in letter:
            continue
        raw = base64.b64decode(letter["payload_base64"])
        assert b"<" not in raw[:1] and not raw.startswith(b"{'"), "a Python repr"
        if letter.get("payload_reserialized"):
            assert not letter.get("payload_truncated")
            orjson.loads(raw)  # JSON, whatever its depth (orjson reads 1024 levels)
    return letters


def fresh(event: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(event), "event_id": str(uuid.uuid4())}


# -- POST /v1/events ------------------------------------------------------------------------


def test_events_route_rejects_each_hostile_event_alone(service: Service) -> None:
    first, last = fresh(example("page_view", "2.0.0")), fresh(example("signup", "1.0.0"))
    base = example("page_view", "2.0.0")
    deep = [deep_in(fresh(base), "page", n) for n in (33, 254, 300, 960)]
    deep += [deep_in(fresh(base), "referral", 300), deep_in(fresh(base), "extra", 960)]
    events = [first, *HOSTILE.values(), *deep, last]
    response = post(service, "/v1/events", dumps({"events": events}), service.auth())
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(events)
    assert results[0]["status"] == "accepted" and results[-1]["status"] == "accepted"
    assert all(r["status"] == "rejected" for r in results[1:-1])
    reasons = [r["reason"] for r in results[1:-1]]
    assert "internal_error" not in reasons
    assert set(reasons[-len(deep) + 1 :]) == {"too_deep"}, reasons  # 254 and deeper
    assert [r["event"]["event_id"] for r in service.events()] == [
        first["event_id"],
        last["event_id"],
    ]
    letters = assert_replayable(service)
    assert len(letters) == len(events) - 2
    # the deepest payloads were re-serialized as JSON: the very event that was sent
    reserialized = [
        orjson.loads(base64.b64decode(d["payload_base64"]))
        for d in letters
        if d.get("payload_reserialized")
    ]
    ids = {e.get("event_id") for e in reserialized if isinstance(e, dict)}
    assert {e["event_id"] for e in deep[1:]} <= ids


@pytest.mark.parametrize("depth", [255, 300, 600, 961, 1020])
def test_a_deep_event_in_a_small_body_is_rejected_alone_as_json(
    service: Service, depth: int
) -> None:
    """Small bodies skip the per-event size check, so the depth is caught elsewhere."""
    good = fresh(example("page_view", "2.0.0"))
    for field in ("page", "extra", "event_id"):
        bad = deep_in(fresh(example("page_view", "2.0.0")), field, depth)
        response = post(service, "/v1/events", dumps({"events": [bad, good]}), service.auth())
        assert response.status_code == 200, response.text
        verdicts = [r["status"] for r in response.json()["results"]]
        assert verdicts == ["rejected", "accepted"]
    assert len(service.events()) == 3
    for letter in assert_replayable(service):
        assert letter["reason"] in ("too_deep", "schema_violation")


def test_a_deep_event_without_a_key_is_401_not_500(service: Service) -> None:
    body = dumps({"events": [nested(960)]})
    response = post(service, "/v1/events", body, {})
    assert response.status_code == 401
    assert service.dead_letters() == []


def test_a_refused_deep_body_is_one_json_dead_letter(service: Service) -> None:
    """A malformed batch (no events array) whose small body nests 1000 deep."""
    body = dumps({"events": nested(1000)})
    response = post(service, "/v1/events", body, service.auth())
    assert response.status_code == 400 and response.json()["error"] == "malformed_batch"
    [letter] = assert_replayable(service)
    assert letter["reason"] == "malformed_batch"


# -- Segment --------------------------------------------------------------------------------

PAGE = {
    "type": "page",
    "anonymousId": "anon-1",
    "timestamp": "2026-03-14T09:26:53.589Z",
    "context": {"page": {"url": "https://app.promptflow.io/?utm_source=chatgpt.com"}},
}
SIGNUP = {
    "type": "track",
    "event": "Signed Up",
    "userId": "u1",
    "anonymousId": "anon-1",
    "properties": {"method": "email", "plan": "free"},
}


def segment_hostiles() -> list[Any]:
    messages: list[Any] = list(HOSTILE.values())
    for value in LIMIT_TIMESTAMPS:
        for field in ("timestamp", "sentAt", "originalTimestamp", "receivedAt"):
            messages.append({**SIGNUP, "messageId": str(uuid.uuid4()), field: value})
        trial = {
            **SIGNUP,
            "event": "Trial Started",
            "messageId": str(uuid.uuid4()),
            "properties": {"trial_start_date": value, "trial_end_date": "2026-04-01T00:00:00Z"},
        }
        messages.append(trial)
        messages.append({**trial, "properties": {"trial_end_date": value, "trial_length_days": 1}})
    messages.append({**SIGNUP, "properties": nested(960)})
    messages.append({**SIGNUP, "context": nested(300)})
    messages.append({**SIGNUP, "userId": 2**64 - 1, "anonymousId": ["x"]})
    messages.append({**SIGNUP, "type": {"a": 1}})
    messages.append({**PAGE, "context": {"page": {"url": "https://x.io/?" + "a=b&" * 20_000}}})
    return messages


def test_segment_batch_with_hostile_messages_lands_the_valid_ones(service: Service) -> None:
    first = {**PAGE, "messageId": str(uuid.uuid4())}
    last = {**PAGE, "messageId": str(uuid.uuid4())}
    body = dumps({"batch": [first, *segment_hostiles(), last]})
    response = post(service, "/v1/batch", body, service.basic_auth())
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}
    landed = {r["event"]["event_id"] for r in service.events()}
    assert {first["messageId"], last["messageId"]} <= landed
    assert_replayable(service)


@pytest.mark.parametrize("path", ["/v1/track", "/v1/page", "/v1/screen", "/v1/identify"])
def test_segment_single_calls_never_fail_with_5xx(service: Service, path: str) -> None:
    for message in segment_hostiles():
        response = post(service, path, dumps(message), service.basic_auth())
        assert response.status_code in (200, 400), message if len(str(message)) < 300 else ""
        body = response.json()
        assert body["success"] is (response.status_code == 200)
    assert_replayable(service)


@pytest.mark.parametrize("value", LIMIT_TIMESTAMPS[:2])
def test_segment_track_timestamp_at_the_datetime_limits_is_rejected_not_500(
    service: Service, value: str
) -> None:
    """The two requests of the issue: OverflowError (500) before."""
    message = {**SIGNUP, "messageId": str(uuid.uuid4()), "timestamp": value}
    response = post(service, "/v1/track", dumps(message), service.basic_auth())
    assert response.status_code == 200 and response.json() == {"success": True}
    [letter] = service.dead_letters()
    assert letter["reason"] == "adapter_failed"
    assert "out of the representable range" in letter["message"]
    assert letter["payload"]["timestamp"] == value


# -- CRM and logs ---------------------------------------------------------------------------

HUBSPOT = {
    "properties": {
        "email": "maria.keller@example.com",
        "firstname": "Maria",
        "lifecyclestage": "lead",
        "hs_analytics_source": "AI_REFERRALS",
        "hs_analytics_first_url": "https://app.promptflow.io/pricing?utm_source=chatgpt.com",
        "createdate": "2026-03-14T09:35:02.000Z",
        "lastmodifieddate": "2026-03-14T09:35:02.000Z",
    },
    "createdAt": "2026-03-14T09:35:02.000Z",
    "updatedAt": "2026-03-14T09:35:02.000Z",
    "archived": False,
}


def lead(**changes: Any) -> dict[str, Any]:
    item = copy.deepcopy(HUBSPOT)
    item["id"] = str(uuid.uuid4().int)[:12]
    item.update(changes)
    return item


def test_crm_leads_with_hostile_items_land_the_valid_ones(service: Service) -> None:
    items: list[Any] = [lead(), *HOSTILE.values()]
    for value in LIMIT_TIMESTAMPS:
        items.append(lead(createdAt=value, updatedAt=value))
        hostile = lead()
        hostile["properties"].update(createdate=value, lastmodifieddate=value)
        items.append(hostile)
    items.append(lead(properties=nested(300)))
    items.append(lead(id=2**64 - 1))
    items.append(lead())
    response = post(service, "/v1/crm/leads", dumps(items), service.basic_auth())
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(items)
    assert results[0]["status"] == "accepted" and results[-1]["status"] == "accepted"
    assert "internal_error" not in {r.get("reason") for r in results}
    assert {r["gateway"]["origin"] for r in service.events()} == {"crm"}
    assert_replayable(service)


def test_crm_lead_timestamp_at_the_datetime_limits_is_rejected_not_500(service: Service) -> None:
    for value in LIMIT_TIMESTAMPS[:2]:
        item = lead()
        item["properties"].update(createdate=value, lastmodifieddate=value)
        response = post(service, "/v1/crm/leads", dumps(item), service.basic_auth())
        assert response.status_code == 200, response.text
        [result] = response.json()["results"]
        assert result["status"] == "rejected" and result["reason"] == "adapter_failed"


LINE = {
    "timestamp": "2026-03-14T10:05:31.218Z",
    "method": "get",
    "path": "/v1/projects/prj_42/funnels",
    "status": 200,
    "duration_ms": 48.6,
    "user_id": "usr_1",
}


def test_logs_with_hostile_lines_land_the_valid_ones(service: Service) -> None:
    lines: list[bytes] = [dumps({**LINE, "request_id": "req_first"})]
    lines += [dumps(value) for value in HOSTILE.values()]
    for value in LIMIT_TIMESTAMPS:
        lines.append(dumps({**LINE, "request_id": str(uuid.uuid4()), "timestamp": value}))
    for status in ("9" * 5000, "²００", "-1", 2**64 - 1):
        lines.append(dumps({**LINE, "request_id": str(uuid.uuid4()), "status": status}))
    for duration in ("1e400", "nan", "inf", 1.7976931348623157e308, "9" * 5000):
        lines.append(dumps({**LINE, "request_id": str(uuid.uuid4()), "duration_ms": duration}))
    lines.append(json.dumps({**LINE, "request_id": "req_last"}).encode())
    response = httpx.post(
        f"{service.url}/v1/logs",
        content=b"\n".join(lines),
        headers={**service.auth(), "Content-Type": "application/x-ndjson"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results[0]["status"] == "accepted" and results[-1]["status"] == "accepted"
    assert "internal_error" not in {r.get("reason") for r in results}
    assert_replayable(service)
