"""The adapters' routes through the real app: Segment shapes, auth, gzip, dead letters."""

from __future__ import annotations

import gzip
import json
from typing import Any

from tests.adapters.conftest import Service
from tests.adapters.test_crm import HUBSPOT_V3
from tests.adapters.test_logs import LINE

PAGE = {
    "type": "page",
    "messageId": "6f1c2b7e-3d4a-4f8b-9c1d-2e3f4a5b6c7d",
    "anonymousId": "anon-1",
    "timestamp": "2026-03-14T09:26:53.589Z",
    "context": {
        "page": {
            "url": "https://app.promptflow.io/?utm_source=chatgpt.com",
            "referrer": "https://www.google.com/",
        }
    },
}


def post(
    service: Service, path: str, body: Any, headers: dict[str, str], *, gzipped: bool = False
) -> Any:
    data = json.dumps(body).encode()
    extra = {"Content-Type": "application/json"}
    if gzipped:
        data, extra["Content-Encoding"] = gzip.compress(data), "gzip"
    return service.client.post(path, content=data, headers={**headers, **extra})


def test_segment_batch_gzip_partial_success(service: Service) -> None:
    body = {
        "batch": [
            PAGE,
            {"type": "track", "event": "Button Clicked", "userId": "u1"},
            {"type": "group", "userId": "u1"},
        ]
    }
    response = post(service, "/v1/batch", body, service.basic(), gzipped=True)
    assert response.status_code == 200 and response.json() == {"success": True}
    [record] = service.events()
    event = record["event"]
    assert event["event_id"] == PAGE["messageId"] and record["gateway"]["origin"] == "segment"
    assert event["referral"]["classification"] == {
        "channel": "ai_assistant",
        "ai_platform": "chatgpt",
        "method": "utm",
        "conflict": True,
    }
    letters = service.dead_letters()
    assert [d["reason"] for d in letters] == ["unmapped_event", "unmapped_event"]
    assert letters[0]["payload"] == body["batch"][1] and letters[0]["origin"] == "segment"
    assert letters[0]["producer"]["name"] == "promptflow-web"


def test_segment_single_calls(service: Service) -> None:
    page = {k: v for k, v in PAGE.items() if k != "type"}
    assert post(service, "/v1/page", page, service.basic()).json() == {"success": True}
    identify = {"userId": "u1", "anonymousId": "anon-1", "traits": {"email": "a@example.com"}}
    assert post(service, "/v1/identify", identify, service.basic()).status_code == 200
    screen = {"userId": "u1", "name": "Home", "context": {"sessionId": "s1"}}
    assert post(service, "/v1/screen", screen, service.basic()).status_code == 200
    track = {
        "userId": "u1",
        "event": "Signed Up",
        "properties": {"method": "email", "plan": "free"},
    }
    assert post(service, "/v1/track", track, service.basic()).status_code == 200
    names = sorted(r["event"]["event_name"] for r in service.events())
    assert names == ["identify", "page_view", "screen_view", "signup"]


def test_schema_violations_after_mapping_are_dead_letters_with_the_validator_message(
    service: Service,
) -> None:
    # identify needs both ids: the adapter maps it, the gateway's validation refuses it
    assert post(service, "/v1/identify", {"userId": "u1"}, service.basic()).json() == {
        "success": True
    }
    [letter] = service.dead_letters()
    assert letter["reason"] == "schema_violation" and "anonymous_id" in letter["message"]
    assert service.events() == []


def test_segment_bad_write_key_is_401_in_segment_shape_and_writes_nothing(
    service: Service,
) -> None:
    response = post(
        service, "/v1/track", {"event": "Signed Up", "userId": "u1"}, service.basic("rfk_nope_nope")
    )
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "code": "unauthorized",
        "message": "unknown or revoked write key",
    }
    missing = post(service, "/v1/batch", {"batch": []}, {})
    assert missing.status_code == 401 and missing.json()["success"] is False
    # refused before the body is read: an unauthenticated request leaves no record anywhere
    assert service.dead_letters() == [] and service.events() == []


