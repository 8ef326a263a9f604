"""Access-log lines -> api_request."""

from __future__ import annotations

from typing import Any

import pytest

from registry_service.adapters import AdapterError
from registry_service.adapters.logs import map_line, parse_ndjson
from registry_service.model import Producer
from tests.adapters.conftest import NOW
from tests.adapters.contracts import errors

API = Producer("k_api", "backend", "public-api")
LINE = {
    "timestamp": "2026-03-14T10:05:31.218Z",
    "request_id": "req_01HZX4B8D2F6H0K4M8P2R6T0W4",
    "method": "get",
    "path": "/v1/projects/prj_42/funnels",
    "route": "/v1/projects/{project_id}/funnels",
    "status": 200,
    "duration_ms": 48.6,
    "referer": "https://chatgpt.com/",
    "query_string": "range=30d&utm_source=chatgpt.com",
    "user_id": "usr_1",
    "anonymous_id": "anon-1",
    "ip": "2001:db8:85a3::8a2e:370:7334",
    "user_agent": "Mozilla/5.0; compatible; ChatGPT-User/1.0",
}


def line(raw: dict[str, Any]) -> dict[str, Any]:
    event = map_line(raw, producer=API, now=NOW)
    assert errors(event) == [], errors(event)
    return event


def test_every_field() -> None:
    event = line(LINE)
    assert (
        event["schema"],
        event["source"],
        event["producer"]["team"],
        event["producer"]["app"],
    ) == ("api_request/1.0.0", "backend", "api-platform", "public-api")
    assert (
        event["method"],
        event["path"],
        event["route"],
        event["status"],
        event["duration_ms"],
    ) == ("GET", "/v1/projects/prj_42/funnels", "/v1/projects/{project_id}/funnels", 200, 48.6)
    assert event["occurred_at"] == "2026-03-14T10:05:31.218Z" and event["sent_at"] == NOW
    assert event["user"] == {"user_id": "usr_1", "anonymous_id": "anon-1"}
    assert (
        event["referer"] == "https://chatgpt.com/"
        and event["query_string"] == "range=30d&utm_source=chatgpt.com"
    )
    assert event["referral"] == {
        "referrer_url": "https://chatgpt.com/",
        "utm_source": "chatgpt.com",
    }
    assert event["ip"] == LINE["ip"] and event["user_agent"] == LINE["user_agent"]
    assert line(dict(LINE))["event_id"] == event["event_id"]  # re-shipping a line is idempotent


def test_nginx_style_names() -> None:
    raw = {
        "time_local": "14/Mar/2026:11:05:31 +0100",
        "request_method": "POST",
        "request_uri": "/v1/events?x=1&gclid=abc",
        "status": "201",
        "request_time": "0.012",
        "http_referer": "-",
        "remote_addr": "203.0.113.7",
        "http_user_agent": "-",
        "x_request_id": "abcdef0123456789",
    }
    event = line(raw)
    assert (
        event["occurred_at"],
        event["method"],
        event["path"],
        event["query_string"],
        event["status"],
        event["duration_ms"],
    ) == ("2026-03-14T10:05:31.000Z", "POST", "/v1/events", "x=1&gclid=abc", 201, 12.0)
    assert "referer" not in event and "user_agent" not in event and "user" not in event
    assert event["referral"] == {"click_ids": {"gclid": "abc"}}


def test_missing_request_id_is_derived_from_the_line() -> None:
    raw = {k: v for k, v in LINE.items() if k != "request_id"}
    event = line(raw)
    assert (
        event["request_id"].startswith("log_")
        and line(dict(raw))["request_id"] == event["request_id"]
    )


@pytest.mark.parametrize(
    ("drop_or_change", "text"),
    [
        ({"method": None}, "/method: missing"),
        ({"path": None}, "/path: missing"),
        ({"status": None}, "/status: missing"),
        ({"status": "OK"}, "/status: expected an HTTP status code"),
        ({"duration_ms": None}, "/duration_ms: missing"),
        ({"duration_ms": "fast"}, "/duration_ms: 'fast' is not a number"),
        ({"timestamp": None}, "/timestamp: missing"),
        ({"timestamp": "noon"}, "/timestamp: 'noon' is not a timestamp"),
    ],
)
def test_invalid_lines(drop_or_change: dict[str, Any], text: str) -> None:
    raw = {k: v for k, v in {**LINE, **drop_or_change}.items() if v is not None}
    with pytest.raises(AdapterError) as caught:
        map_line(raw, producer=API, now=NOW)
    assert caught.value.reason == "adapter_failed" and text in caught.value.message


def test_not_an_object() -> None:
    with pytest.raises(AdapterError, match="a log line is a JSON object"):
        map_line([1], producer=API, now=NOW)


def test_parse_ndjson_keeps_line_numbers() -> None:
    parsed = parse_ndjson(b'{"a": 1}\n\n  \nnot json\n[2]\n')
    assert [n for n, _, _ in parsed] == [1, 4, 5]
    assert isinstance(parsed[1][1], ValueError) and parsed[1][2] == b"not json"
