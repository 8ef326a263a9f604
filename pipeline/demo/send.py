"""Making a plan's requests over real HTTP, and the latency probe.

The current-version web and mobile traffic goes through `refract_sdk.Emitter` (what product
teams use); the legacy tracker, server-side copies, Segment, CRM webhooks and access logs go
through httpx with the exact bodies of the plan. A request whose response is "lost" in the
plan (`attempts` = 2) is sent twice with the same body, as a client retrying does.

Any response other than the one the plan implies (a 5xx that outlives a few retries, a 4xx
on a request that is not a deliberate fault, an SDK event not delivered) is an error: the
demo's figures would be wrong, so the run stops with one line saying which request failed.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from refract_sdk import Emitter

from pipeline.demo.model import (
    PROBE_PRODUCER,
    PRODUCER_BY_NAME,
    PRODUCERS,
    ROUTE_SDK,
    UNKNOWN_WRITE_KEY,
    Plan,
    Request,
    ts,
)

RETRYABLE = {408, 429, 500, 502, 503, 504}
MAX_TRIES = 5


class SendError(RuntimeError):
    """A request did not get the answer the plan implies (one line: which and why)."""


@dataclass
class SendResult:
    """What happened on the wire."""

    http_requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    """Per-item refusals the gateway reported in 200 responses (reason -> count)."""
    refused: Counter[str] = field(default_factory=Counter)
    """Fault requests answered 401 (fault -> requests): refused before their body was read."""
    sdk_delivered: int = 0
    duration_s: float = 0.0


def send_plan(
    plan: Plan,
    endpoint: str,
    keys: Mapping[str, str],
    *,
    pace_seconds: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
) -> SendResult:
    """Make every request of `plan` against the gateway at `endpoint`.

    `keys` maps producer names (model.PRODUCERS) to write keys. With `pace_seconds` > 0 the
    requests are spread over about that many seconds in simulated-time order (so the stack
    loads and builds while traffic flows); 0 sends as fast as possible.
    """
    missing = [p.name for p in PRODUCERS if p.name != PROBE_PRODUCER and p.name not in keys]
    if missing:
        raise SendError(f"no write key for producer(s) {', '.join(missing)}")
    result = SendResult()
    errors: list[str] = []
    emitters = {
        p.name: Emitter(
            endpoint,
            write_key=keys[p.name],
            team=p.team,
            app=p.app,
            flush_interval=0.2,
            max_queue_size=len(plan.requests) + 1,
            overflow="block",
            block_timeout=30.0,
            flush_at_exit=False,
            on_error=lambda event, reason, message, name=p.name: errors.append(
                f"{name}: event {event.get('event_id') if isinstance(event, dict) else '?'} "
                f"not delivered: {reason}: {message}"
            ),
            on_drop=lambda event, reason, name=p.name: errors.append(f"{name}: dropped: {reason}"),
        )
        for p in PRODUCERS
        if p.route == ROUTE_SDK
    }
    started = time.monotonic()
    requests = plan.requests
    first, last = (requests[0].at, requests[-1].at) if requests else (None, None)
    span = (last - first).total_seconds() if first and last else 0.0
    try:
        with httpx.Client(base_url=endpoint, timeout=30.0) as client:
            for number, request in enumerate(requests):
                if pace_seconds > 0 and first is not None and span > 0:
                    due = started + pace_seconds * (request.at - first).total_seconds() / span
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                if request.route == ROUTE_SDK:
                    for item in request.items:
                        emitters[request.producer].track(item)
                else:
                    for _ in range(request.attempts):
                        _post(client, request, keys, result)
                if progress is not None and number % 500 == 0:
                    progress(number, len(requests))
    finally:
        for name, emitter in emitters.items():
            pending = emitter.flush(timeout=60)
            emitter.close(timeout=10)
            if pending:
                errors.append(f"{name}: {pending} events still pending after 60 s")
            result.sdk_delivered += emitter.stats.delivered
    result.duration_s = time.monotonic() - started
    if errors:
        raise SendError(f"{len(errors)} SDK event(s) failed; first: {errors[0]}")
    return result


def _post(
    client: httpx.Client, request: Request, keys: Mapping[str, str], result: SendResult
) -> None:
    key = UNKNOWN_WRITE_KEY if request.use_unknown_key else keys[request.producer]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": request.content_type}
    body = request.body()
    for attempt in range(MAX_TRIES):
        response = client.post(request.route, content=body, headers=headers)
        result.http_requests += 1
        if response.status_code not in RETRYABLE:
            break
        time.sleep(min(2.0, 0.2 * 2**attempt))
    result.statuses[response.status_code] += 1
    if request.fault is not None and response.status_code == 401:
        result.refused[request.fault] += 1
    if response.status_code != 200 and request.fault is None:
        raise SendError(
            f"{request.producer} {request.route} at {ts(request.at)}: HTTP "
            f"{response.status_code}: {response.text[:200]}"
        )
    if response.status_code == 200:
        try:
            verdicts = orjson.loads(response.content).get("results", [])
        except (orjson.JSONDecodeError, AttributeError):
            verdicts = []
        for verdict in verdicts:
            if isinstance(verdict, dict) and verdict.get("status") == "rejected":
                result.rejected[str(verdict.get("reason"))] += 1


class LatencyProbe:
    """Sends one synthetic page view with the real wall-clock `occurred_at` every `interval`
    seconds (producer `refract-latency-probe`), so the report can measure occurred_at ->
    queryable in conformed.referral_events. Synthetic rows are excluded from every business
    figure by the dbt models."""

    def __init__(self, endpoint: str, write_key: str, interval: float = 0.5) -> None:
        if PRODUCER_BY_NAME[PROBE_PRODUCER].source != "web":
            raise AssertionError("the probe sends page views, a web event")
        self.endpoint = endpoint
        self.write_key = write_key
        self.interval = interval
        self.sent = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="refract-latency-probe", daemon=True)

    def start(self) -> LatencyProbe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.write_key}", "Content-Type": "application/json"}
        with httpx.Client(base_url=self.endpoint, timeout=10.0) as client:
            while not self._stop.is_set():
                tick = time.monotonic()
                try:
                    response = client.post("/v1/events", content=self._body(), headers=headers)
                    if response.status_code == 200:
                        self.sent += 1
                    else:
                        self.failed += 1
                except httpx.HTTPError:
                    self.failed += 1
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - tick)))

    @staticmethod
    def _body() -> bytes:
        now = ts(datetime.now(UTC))
        event: dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "schema": "page_view/2.0.0",
            "event_name": "page_view",
            "occurred_at": now,
            "sent_at": now,
            "source": "web",
            "producer": {
                "team": "platform",
                "app": PROBE_PRODUCER,
                "sdk": {"name": "refract-probe", "version": "1.0.0"},
            },
            "user": {"anonymous_id": PROBE_PRODUCER},
            "device": {"type": "server"},
            "referral": {},
            "privacy": {},
            "page": {
                "view_id": str(uuid.uuid4()),
                "url": "https://app.promptflow.io/__probe",
                "path": "/__probe",
            },
        }
        return orjson.dumps({"sent_at": now, "events": [event]})
