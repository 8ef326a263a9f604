"""Delivery against a real HTTP server under faults: every event is delivered exactly once by
event_id or reported through on_error, and nothing is sent after close()."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import pytest
from refract_sdk import Emitter
from refract_sdk.clock import now_ms

from tests.sdk.conftest import FAST, WRITE_KEY, Reports, page_view, wait_until
from tests.sdk.server import Fault, GatewayServer, Recorder


def emitter(gateway: GatewayServer, reports: Reports, **options: Any) -> Emitter:
    merged = {**FAST, **options}
    return Emitter(
        gateway.url, WRITE_KEY, on_error=reports.on_error, on_drop=reports.on_drop, **merged
    )


def track_all(em: Emitter, count: int, bad_every: int = 0) -> list[dict[str, Any]]:
    events = []
    for i in range(count):
        bad = bad_every and i % bad_every == 0
        event = page_view(title="bad" if bad else f"page {i}")
        events.append(event)
        em.track(event)
    return events


def assert_exactly_once_or_reported(
    events: list[dict[str, Any]], recorder: Recorder, reports: Reports, *, wire_duplicates: bool
) -> None:
    """Accepted and reported ids partition the tracked ids; accepted at most once unless the
    fault let the server process a batch whose response the client never saw."""
    tracked = {e["event_id"] for e in events}
    accepted, _ = recorder.snapshot()
    reported = reports.error_ids()
    assert len(reported) == len(set(reported)), "an event was reported twice"
    assert set(accepted) | set(reported) == tracked
    assert not set(accepted) & set(reported), "an event was both delivered and reported"
    if not wire_duplicates:
        assert max(accepted.values(), default=1) == 1, "an event was accepted twice"


def test_happy_path_batches_gzip_and_stamps(gateway: GatewayServer, reports: Reports) -> None:
    em = emitter(gateway, reports, batch_max_events=10)
    events = track_all(em, 35)
    assert em.flush(timeout=5) == 0
    em.close()
    recorder = gateway.recorder
    assert_exactly_once_or_reported(events, recorder, reports, wire_duplicates=False)
    assert not reports.errors
    sizes = [len(r.event_ids) for r in recorder.requests]
    assert max(sizes) <= 10 and sum(sizes) == 35
    sample = recorder.events[events[0]["event_id"]]
    assert sample["producer"] == {
        "team": "web-platform",
        "app": "promptflow-web",
        "sdk": {"name": "refract-python", "version": sample["producer"]["sdk"]["version"]},
    }
    request = recorder.requests[0]
    assert sample["sent_at"] == request.sent_at  # every event carries its batch's sent_at
    assert len(sample["dedup_key"]) == 36
    assert sample["occurred_at"] == "2026-03-14T09:26:53.589Z"  # the caller's is kept
    assert em.stats.delivered == 35


def test_batches_by_bytes(gateway: GatewayServer, reports: Reports) -> None:
    em = emitter(gateway, reports, batch_max_bytes=40 * 1024, max_event_bytes=8 * 1024)
    events = [page_view(title="x" * 4000) for _ in range(30)]
    for event in events:
        em.track(event)
    assert em.flush(timeout=5) == 0
    em.close()
    per_request = [len(r.event_ids) for r in gateway.recorder.requests]
    assert sum(per_request) == 30
    assert max(per_request) <= 10  # ~4.4 kB each: at most 9 fit into 40 kB
    assert len(per_request) >= 3


def test_interval_sends_a_partial_batch(gateway: GatewayServer, reports: Reports) -> None:
    em = emitter(gateway, reports, flush_interval=0.2, batch_max_events=100)
    em.track(page_view())
    assert wait_until(lambda: len(gateway.recorder.accepted) == 1, timeout=3)
    em.close()


@pytest.mark.parametrize("failures", [1, 3])
def test_500s_are_retried_with_the_same_event_ids(
    gateway: GatewayServer, reports: Reports, failures: int
) -> None:
    recorder = gateway.recorder
    recorder.script(*[Fault("status", 500)] * failures)
    em = emitter(gateway, reports, batch_max_events=50)
    events = track_all(em, 20)
    assert em.flush(timeout=5) == 0
    em.close()
    assert_exactly_once_or_reported(events, recorder, reports, wire_duplicates=False)
    assert not reports.errors
    assert em.stats.retries == failures


def test_429_honours_retry_after(gateway: GatewayServer, reports: Reports) -> None:
    recorder = gateway.recorder
    recorder.script(Fault("status", 429, retry_after="1", error="rate_limited"))
    em = emitter(gateway, reports)
    events = track_all(em, 5)
    assert em.flush(timeout=5) == 0
    em.close()
    assert_exactly_once_or_reported(events, recorder, reports, wire_duplicates=False)
    first, second = recorder.requests[0], recorder.requests[1]
    assert first.status == 429
    assert second.at - first.at >= 0.95  # jittered backoff alone would be <= 0.05 s


def test_retry_after_beyond_the_budget_reports_retries_exhausted(
    gateway: GatewayServer, reports: Reports
) -> None:
    gateway.recorder.script(Fault("status", 503, retry_after="30"))
    em = emitter(gateway, reports, max_retry_time=1.0)
    events = track_all(em, 3)
    started = time.monotonic()
    assert em.flush(timeout=5) == 0
    assert time.monotonic() - started < 2  # gave up at once: waiting 30 s exceeds the budget
    em.close()
    assert reports.reasons() == {"retries_exhausted"}
    assert_exactly_once_or_reported(events, gateway.recorder, reports, wire_duplicates=False)


def test_slow_responses_time_out_and_are_retried(gateway: GatewayServer, reports: Reports) -> None:
    recorder = gateway.recorder
    recorder.script(Fault("slow", seconds=1.0))
    em = emitter(gateway, reports, request_timeout=0.3)
    events = track_all(em, 10)
    assert em.flush(timeout=6) == 0
    em.close()
    # The slow request was processed after the client gave up: the repeat carries the same
    # event ids, so the gateway deduplicates it by event_id.
    assert_exactly_once_or_reported(events, recorder, reports, wire_duplicates=True)
    assert not reports.errors
    assert wait_until(lambda: all(n == 2 for n in recorder.snapshot()[0].values()), timeout=3)


@pytest.mark.parametrize("kind", ["drop_before", "drop_after"])
def test_dropped_connections_are_retried(
    gateway: GatewayServer, reports: Reports, kind: str
) -> None:
    recorder = gateway.recorder
    recorder.script(Fault(kind))
    em = emitter(gateway, reports)
    events = track_all(em, 10)
    assert em.flush(timeout=5) == 0
    em.close()
    assert_exactly_once_or_reported(events, recorder, reports, wire_duplicates=kind == "drop_after")
    assert not reports.errors
    assert em.stats.retries == 1


def test_partial_acceptance_reports_only_rejected_events(
    gateway: GatewayServer, reports: Reports
) -> None:
    em = emitter(gateway, reports)
    events = track_all(em, 30, bad_every=5)
    assert em.flush(timeout=5) == 0
    em.close()
    assert_exactly_once_or_reported(events, gateway.recorder, reports, wire_duplicates=False)
    assert len(reports.errors) == 6
    assert reports.reasons() == {"schema_violation"}
    assert all(message == "/page/title: 'bad' is not allowed" for _, _, message in reports.errors)
    assert em.stats.delivered == 24 and em.stats.rejected == 6


def test_a_4xx_fails_the_whole_batch_without_retry(
    gateway: GatewayServer, reports: Reports
) -> None:
    recorder = gateway.recorder
    recorder.script(Fault("status", 400, error="malformed_batch"))
    em = emitter(gateway, reports, batch_max_events=100)
    events = track_all(em, 8)
    assert em.flush(timeout=5) == 0
    em.close()
    assert_exactly_once_or_reported(events, recorder, reports, wire_duplicates=False)
    assert reports.reasons() == {"malformed_batch"}
    assert len(reports.errors) == 8
    assert [r.status for r in recorder.requests] == [400]
    assert em.stats.retries == 0


def test_wrong_write_key_is_reported_not_retried(gateway: GatewayServer, reports: Reports) -> None:
    em = Emitter(gateway.url, "wrong", on_error=reports.on_error, **FAST)
    em.track(page_view())
    assert em.flush(timeout=5) == 0
    em.close()
    assert reports.reasons() == {"unauthorized"}


def test_endpoint_down_reports_retries_exhausted(reports: Reports) -> None:
    em = Emitter(
        "http://127.0.0.1:9",  # discard port: connection refused
        WRITE_KEY,
        on_error=reports.on_error,
        **{**FAST, "max_retry_time": 0.3},
    )
    em.track(page_view())
    assert em.flush(timeout=5) == 0
    em.close()
    assert reports.reasons() == {"retries_exhausted"}
    assert "network_error" in reports.errors[0][2]


def test_nothing_is_sent_after_close(gateway: GatewayServer, reports: Reports) -> None:
    recorder = gateway.recorder
    recorder.script(*[Fault("status", 503)] * 1000)  # never succeeds
    em = emitter(gateway, reports, max_retry_time=60)
    events = track_all(em, 5)
    wait_until(lambda: len(recorder.requests) >= 2, timeout=3)
    started = time.monotonic()
    em.close(timeout=0.5)
    closed_at = now_ms()
    assert time.monotonic() - started < 1.5
    em.track(page_view())  # dropped: closed
    time.sleep(0.3)
    # An in-flight request may still reach a loaded server after close() returned; no batch
    # may have been encoded (sent_at is stamped then) after it returned.
    stamps = [r.sent_at for r in recorder.requests]
    assert stamps and all(s is not None and s <= closed_at for s in stamps), (stamps, closed_at)
    assert reports.reasons() == {"undelivered_at_close"}
    assert sorted(reports.error_ids()) == sorted(e["event_id"] for e in events)
    assert [reason for _, reason in reports.drops] == ["emitter_closed"]


def test_close_aborts_a_hanging_request(gateway: GatewayServer, reports: Reports) -> None:
    recorder = gateway.recorder
    recorder.script(Fault("slow", seconds=3.0))
    em = emitter(gateway, reports, request_timeout=10)
    track_all(em, 3)
    wait_until(lambda: bool(recorder.faults) is False, timeout=3)
    started = time.monotonic()
    em.close(timeout=0.3)
    assert time.monotonic() - started < 1.5
    count = len(recorder.requests)
    time.sleep(0.2)
    assert len(recorder.requests) == count


def test_sync_mode_sends_in_the_callers_thread(gateway: GatewayServer, reports: Reports) -> None:
    recorder = gateway.recorder
    recorder.script(Fault("status", 500))
    em = emitter(gateway, reports, sync=True)
    event = page_view()
    em.track(event)
    # Returned only after the retry delivered it: no thread, no flush needed.
    assert recorder.snapshot()[0][event["event_id"]] == 1
    bad = page_view(title="bad")
    em.track(bad)
    assert reports.error_ids() == [bad["event_id"]]
    assert em.flush() == 0
    em.close()


def test_request_format(gateway: GatewayServer, reports: Reports) -> None:
    """The body is gzip JSON {"sent_at", "events"}; checked here by decoding it ourselves."""
    from refract_sdk.batching import encode_batch
    from refract_sdk.options import EmitterOptions
    from refract_sdk.prepare import Preparer

    prepared = Preparer(EmitterOptions(team="web-platform", app="promptflow-web")).prepare(
        page_view(), time.time()
    )
    body = json.loads(gzip.decompress(encode_batch([prepared], "2026-03-14T09:26:53.802Z", 6)))
    assert body["sent_at"] == "2026-03-14T09:26:53.802Z"
    assert body["events"][0]["sent_at"] == "2026-03-14T09:26:53.802Z"
    assert body["events"][0]["event_id"] == prepared.event_id
