"""What happens to a batch: attempts, retries, and the final word on every event in it.

Shared by the background thread, the sync mode and the asyncio emitter so that all three
keep the same promise: every tracked event is, exactly once, either delivered (the server
accepted it), reported (``on_error`` / ``on_drop``), or - with a spool - left on disk for the
next start. ``Ledger`` keeps that account; ``SyncSender`` / ``AsyncSender`` run the attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from refract_sdk.batching import encode_batch
from refract_sdk.clock import now_ms
from refract_sdk.errors import Reason
from refract_sdk.options import EmitterOptions
from refract_sdk.prepare import PreparedEvent
from refract_sdk.retry import RetrySchedule
from refract_sdk.spool import Spool
from refract_sdk.transport import (
    Accepted,
    AsyncTransport,
    Failed,
    Outcome,
    Retryable,
    SyncTransport,
)

__all__ = ["AsyncSender", "Ledger", "Stats", "SyncSender"]

log = logging.getLogger("refract_sdk")


@dataclass
class Stats:
    """Counters of one emitter (since construction or, in a forked child, since the fork)."""

    delivered: int = 0
    rejected: int = 0
    """Refused by the server (per event, or whole batches answered with a 4xx)."""
    failed: int = 0
    """Reported locally: invalid, too large, retries exhausted, undelivered at close."""
    dropped: int = 0
    """Discarded by the overflow policy or because the emitter was closed."""
    spooled_for_later: int = 0
    """Left in the spool for the next start (overflow, retries exhausted, close timeout)."""
    batches: int = 0
    """Requests that got an answer (accepted or failed for good)."""
    retries: int = 0


class Ledger:
    """Settles events: counts them, calls the application's callbacks, acks the spool."""

    def __init__(self, options: EmitterOptions, spool: Spool | None) -> None:
        self.stats = Stats()
        self.spool = spool
        self._on_error = options.on_error
        self._on_drop = options.on_drop
        self._lock = threading.Lock()

    def count(self, name: str, amount: int) -> None:
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + amount)

    def error(self, event: Any, reason: str, message: str) -> None:
        """Report one event through ``on_error`` (never lets a callback exception escape)."""
        if self._on_error is None:
            return
        try:
            self._on_error(event, reason, message)
        except Exception:
            log.exception("refract: on_error callback raised")

    def drop(self, event: Any, reason: str) -> None:
        self.count("dropped", 1)
        if self._on_drop is None:
            return
        try:
            self._on_drop(event, reason)
        except Exception:
            log.exception("refract: on_drop callback raised")

    def fail(
        self, events: list[PreparedEvent], reason: str, message: str, *, rejected: bool = False
    ) -> None:
        """Settle ``events`` as failed for good: report each, ack them in the spool."""
        self.count("rejected" if rejected else "failed", len(events))
        log.warning("refract: %d event(s) not delivered: %s", len(events), reason)
        for event in events:
            self.error(event.source, reason, message)
        if self.spool is not None:
            self.spool.ack(events)

    def fail_local(self, event: Any, reason: str, message: str) -> None:
        """An event that never became a ``PreparedEvent`` (invalid, too large)."""
        self.count("failed", 1)
        log.warning("refract: event not sent: %s", reason)
        self.error(event, reason, message)

    def settle(self, events: list[PreparedEvent], outcome: Accepted | Failed) -> None:
        self.count("batches", 1)
        if isinstance(outcome, Failed):
            self.fail(events, outcome.reason, outcome.message, rejected=True)
            return
        if outcome.rejected:
            by_id = {r.event_id: r for r in outcome.rejected}
            refused = [e for e in events if e.event_id in by_id]
            self.count("rejected", len(refused))
            for event in refused:
                rejection = by_id[event.event_id]
                self.error(event.source, rejection.reason, rejection.message)
            if refused:
                log.warning("refract: server rejected %d event(s) of a batch", len(refused))
        else:
            refused = []
        self.count("delivered", len(events) - len(refused))
        if self.spool is not None:
            self.spool.ack(events)

    def give_up(self, events: list[PreparedEvent], reason: str, message: str) -> None:
        """Retrying stopped (budget or close deadline): keep spooled events, report the rest."""
        if self.spool is not None:
            kept = [e for e in events if e.spool_segment is not None]
            self.count("spooled_for_later", len(kept))
            if kept:
                log.warning(
                    "refract: %d event(s) left in the spool for the next start: %s",
                    len(kept),
                    reason,
                )
            events = [e for e in events if e.spool_segment is None]
        if events:
            self.fail(events, reason, message)

    def retried(self) -> None:
        self.count("retries", 1)


