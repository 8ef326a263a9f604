"""``Emitter``: track events from any thread; a background thread delivers them.

The caller's thread does as little as possible (production mode: one append to a bounded
queue); the sender thread prepares events (stamps, dedup key, JSON), batches them by count,
bytes and interval, gzips and POSTs them, retries what may succeed later and reports what will
not. ``strict``, ``sync`` and ``spool_dir`` move preparation into the caller's thread, for
errors that raise where the event was built, sending without a background thread, and events
that are on disk before ``track()`` returns (see ``refract_sdk.spool``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from refract_sdk import lifecycle
from refract_sdk.batching import BatchBuilder
from refract_sdk.core import EmitterCore
from refract_sdk.delivery import SyncSender
from refract_sdk.options import EmitterOptions
from refract_sdk.prepare import PreparedEvent
from refract_sdk.transport import SyncTransport

__all__ = ["Emitter"]

log = logging.getLogger("refract_sdk")

_JOIN_GRACE = 0.5
"""How long ``close()`` waits for the sender after aborting its in-flight request."""


class Emitter(EmitterCore):
    """Sends Refract events to ``{endpoint}/v1/events`` with ``Authorization: Bearer <write_key>``.

    ``Emitter(endpoint, write_key, team="web-platform", app="promptflow-web")``; every keyword
    is a field of ``EmitterOptions`` (or pass ``options=EmitterOptions(...)``).
    """

    def __init__(
        self,
        endpoint: str,
        write_key: str,
        *,
        options: EmitterOptions | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(endpoint, write_key, options, overrides)
        self._new_process_state()
        lifecycle.register(self)
        if self._spool is not None and not self.options.sync:
            self._start()  # deliver what earlier processes left in the spool

    def _new_process_state(self) -> None:
        """Everything a process must not share with its parent: queue, locks, thread, sockets."""
        self._new_core_state()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._idle = threading.Condition(threading.Lock())
        self._flush_requests = 0
        self._close_deadline: float | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._sender: SyncSender | None = self._new_sender()
        self._replayed = False
        self._replay_finished = self._spool is None or self.options.sync
        """Whether earlier processes' spooled events have all been read and handed to sending;
        ``flush()`` waits for it too, so that a new process can flush what its predecessor left."""

    # -- public API ---------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> int:
        """Send everything queued now; wait up to ``timeout`` (None: until done).

        Returns how many events are still pending (queued or being sent).
        """
        if self.options.sync:
            self._replay_sync()
            return 0
        if self._thread is None:
            return self._pending()
        with self._idle:
            self._flush_requests += 1
        self._wake.set()
        try:
            with self._idle:
                self._idle.wait_for(lambda: self._pending() == 0 and self._replay_finished, timeout)
        finally:
            with self._idle:
                self._flush_requests -= 1
        return self._pending()

    def close(self, timeout: float | None = None) -> None:
        """Flush for at most ``timeout`` (default ``exit_timeout``) and stop.

        Events still undelivered when the time is up go to ``on_error`` with reason
        ``undelivered_at_close`` (with a spool they stay on disk for the next start). Nothing is
        sent after ``close()`` returns.
        """
        deadline = self._begin_close(self.options.exit_timeout if timeout is None else timeout)
        if deadline is not None:
            self._finish_close(deadline)

    def __enter__(self) -> Emitter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- caller-side helpers ------------------------------------------------------------------

    def _enqueued(self) -> None:
        if len(self._queue) >= self.options.batch_max_events:
            self._wake.set()
        if self._thread is None:
            self._start()

    def _send_now(self, event: PreparedEvent) -> None:
        self._sync_sender().send([event])

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._run, name="refract-sender", daemon=True)
            self._thread = thread
            thread.start()

    def _sync_sender(self) -> SyncSender:
        assert self._sender is not None
        return self._sender

    def _new_sender(self) -> SyncSender:
        """Built in the constructing thread (or right after fork, when no other thread runs), so
        the sender thread never imports anything a concurrent fork() could catch half-done."""
        transport = SyncTransport(self._endpoint, self._write_key, self.options.request_timeout)
        return SyncSender(
            self.options,
            transport,
            self._ledger,
            deadline=lambda: self._close_deadline,
            stopped=self._stopped,
        )

    # -- the sender thread --------------------------------------------------------------------

    def _run(self) -> None:
        try:
            sender = self._sync_sender()
            self._replay(sender)
            last_partial = time.monotonic()
            interval = self.options.flush_interval
            while not self._stopped.is_set():
                woken = self._wake.wait(max(0.0, interval - (time.monotonic() - last_partial)))
                self._wake.clear()
                closing = self._close_deadline is not None
                due = time.monotonic() - last_partial >= interval
                partial = not woken or due or closing or self._flush_requests > 0
                self._drain(sender, partial)
                if partial:
                    last_partial = time.monotonic()
                if closing and len(self._queue) == 0:
                    break
        except Exception:
            log.exception("refract: sender thread failed")
        finally:
            self._settle_leftovers()

    def _drain(self, sender: SyncSender, partial: bool) -> None:
        """Send what is queued: full batches, and the remainder too when ``partial``."""
        limit = self.options.batch_max_events
        builder = BatchBuilder(limit, self.options.batch_max_bytes)
        while not self._stopped.is_set():
            if not partial and len(self._queue) < limit:
                break
            items = self._queue.get_many(limit)
            if not items:
                break
            with self._idle:
                self._in_flight += len(items)
            for item in items:
                prepared = self._prepare(item)
                if prepared is None:
                    self._settled(1)
                    continue
                for batch in builder.add(prepared):
                    self._send(sender, batch)
        if len(builder):
            self._send(sender, builder.take())

    def _send(self, sender: SyncSender, batch: list[PreparedEvent]) -> None:
        try:
            sender.send(batch)
        finally:
            self._settled(len(batch))

    def _settled(self, count: int) -> None:
        with self._idle:
            self._in_flight -= count
            if self._pending() == 0:
                self._idle.notify_all()

    def _replay(self, sender: SyncSender) -> None:
        """Send what earlier processes left in the spool (before this process's own events)."""
        if self._spool is None or self._replayed:
            return
        self._replayed = True
        builder = BatchBuilder(self.options.batch_max_events, self.options.batch_max_bytes)
        for event in self._spool.recover(self._report_corrupt):
            if self._stopped.is_set():
                break
            with self._idle:
                self._in_flight += 1
            for batch in builder.add(event):
                self._send(sender, batch)
        if len(builder):
            self._send(sender, builder.take())
        with self._idle:
            self._replay_finished = True
            self._idle.notify_all()

    def _replay_sync(self) -> None:
        if self._spool is not None and not self._closed:
            self._replay(self._sync_sender())

    def _settle_leftovers(self) -> None:
        self._settle_queue()
        with self._idle:
            self._in_flight = 0
            self._replay_finished = True
            self._idle.notify_all()

    # -- closing, exit and fork ---------------------------------------------------------------

    def _begin_close(self, timeout: float) -> float | None:
        with self._start_lock:
            if self._closed:
                return None
            self._closed = True
        deadline = time.monotonic() + timeout
        self._close_deadline = deadline
        self._wake.set()
        return deadline

    def _finish_close(self, deadline: float) -> None:
        thread = self._thread
        if self.options.sync and self._spool is not None:
            self._replay(self._sync_sender())
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                # Out of time: no new attempt may start, and the request in flight is aborted
                # by closing its connection pool.
                self._stopped.set()
                self._wake.set()
                if self._sender is not None:
                    self._sender.transport.close()
                thread.join(_JOIN_GRACE)
        else:
            self._settle_leftovers()
        self._stopped.set()
        if self._sender is not None:
            self._sender.transport.close()
        if self._spool is not None:
            self._spool.close()

    def _begin_exit(self) -> float | None:
        timeout = self.options.exit_timeout if self.options.flush_at_exit else 0.0
        return self._begin_close(timeout)

    def _finish_exit(self, deadline: float) -> None:
        self._finish_close(deadline)

    def _after_fork_in_child(self) -> None:
        """The child starts empty: the parent's queued and spooled events stay the parent's."""
        if self._spool is not None:
            self._spool.abandon_after_fork()
        # The parent's httpx client (and its sockets) is dropped, not closed: closing could
        # disturb connections the parent still uses.
        self._new_process_state()
