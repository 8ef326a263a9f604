"""Overflow policies, byte limits, strict versus production mode, typed models."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from refract_sdk import (
    Emitter,
    EmitterClosedError,
    EmitterOptions,
    EventTooLargeError,
    InvalidEventError,
    dedup_key_for,
)
from refract_sdk.events import PageView

from tests.sdk.conftest import FAST, WRITE_KEY, Reports, page_view, wait_until
from tests.sdk.server import Fault, GatewayServer


def blocked_emitter(gateway: GatewayServer, reports: Reports, **options: Any) -> Emitter:
    """An emitter whose sender is stuck on a slow request, so the queue fills up."""
    gateway.recorder.script(Fault("slow", seconds=1.0))
    em = Emitter(
        gateway.url,
        WRITE_KEY,
        on_error=reports.on_error,
        on_drop=reports.on_drop,
        **{**FAST, "batch_max_events": 1, **options},
    )
    em.track(page_view(title="first"))
    assert wait_until(lambda: len(em._queue) == 0 and em._in_flight == 1, timeout=3)
    return em


def test_drop_newest_is_the_default_and_counts(gateway: GatewayServer, reports: Reports) -> None:
    em = blocked_emitter(gateway, reports, max_queue_size=3)
    assert em.options.overflow == "drop_newest"
    events = [page_view(title=f"p{i}") for i in range(6)]
    for event in events:
        em.track(event)
    assert [e["event_id"] for e, _ in reports.drops] == [e["event_id"] for e in events[3:]]
    assert {reason for _, reason in reports.drops} == {"queue_full"}
    assert em.stats.dropped == 3
    assert em.flush(timeout=5) == 0
    em.close()
    accepted, _ = gateway.recorder.snapshot()
    assert {e["event_id"] for e in events[:3]} <= set(accepted)


def test_drop_oldest(gateway: GatewayServer, reports: Reports) -> None:
    em = blocked_emitter(gateway, reports, max_queue_size=3, overflow="drop_oldest")
    events = [page_view(title=f"p{i}") for i in range(6)]
    for event in events:
        em.track(event)
    assert [e["event_id"] for e, _ in reports.drops] == [e["event_id"] for e in events[:3]]
    assert em.flush(timeout=5) == 0
    em.close()
    accepted, _ = gateway.recorder.snapshot()
    assert {e["event_id"] for e in events[3:]} <= set(accepted)


def test_block_waits_then_drops(gateway: GatewayServer, reports: Reports) -> None:
    em = blocked_emitter(gateway, reports, max_queue_size=2, overflow="block", block_timeout=0.1)
    em.track(page_view())
    em.track(page_view())
    started = time.monotonic()
    em.track(page_view(title="late"))
    assert 0.09 <= time.monotonic() - started < 0.6
    assert [e["page"]["title"] for e, _ in reports.drops] == ["late"]
    em.close()


def test_block_succeeds_when_the_sender_makes_room(
    gateway: GatewayServer, reports: Reports
) -> None:
    em = blocked_emitter(gateway, reports, max_queue_size=2, overflow="block", block_timeout=5)
    for _ in range(6):
        em.track(page_view())  # blocks until the slow request finishes and the queue drains
    assert not reports.drops
    assert em.flush(timeout=5) == 0
    em.close()
    assert len(gateway.recorder.snapshot()[0]) == 7


def test_oversized_event_production_mode_reports(gateway: GatewayServer, reports: Reports) -> None:
    em = Emitter(
        gateway.url, WRITE_KEY, on_error=reports.on_error, **{**FAST, "max_event_bytes": 2048}
    )
    big = page_view(title="x" * 3000)
    em.track(big)  # never raises in production mode
    em.track(page_view())
    assert em.flush(timeout=5) == 0
    em.close()
    assert reports.reasons() == {"event_too_large"}
    assert "limit is 2048 bytes" in reports.errors[0][2]
    assert len(gateway.recorder.snapshot()[0]) == 1


def test_oversized_event_strict_mode_raises(gateway: GatewayServer) -> None:
    em = Emitter(gateway.url, WRITE_KEY, strict=True, **{**FAST, "max_event_bytes": 1024})
    long_referrer = {"referrer_url": "https://example.com/?q=" + "x" * 1500}
    with pytest.raises(EventTooLargeError) as info:
        em.track(page_view(referral=long_referrer))
    assert info.value.limit == 1024 and info.value.size > 1500
    em.close()


def test_strict_mode_validates_against_the_contract(gateway: GatewayServer) -> None:
    em = Emitter(gateway.url, WRITE_KEY, strict=True, **FAST)
    with pytest.raises(InvalidEventError, match="page"):
        em.track(page_view(page={"url": "not a url", "path": "/"}))
    with pytest.raises(InvalidEventError, match="event_name"):
        em.track({"hello": "world"})
    with pytest.raises(InvalidEventError):
        em.track(42)
    em.track(page_view())  # valid
    assert em.flush(timeout=5) == 0
    em.close()
    with pytest.raises(EmitterClosedError):
        em.track(page_view())


def test_production_mode_never_raises(gateway: GatewayServer, reports: Reports) -> None:
    em = Emitter(gateway.url, WRITE_KEY, on_error=reports.on_error, on_drop=reports.on_drop, **FAST)
    em.track(42)
    em.track({"no": "name"})
    em.track({"event_name": "page_view", "value": object()})
    assert em.flush(timeout=5) == 0
    em.close()
    em.track(page_view())
    assert sorted(r for _, r, _ in reports.errors) == [
        "invalid_event",
        "invalid_event",
        "serialization_error",
    ]
    assert [r for _, r in reports.drops] == ["emitter_closed"]


def test_callback_exceptions_do_not_break_delivery(gateway: GatewayServer) -> None:
    def explode(*_: Any) -> None:
        raise RuntimeError("callback bug")

    em = Emitter(gateway.url, WRITE_KEY, on_error=explode, **FAST)
    em.track(page_view(title="bad"))
    em.track(page_view())
    assert em.flush(timeout=5) == 0
    em.close()
    assert len(gateway.recorder.snapshot()[0]) == 1


def test_typed_model_gets_stamped_and_keeps_its_event_id(gateway: GatewayServer) -> None:
    gateway.recorder.script(Fault("status", 500))
    em = Emitter(gateway.url, WRITE_KEY, strict=True, **FAST)
    model = PageView(
        user={"anonymous_id": "anon-1"},
        device={"type": "desktop"},
        page={
            "view_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "url": "https://app.promptflow.io/",
            "path": "/",
        },
    )
    em.track(model)
    assert em.flush(timeout=5) == 0
    em.close()
    received = gateway.recorder.events[model.event_id]
    assert received["producer"]["team"] == "web-platform"
    assert received["dedup_key"] == dedup_key_for(
        "page_view",
        {"page": {"view_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}},
        ["/page/view_id"],
    )
    assert received["schema"] == "page_view/2.0.0"
    assert model.sent_at is None  # the caller's model is not mutated


def test_tracking_from_many_threads(gateway: GatewayServer, reports: Reports) -> None:
    em = Emitter(gateway.url, WRITE_KEY, on_error=reports.on_error, **FAST)
    ids: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(200):
            event = page_view()
            with lock:
                ids.append(event["event_id"])
            em.track(event)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert em.flush(timeout=10) == 0
    em.close()
    accepted, _ = gateway.recorder.snapshot()
    assert set(accepted) == set(ids) and max(accepted.values()) == 1


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="overflow"):
        EmitterOptions(overflow="drop_everything")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_max_bytes"):
        EmitterOptions(batch_max_bytes=1000, max_event_bytes=1000)
    with pytest.raises(TypeError):
        Emitter("http://x", "k", no_such_option=1)


def test_the_model_fast_path_serializes_like_the_general_path() -> None:
    import json

    from refract_sdk.prepare import Preparer

    preparer = Preparer(EmitterOptions(team="web-platform", app="promptflow-web"))
    model = PageView.example()
    model.producer = None
    model.sent_at = "2026-03-14T09:26:53.802Z"  # never part of the prepared bytes
    fast = preparer.prepare(model, time.time())
    general = preparer.payload(model, time.time())
    assert json.loads(fast.body) == general
    assert "sent_at" not in general and general["dedup_key"] and general["producer"]
