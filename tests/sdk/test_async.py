"""AsyncEmitter parity: the same delivery semantics as Emitter on an asyncio loop."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from refract_sdk import AsyncEmitter, Emitter
from refract_sdk.clock import now_ms

from tests.sdk.conftest import FAST, WRITE_KEY, Reports, page_view
from tests.sdk.server import Fault, GatewayServer

pytestmark = pytest.mark.anyio


def async_emitter(gateway: GatewayServer, reports: Reports, **options: Any) -> AsyncEmitter:
    return AsyncEmitter(
        gateway.url,
        WRITE_KEY,
        on_error=reports.on_error,
        on_drop=reports.on_drop,
        **{**FAST, **options},
    )


async def test_delivers_with_retries_and_partial_acceptance(
    gateway: GatewayServer, reports: Reports
) -> None:
    recorder = gateway.recorder
    recorder.script(
        Fault("status", 500), Fault("status", 429, retry_after="0.2"), Fault("drop_before")
    )
    events = [page_view(title="bad" if i % 4 == 0 else f"p{i}") for i in range(40)]
    async with async_emitter(gateway, reports, batch_max_events=100) as em:
        for event in events:
            em.track(event)
        assert await em.flush(timeout=5) == 0
    accepted, _ = recorder.snapshot()
    bad = {e["event_id"] for e in events if e["page"]["title"] == "bad"}
    assert set(accepted) == {e["event_id"] for e in events} - bad
    assert max(accepted.values()) == 1
    assert set(reports.error_ids()) == bad
    assert reports.reasons() == {"schema_violation"}
    assert em.stats.retries == 3


async def test_a_4xx_fails_the_batch(gateway: GatewayServer, reports: Reports) -> None:
    gateway.recorder.script(Fault("status", 400, error="malformed_batch"))
    async with async_emitter(gateway, reports) as em:
        em.track(page_view())
        await em.flush(timeout=5)
    assert reports.reasons() == {"malformed_batch"}


async def test_overflow_and_closed(gateway: GatewayServer, reports: Reports) -> None:
    em = async_emitter(gateway, reports, max_queue_size=2)
    events = [page_view() for _ in range(4)]
    for event in events:
        em.track(event)  # the sender task has not run yet: the queue holds two
    assert [e["event_id"] for e, _ in reports.drops] == [e["event_id"] for e in events[2:]]
    await em.aclose()
    em.track(page_view())
    assert [r for _, r in reports.drops] == ["queue_full", "queue_full", "emitter_closed"]
    assert set(gateway.recorder.snapshot()[0]) == {e["event_id"] for e in events[:2]}


async def test_aclose_is_bounded_and_sends_nothing_afterwards(
    gateway: GatewayServer, reports: Reports
) -> None:
    recorder = gateway.recorder
    recorder.script(*[Fault("status", 503)] * 1000)
    em = async_emitter(gateway, reports, max_retry_time=60)
    em.track(page_view())
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await em.aclose(timeout=0.3)
    closed_at = now_ms()
    assert time.monotonic() - started < 1.0
    await asyncio.sleep(0.2)
    # A request cancelled in flight may still reach a loaded server after aclose() returned;
    # what must not exist is a batch encoded (sent_at is stamped then) after it returned.
    stamps = [r.sent_at for r in recorder.requests]
    assert stamps and all(s is not None and s <= closed_at for s in stamps), (stamps, closed_at)
    assert reports.reasons() == {"undelivered_at_close"}


async def test_spool_written_by_a_thread_emitter_is_replayed_by_an_async_one(
    gateway: GatewayServer, reports: Reports, tmp_path: Path
) -> None:
    gateway.recorder.script(*[Fault("status", 503)] * 1000)
    sync_em = Emitter(gateway.url, WRITE_KEY, spool_dir=tmp_path, **{**FAST, "max_retry_time": 0.2})
    event = page_view()
    sync_em.track(event)
    sync_em.flush(timeout=5)
    sync_em.close()
    assert sync_em.stats.spooled_for_later == 1  # retries exhausted: kept for the next start
    gateway.recorder.reset()
    async with async_emitter(gateway, reports, spool_dir=tmp_path) as em:
        assert await em.flush(timeout=5) == 0
    assert set(gateway.recorder.snapshot()[0]) == {event["event_id"]}
    assert list(tmp_path.iterdir()) == []


def test_block_policy_and_sync_mode_are_refused() -> None:
    with pytest.raises(ValueError, match="block"):
        AsyncEmitter("http://x", "k", overflow="block")
    with pytest.raises(ValueError, match="sync"):
        AsyncEmitter("http://x", "k", sync=True)
