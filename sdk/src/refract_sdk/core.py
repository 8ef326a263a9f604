"""What ``Emitter`` and ``AsyncEmitter`` share: options, the caller-side ``track()`` path, the
queue, the spool, the ledger, and preparation of queued items.

Only the sending machinery differs (a thread with blocking httpx, or an asyncio task with
``httpx.AsyncClient``), so the caller-visible semantics - stamping, overflow, strict versus
production mode, spool writes - are implemented once, here.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from refract_sdk.delivery import Ledger, Stats
from refract_sdk.errors import EmitterClosedError, Reason, RefractError
from refract_sdk.options import EmitterOptions
from refract_sdk.prepare import PreparedEvent, Preparer, describe
from refract_sdk.queueing import NOTHING, BoundedQueue
from refract_sdk.spool import CorruptLine, Spool

__all__ = ["EmitterCore"]

log = logging.getLogger("refract_sdk")


class EmitterCore:
    """Caller-side half of an emitter; subclasses provide ``_enqueued`` and ``_send_now``."""

    def __init__(
        self,
        endpoint: str,
        write_key: str,
        options: EmitterOptions | None,
        overrides: dict[str, Any],
    ) -> None:
        self.options = EmitterOptions.build(options, overrides)
        self._endpoint = endpoint
        self._write_key = write_key
        self._preparer = Preparer(self.options)
        self._prepare_in_caller = (
            self.options.strict or self.options.sync or self.options.spool_dir is not None
        )
        self._closed = False
        # Subclasses call ``_new_core_state`` from their per-process set-up (also run after fork).

    def _new_core_state(self) -> None:
        options = self.options
        self._queue = BoundedQueue(options.max_queue_size, options.overflow, options.block_timeout)
        self._spool = (
            Spool(options.spool_dir, options.spool_segment_bytes)
            if options.spool_dir is not None and not self._closed
            else None
        )
        self._ledger = Ledger(options, self._spool)
        self._in_flight = 0

    @property
    def stats(self) -> Stats:
        """A snapshot of the delivery counters."""
        return dataclasses.replace(self._ledger.stats)

    @property
    def closed(self) -> bool:
        return self._closed

    def track(self, event: Any) -> None:
        """Queue ``event`` (a generated model or a contract-shaped mapping) for delivery.

        Production mode never raises; strict mode raises ``InvalidEventError``,
        ``EventTooLargeError`` or ``EmitterClosedError``.
        """
        try:
            if self._closed:
                self._ledger.drop(event, Reason.EMITTER_CLOSED)
                if self.options.strict:
                    raise EmitterClosedError("track() after close()")
                return
            item: Any
            if self._prepare_in_caller:
                try:
                    item = self._preparer.prepare(event, time.time())
                except RefractError as exc:
                    if self.options.strict:
                        raise
                    self._ledger.fail_local(event, exc.reason, str(exc))
                    return
                if self._spool is not None:
                    self._spool.append(item)
                if self.options.sync:
                    self._send_now(item)
                    return
            else:
                item = (event, time.time())
            dropped = self._queue.put(item)
            if dropped is not NOTHING:
                self._overflowed(dropped)
            self._enqueued()
        except Exception as exc:
            if self.options.strict:
                raise
            log.exception("refract: track() failed")
            self._ledger.fail_local(event, *describe(exc))

    def _enqueued(self) -> None:
        raise NotImplementedError

    def _send_now(self, event: PreparedEvent) -> None:
        raise NotImplementedError

    def _pending(self) -> int:
        return len(self._queue) + self._in_flight

    def _overflowed(self, item: Any) -> None:
        if isinstance(item, PreparedEvent) and item.spool_segment is not None:
            # Still on disk: the next start sends it. Not lost, so not an on_drop.
            self._ledger.count("spooled_for_later", 1)
            return
        source = item.source if isinstance(item, PreparedEvent) else item[0]
        self._ledger.drop(source, Reason.QUEUE_FULL)

    def _prepare(self, item: Any) -> PreparedEvent | None:
        """A queued item as a ``PreparedEvent``, or None after reporting why it cannot be sent."""
        if isinstance(item, PreparedEvent):
            return item
        event, tracked_at = item
        try:
            return self._preparer.prepare(event, tracked_at)
        except Exception as exc:
            self._ledger.fail_local(event, *describe(exc))
            return None

    def _report_corrupt(self, line: CorruptLine) -> None:
        self._ledger.fail_local(
            line.text, Reason.SPOOL_CORRUPT, f"{line.segment} line {line.line_number}"
        )

    def _settle_queue(self, extra: list[PreparedEvent] | None = None) -> None:
        """Whatever is still queued when sending stops is reported (or stays spooled)."""
        leftovers = self._queue.clear()
        prepared = [i for i in leftovers if isinstance(i, PreparedEvent)] + (extra or [])
        if prepared:
            self._ledger.give_up(prepared, Reason.UNDELIVERED_AT_CLOSE, "the emitter was closed")
        for item in leftovers:
            if not isinstance(item, PreparedEvent):
                self._ledger.fail_local(
                    item[0], Reason.UNDELIVERED_AT_CLOSE, "the emitter was closed"
                )
