"""The gateway over HTTP: uvicorn on an ephemeral port, httpx and the real refract_sdk Emitter.

The bad-input matrix sends every kind of broken request and checks three things for each: the
status, the ``{"error", "message"}`` body, and the dead letter (reason, payload, producer): one
per refused request from a producer, so that what it sent is kept, and none for a request
without a valid key, which is refused before its body is read.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from refract_sdk import Emitter

from tests.gateway.conftest import HAS_ADAPTERS, Service, example

LIMITS = {
    "max_body_bytes": 40_000,
    "max_decompressed_bytes": 80_000,
    "max_event_bytes": 4_000,
    "max_batch_events": 20,
    "dead_letter_payload_cap": 2_000,
}


@pytest.fixture
def small(tmp_path: Path, registry_template: Path) -> Iterator[Service]:
    """A served installation with small limits, so the matrix stays fast."""
    service = Service(tmp_path / "small", registry_template, **LIMITS).serve()  # type: ignore[arg-type]
    yield service
    service.close()


def batch(*events: dict[str, Any]) -> dict[str, Any]:
    return {"sent_at": "2026-03-14T09:26:53.802Z", "events": list(events)}


def post(service: Service, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    sent = {"Content-Type": "application/json", **service.auth(), **(headers or {})}
    return httpx.post(f"{service.url}/v1/events", content=body, headers=sent, timeout=10)


def test_a_gzip_batch_is_accepted_and_lands_in_the_stream(service: Service) -> None:
    events = [
        example("page_view", "2.0.0"),
        example("page_view", "1.0.0"),
        example("signup", "1.0.0"),
    ]
    body = gzip.compress(json.dumps(batch(*events)).encode())
    response = post(service, body, {"Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "results": [{"event_id": e["event_id"], "status": "accepted"} for e in events]
    }
    stored = service.events()
    assert [r["event"]["event_id"] for r in stored] == [e["event_id"] for e in events]
    assert [r["gateway"]["upcast_from"] for r in stored] == [
        None,
        "page_view/1.0.0",
        "signup/1.0.0",
    ]


def test_the_sdk_emitter_delivers_end_to_end(service: Service) -> None:
    errors: list[tuple[Any, str, str]] = []
    lock = threading.Lock()

    def on_error(event: Any, reason: str, message: str) -> None:
        with lock:
            errors.append((event, reason, message))

    # team/app set: the emitter stamps producer only into versions that declare it
    # (page_view 1.x has no producer field, so legacy events go out as they are).
    emitter = Emitter(
        service.url,
        service.write_key,
        flush_interval=0.05,
        on_error=on_error,
        team="web-platform",
        app="promptflow-web",
    )
    sent = []
    for i in range(50):
        event = example("page_view", "2.0.0")
        event["event_id"] = str(uuid.uuid4())
        event["page"]["view_id"] = str(uuid.uuid4())
        event.pop("dedup_key", None)
        event.pop("producer", None)
        if i % 5 == 0:
            event = example("page_view", "1.1.0")
            event["event_id"] = str(uuid.uuid4())
        sent.append(event)
        emitter.track(event)
    invalid = example("page_view", "2.0.0")
    invalid["event_id"] = str(uuid.uuid4())
    invalid["page"]["url"] = "not a url"
    invalid.pop("dedup_key", None)
    emitter.track(invalid)
    assert emitter.flush(timeout=20) == 0
    emitter.close()
    stored = service.events()
    assert sorted(r["event"]["event_id"] for r in stored) == sorted(e["event_id"] for e in sent)
    assert all(r["event"]["schema"] == "page_view/2.0.0" for r in stored)
    assert all("classification" in r["event"]["referral"] for r in stored)
    # The SDK's own dedup keys were verified (a mismatch would have been rejected).
    assert all(r["event"]["dedup_key"] for r in stored if r["gateway"]["upcast_from"] is None)
    native = [r["event"] for r in stored if r["gateway"]["upcast_from"] is None]
    assert native and all(e["producer"]["team"] == "web-platform" for e in native)
    assert [(e[1], e[0]["event_id"]) for e in errors] == [("schema_violation", invalid["event_id"])]
    assert "/page/url" in errors[0][2]
    [letter] = service.dead_letters()
    assert letter["reason"] == "schema_violation"
    assert letter["payload"]["event_id"] == invalid["event_id"]
    assert letter["producer"]["key_id"] == service.key_id


def _chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _bomb() -> bytes:
    return gzip.compress(b" " * 5_000_000, compresslevel=9)  # ~5 KB that expands to 5 MB


GOOD = json.dumps(batch(example("page_view", "2.0.0"))).encode()
BIG = json.dumps(batch(*[example("page_view", "2.0.0") for _ in range(30)])).encode()

MATRIX: list[tuple[str, dict[str, Any], int, str]] = [
    ("malformed-json", {"body": b'{"events": [', "headers": {}}, 400, "malformed_json"),
    ("not-a-batch", {"body": b"[1, 2]", "headers": {}}, 400, "malformed_batch"),
    ("events-not-array", {"body": b'{"events": 3}', "headers": {}}, 400, "malformed_batch"),
    (
        "text-plain",
        {"body": GOOD, "headers": {"Content-Type": "text/plain"}},
        415,
        "unsupported_content_type",
    ),
    (
        "form",
        {"body": GOOD, "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        415,
        "unsupported_content_type",
    ),
    ("brotli", {"body": GOOD, "headers": {"Content-Encoding": "br"}}, 415, "unsupported_encoding"),
    (
        "broken-gzip",
        {"body": b"\x1f\x8b\x08\x00garbage", "headers": {"Content-Encoding": "gzip"}},
        400,
        "malformed_json",
    ),
    ("content-length-too-big", {"body": b"x" * 50_000, "headers": {}}, 413, "payload_too_large"),
    (
        "chunked-too-big",
        {"stream": b'{"events": [' + b" " * 60_000, "headers": {}},
        413,
        "payload_too_large",
    ),
    (
        "zip-bomb",
        {"body": _bomb(), "headers": {"Content-Encoding": "gzip"}},
        413,
        "payload_too_large",
    ),
    (
        "decompressed-too-big",
        {"body": gzip.compress(BIG * 3), "headers": {"Content-Encoding": "gzip"}},
        413,
        "payload_too_large",
    ),
    (
        "too-many-events",
        {"body": json.dumps(batch(*[example("app_open", "1.0.0")] * 21)).encode(), "headers": {}},
        413,
        "batch_too_large",
    ),
    ("missing-key", {"body": GOOD, "headers": {"Authorization": ""}}, 401, "unauthorized"),
    (
        "bad-key",
        {"body": GOOD, "headers": {"Authorization": "Bearer rfk_0000000000000000_nope"}},
        401,
        "unauthorized",
    ),
    (
        "basic-not-bearer",
        {"body": GOOD, "headers": {"Authorization": "Basic Zm9vOg=="}},
        401,
        "unauthorized",
    ),
]


@pytest.mark.parametrize(
    ("case", "request_", "status", "reason"), MATRIX, ids=[m[0] for m in MATRIX]
)
def test_bad_input_matrix(
    small: Service, case: str, request_: dict[str, Any], status: int, reason: str
) -> None:
    headers = {"Content-Type": "application/json", **small.auth(), **request_["headers"]}
    headers = {k: v for k, v in headers.items() if v}
    if "stream" in request_:
        content: Any = _chunks(request_["stream"])
    else:
        content = request_["body"]
    response = httpx.post(f"{small.url}/v1/events", content=content, headers=headers, timeout=10)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == reason
    assert body["message"]
    letters = small.dead_letters()
    assert small.events() == []
    if reason == "unauthorized":
        # refused before the body is read: an unauthenticated request writes nothing
        assert letters == []
        return
    assert len(letters) == 1, "a refused request from a producer leaves exactly one dead letter"
    for letter in letters:
        assert letter["reason"] == reason
        assert letter["message"] == body["message"]
        assert letter["origin"] == "sdk"
        assert letter["producer"]["key_id"] == small.key_id
        assert ("payload" in letter) != ("payload_base64" in letter)
    if case == "too-many-events":
        kept = base64.b64decode(letters[0]["payload_base64"])
        assert kept == content[: LIMITS["dead_letter_payload_cap"]]
        assert letters[0]["payload_bytes"] == len(content)
    if case == "malformed-json":
        assert base64.b64decode(letters[0]["payload_base64"]) == b'{"events": ['
    if case in ("content-length-too-big", "chunked-too-big", "zip-bomb"):
        [letter] = letters
        kept = base64.b64decode(letter["payload_base64"])
        assert 0 < len(kept) <= LIMITS["dead_letter_payload_cap"]
    assert small.events() == []


def test_an_oversize_event_is_rejected_alone(small: Service) -> None:
    big = example("page_view", "2.0.0")
    big["event_id"] = str(uuid.uuid4())
    big["referral"]["referrer_url"] = "https://chatgpt.com/" + "x" * 2000
    big["page"]["url"] = "https://app.promptflow.io/" + "y" * 2000
    big["device"]["user_agent"] = "z" * 1000
    good = example("page_view", "2.0.0")
    response = post(small, json.dumps(batch(big, good)).encode())
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "accepted"]
    assert results[0]["reason"] == "event_too_large"
    [letter] = small.dead_letters()
    assert letter["reason"] == "event_too_large"
    assert letter["payload"]["event_id"] == big["event_id"]


def test_a_stream_outage_answers_503_with_retry_after(service: Service) -> None:
    service.gateway.events_sink.close()
    response = post(service, json.dumps(batch(example("page_view", "2.0.0"))).encode())
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"] == "sink_unavailable"


def test_a_dead_letter_outage_turns_a_refusal_into_503(service: Service) -> None:
    service.gateway.dead_letter_sink.close()
    response = post(service, b"not json")
    assert response.status_code == 503, "a 4xx would tell the client to drop what we failed to keep"
    assert response.json()["error"] == "sink_unavailable"


def test_health_readiness_metrics_and_docs(service: Service) -> None:
    assert httpx.get(f"{service.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{service.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    post(service, json.dumps(batch(example("page_view", "2.0.0"), {"schema": "x/1.0.0"})).encode())
    metrics = httpx.get(f"{service.url}/metrics").text
    assert (
        'refract_gateway_events_accepted_total{origin="sdk",producer="web-platform"} 1.0' in metrics
    )
    assert (
        'refract_gateway_events_rejected_total{producer="web-platform",reason="unknown_contract"} 1.0'
        in metrics
    )
    assert (
        'refract_gateway_classifications_total{ai_platform="chatgpt",channel="ai_assistant"} 1.0'
        in metrics
    )
    assert 'refract_gateway_sink_latency_seconds_count{stream="events"} 1.0' in metrics
    assert 'refract_gateway_batch_events_count{origin="sdk"} 1.0' in metrics
    assert httpx.get(f"{service.url}/docs").status_code == 200
    paths = httpx.get(f"{service.url}/openapi.json").json()["paths"]
    assert "/v1/events" in paths and "/healthz" in paths and "/metrics" in paths
    assert any(p.startswith("/subjects") for p in paths), "the registry API is mounted"
    if HAS_ADAPTERS:
        assert "/v1/batch" in paths, "the Segment adapter is mounted"


def test_readiness_fails_when_the_registry_is_gone(service: Service) -> None:
    # The database file becomes a directory: SQLite cannot open it any more.
    service.registry.store.close()
    db = service.data_dir / "registry.db"
    for item in service.data_dir.glob("registry.db*"):
        item.rename(item.with_name("moved-" + item.name))
    db.mkdir()
    ready = httpx.get(f"{service.url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["registry"].startswith("unavailable")


def test_cors_only_for_configured_origins(tmp_path: Path, registry_template: Path) -> None:
    service = Service(
        tmp_path / "cors", registry_template, cors_origins=("https://app.promptflow.io",)
    ).serve()
    try:

        def preflight(origin: str) -> httpx.Response:
            return httpx.options(
                f"{service.url}/v1/events",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type",
                },
            )

        allowed = preflight("https://app.promptflow.io")
        assert allowed.headers.get("access-control-allow-origin") == "https://app.promptflow.io"
        refused = preflight("https://evil.example")
        assert "access-control-allow-origin" not in refused.headers
    finally:
        service.close()
    # Without configured origins there is no CORS at all.
    plain = Service(tmp_path / "plain", registry_template).serve()
    try:
        response = httpx.get(
            f"{plain.url}/healthz", headers={"Origin": "https://app.promptflow.io"}
        )
        assert "access-control-allow-origin" not in response.headers
    finally:
        plain.close()


def test_request_logs_are_json_without_personal_data(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    from registry_service.gateway.logs import JsonFormatter

    identify = example("identify", "1.0.0")
    with caplog.at_level(logging.INFO, logger="refract.requests"):
        logging.getLogger("refract.requests").propagate = True
        try:
            post(service, json.dumps(batch(identify)).encode())
        finally:
            logging.getLogger("refract.requests").propagate = False
    records = [r for r in caplog.records if r.name == "refract.requests"]
    assert records
    line = JsonFormatter().format(records[-1])
    fields = orjson.loads(line)
    assert fields["msg"] == "request"
    assert fields["path"] == "/v1/events"
    assert fields["status"] == 200
    assert fields["events"] == 1 and fields["accepted"] == 1
    assert fields["key_id"] == service.key_id
    assert "maria.keller" not in line and "203.0.113" not in line and "127.0.0.1" not in line