class _Sender:
    """What the thread and asyncio senders share: when an attempt may start, with which
    timeout, and what a retryable failure turns into. Only posting and waiting differ."""

    def __init__(
        self,
        options: EmitterOptions,
        ledger: Ledger,
        deadline: Callable[[], float | None],
        stopped: threading.Event | asyncio.Event,
    ) -> None:
        self._options = options
        self._ledger = ledger
        self._deadline = deadline
        self._stopped = stopped

    def _schedule(self) -> RetrySchedule:
        options = self._options
        return RetrySchedule(options.backoff_base, options.backoff_max, options.max_retry_time)

    def _attempt_timeout(self, events: list[PreparedEvent]) -> float | None:
        """The timeout for the next attempt, or None after settling the batch as undelivered
        (the emitter was closed, or close() is out of time: start no new attempt)."""
        if self._stopped.is_set():
            self._ledger.give_up(events, Reason.UNDELIVERED_AT_CLOSE, "the emitter was closed")
            return None
        deadline = self._deadline()
        timeout = self._options.request_timeout
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._ledger.give_up(events, Reason.UNDELIVERED_AT_CLOSE, "close() timed out")
                return None
            timeout = min(timeout, remaining)
        return timeout

    def _encode(self, events: list[PreparedEvent]) -> bytes:
        return encode_batch(events, now_ms(), self._options.gzip_level)

    def _retry_delay(
        self, events: list[PreparedEvent], outcome: Outcome, schedule: RetrySchedule
    ) -> float | None:
        """How long to wait before retrying, or None once the batch is settled."""
        if not isinstance(outcome, Retryable):
            self._ledger.settle(events, outcome)
            return None
        delay = schedule.next_delay(outcome.retry_after, self._deadline())
        if delay is None:
            closing = self._deadline() is not None
            reason = Reason.UNDELIVERED_AT_CLOSE if closing else Reason.RETRIES_EXHAUSTED
            self._ledger.give_up(events, reason, f"last failure: {outcome.reason}")
            return None
        log.info("refract: batch failed (%s), retrying in %.2fs", outcome.reason, delay)
        self._ledger.retried()
        return delay


class SyncSender(_Sender):
    """Sends one batch in the current thread with retries; used by the thread and sync modes."""

    def __init__(
        self,
        options: EmitterOptions,
        transport: SyncTransport,
        ledger: Ledger,
        *,
        deadline: Callable[[], float | None],
        stopped: threading.Event,
    ) -> None:
        super().__init__(options, ledger, deadline, stopped)
        self.transport = transport
        self._stop_event = stopped
        """Set when sending must stop at once (close timed out): no further attempt starts."""

    def send(self, events: list[PreparedEvent]) -> None:
        schedule = self._schedule()
        while (timeout := self._attempt_timeout(events)) is not None:
            outcome: Outcome = self.transport.post(self._encode(events), timeout)
            delay = self._retry_delay(events, outcome, schedule)
            if delay is None:
                return
            self._stop_event.wait(delay)  # a set event ends the wait; the loop head settles


class AsyncSender(_Sender):
    """The asyncio twin of ``SyncSender``."""

    def __init__(
        self,
        options: EmitterOptions,
        transport: AsyncTransport,
        ledger: Ledger,
        *,
        deadline: Callable[[], float | None],
        stopped: asyncio.Event,
    ) -> None:
        super().__init__(options, ledger, deadline, stopped)
        self.transport = transport
        self._stop_event = stopped

    async def send(self, events: list[PreparedEvent]) -> None:
        schedule = self._schedule()
        while (timeout := self._attempt_timeout(events)) is not None:
            outcome: Outcome = await self.transport.post(self._encode(events), timeout)
            delay = self._retry_delay(events, outcome, schedule)
            if delay is None:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_event.wait(), delay)