def test_segment_invalid_json_is_400(service: Service) -> None:
    response = service.client.post(
        "/v1/batch",
        content=b"{not json",
        headers={**service.basic(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert (
        body["success"] is False
        and body["code"] == "malformed_json"
        and "not JSON" in body["message"]
    )
    [letter] = service.dead_letters()
    assert letter["reason"] == "malformed_json" and "payload_base64" in letter


def test_segment_batch_shape_and_broken_gzip(service: Service) -> None:
    response = post(service, "/v1/batch", {"events": []}, service.basic())
    assert response.status_code == 400 and response.json()["code"] == "malformed_batch"
    broken = service.client.post(
        "/v1/batch",
        content=b"\x1f\x8bnot gzip",
        headers={**service.basic(), "Content-Encoding": "gzip"},
    )
    assert broken.status_code == 400 and broken.json()["success"] is False
    assert len(service.dead_letters()) == 2


def test_segment_too_large_is_400(service: Service) -> None:
    big = {"batch": [PAGE] * 5000}
    response = post(service, "/v1/batch", big, service.basic())
    assert response.status_code == 400 and response.json()["code"] == "payload_too_large"
    assert service.dead_letters()[0]["reason"] == "payload_too_large"


def test_bearer_write_key_works_for_segment_too(service: Service) -> None:
    assert (
        post(service, "/v1/page", PAGE, {"Authorization": f"Bearer {service.key}"}).status_code
        == 200
    )


def test_crm_leads(service: Service) -> None:
    body = [HUBSPOT_V3, {"id": "x", "properties": {}}]
    response = post(service, "/v1/crm/leads", body, service.bearer())
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["reason"] == "adapter_failed" and "creation time" in results[1]["message"]
    [record] = service.events()
    assert record["event"]["event_name"] == "lead_created" and record["gateway"]["origin"] == "crm"
    assert record["event"]["referral"]["classification"]["ai_platform"] == "chatgpt"
    assert (
        record["event"]["email"] != "maria.keller@example.com"
    )  # direct PII is hashed by the gateway
    [letter] = service.dead_letters()
    assert letter["payload"] == body[1] and letter["origin"] == "crm"


def test_crm_needs_a_key(service: Service) -> None:
    response = post(service, "/v1/crm/leads", HUBSPOT_V3, {})
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


def test_logs_ndjson(service: Service) -> None:
    lines = [json.dumps(LINE), "", "{broken", json.dumps({**LINE, "status": "OK"})]
    data = gzip.compress("\n".join(lines).encode())
    response = service.client.post(
        "/v1/logs",
        content=data,
        headers={
            **service.bearer(),
            "Content-Encoding": "gzip",
            "Content-Type": "application/x-ndjson",
        },
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["line"], r["status"], r.get("reason")) for r in results] == [
        (1, "accepted", None),
        (3, "rejected", "malformed_json"),
        (4, "rejected", "adapter_failed"),
    ]
    [record] = service.events()
    assert record["event"]["event_name"] == "api_request" and record["gateway"]["origin"] == "logs"
    assert record["event"]["referral"]["classification"]["ai_platform"] == "chatgpt"
    letters = service.dead_letters()
    assert [d["reason"] for d in letters] == ["malformed_json", "adapter_failed"]
    assert "payload_base64" in letters[0] and letters[1]["payload"]["status"] == "OK"


def test_retried_segment_message_is_one_event_id(service: Service) -> None:
    for _ in range(2):
        assert post(service, "/v1/page", PAGE, service.basic()).status_code == 200
    ids = {r["event"]["event_id"] for r in service.events()}
    assert ids == {PAGE["messageId"]}


SIGNUP = {"properties": {"method": "email", "plan": "free"}}


def test_segment_write_key_in_the_body_without_a_header(service: Service) -> None:
    track = {"writeKey": service.key, "userId": "u1", "event": "Signed Up", **SIGNUP}
    response = post(service, "/v1/track", track, {})
    assert response.status_code == 200 and response.json() == {"success": True}
    batch = {"writeKey": service.key, "batch": [PAGE, {"type": "group", "userId": "u1"}]}
    assert post(service, "/v1/batch", batch, {}, gzipped=True).json() == {"success": True}
    records = service.events()
    assert sorted(r["event"]["event_name"] for r in records) == ["page_view", "signup"]
    assert {r["gateway"]["origin"] for r in records} == {"segment"}
    [letter] = service.dead_letters()
    assert letter["reason"] == "unmapped_event"
    assert letter["producer"]["name"] == "promptflow-web"
    # the key is transport, not payload: no stream record carries it
    unmapped = {"writeKey": service.key, "userId": "u1", "event": "Button Clicked"}
    assert post(service, "/v1/track", unmapped, {}).status_code == 200
    assert service.key not in json.dumps(service.dead_letters())
    assert service.key not in json.dumps(service.events())


def test_segment_authorization_header_beats_the_body_write_key(service: Service) -> None:
    track = {"writeKey": "rfk_nope_nope", "userId": "u1", "event": "Signed Up", **SIGNUP}
    assert post(service, "/v1/track", track, service.basic()).status_code == 200
    assert [r["event"]["event_name"] for r in service.events()] == ["signup"]
    # a valid body key does not rescue a bad header
    good_body = {"writeKey": service.key, "userId": "u2", "event": "Signed Up", **SIGNUP}
    refused = post(service, "/v1/track", good_body, service.basic("rfk_nope_nope"))
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    assert len(service.events()) == 1


def test_segment_unknown_body_write_key_is_401_and_writes_nothing(service: Service) -> None:
    track = {"writeKey": "rfk_nope_nope", "userId": "u1", "event": "Signed Up", **SIGNUP}
    response = post(service, "/v1/track", track, {})
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "code": "unauthorized",
        "message": "unknown or revoked write key",
    }
    batch = {"writeKey": "rfk_nope_nope", "batch": [PAGE]}
    assert post(service, "/v1/b", batch, {}).status_code == 401
    not_a_key = post(service, "/v1/t", {"writeKey": 42, "userId": "u1"}, {})
    assert not_a_key.status_code == 401 and "missing write key" in not_a_key.json()["message"]
    assert service.dead_letters() == [] and service.events() == []


def test_segment_body_key_request_keeps_the_body_limits_and_json_checks(
    service: Service,
) -> None:
    big = {"writeKey": service.key, "batch": [PAGE] * 5000}
    response = post(service, "/v1/batch", big, {})
    assert response.status_code == 400 and response.json()["code"] == "payload_too_large"
    broken = service.client.post(
        "/v1/t", content=b'{"writeKey": "k", not json', headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["code"] == "malformed_json"
    # a body without any writeKey is refused as unauthenticated before it is parsed
    keyless = service.client.post(
        "/v1/t", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert keyless.status_code == 401 and keyless.json()["code"] == "unauthorized"
    # without a header the producer is unknown until the body was read and parsed: a body
    # refused before that is unauthenticated, so nothing is recorded
    assert service.dead_letters() == [] and service.events() == []


def test_segment_short_paths_of_analytics_js(service: Service) -> None:
    page = {k: v for k, v in PAGE.items() if k != "type"}
    track = {"userId": "u1", "event": "Signed Up", **SIGNUP}
    identify = {"userId": "u1", "anonymousId": "anon-1", "traits": {"email": "a@example.com"}}
    screen = {"userId": "u1", "name": "Home", "context": {"sessionId": "s1"}}
    trial = {
        "type": "track",
        "userId": "u1",
        "event": "Trial Started",
        "properties": {
            "trial_id": "trl_ABCDEFGH12",
            "trial_plan_name": "Growth",
            "trial_start_date": "2026-03-14T00:00:00Z",
            "trial_end_date": "2026-03-28T00:00:00Z",
        },
    }
    for path, body in (
        ("/v1/p", page),
        ("/v1/t", track),
        ("/v1/i", identify),
        ("/v1/s", screen),
        ("/v1/b", {"batch": [trial]}),
    ):
        response = post(service, path, {**body, "writeKey": service.key}, {})
        assert response.status_code == 200 and response.json() == {"success": True}, path
    names = sorted(r["event"]["event_name"] for r in service.events())
    assert names == ["identify", "page_view", "screen_view", "signup", "trial_started"]
    assert service.dead_letters() == []
    assert post(service, "/v1/t", track, service.basic()).status_code == 200
