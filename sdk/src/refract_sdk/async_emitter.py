"""``AsyncEmitter``: the asyncio twin of ``Emitter`` with the same options and guarantees.

``track()`` is a plain (non-async) method with the same caller-side path as ``Emitter``; a task
on the running loop prepares, batches and sends with ``httpx.AsyncClient``. Differences forced by
asyncio, all documented in sdk/README.md:

* ``overflow="block"`` is refused (blocking would stall the loop that drains the queue) and so
  is ``sync=True`` (``await emitter.flush()`` at the end of a handler is the asyncio way);
* ``flush()`` and ``aclose()`` are coroutines;
* at interpreter exit the loop is usually gone, so the exit hook sends whatever is still queued
  (or was taken by a cancelled sender task) with a blocking client, bounded by ``exit_timeout``.
  ``await emitter.aclose()`` in the application's shutdown is the reliable path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

from refract_sdk import lifecycle
from refract_sdk.batching import BatchBuilder
from refract_sdk.core import EmitterCore
from refract_sdk.delivery import AsyncSender, SyncSender
from refract_sdk.options import EmitterOptions
from refract_sdk.prepare import PreparedEvent
from refract_sdk.transport import AsyncTransport, SyncTransport

__all__ = ["AsyncEmitter"]

log = logging.getLogger("refract_sdk")


class AsyncEmitter(EmitterCore):
    """Sends Refract events from asyncio code; use ``async with AsyncEmitter(...) as emitter``."""

    def __init__(
        self,
        endpoint: str,
        write_key: str,
        *,
        options: EmitterOptions | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(endpoint, write_key, options, overrides)
        if self.options.overflow == "block":
            raise ValueError(
                "AsyncEmitter does not support overflow='block' (it would stall the loop)"
            )
        if self.options.sync:
            raise ValueError("AsyncEmitter has no sync mode; await emitter.flush() instead")
        self._new_process_state()
        lifecycle.register(self)

    def _new_process_state(self) -> None:
        self._new_core_state()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._stopped: asyncio.Event | None = None
        self._idle: asyncio.Condition | None = None
        self._flush_requests = 0
        self._close_deadline: float | None = None
        self._taken: list[PreparedEvent] = []
        """Events the sender task took off the queue and has not settled yet."""
        self._replayed = False
        self._replay_finished = self._spool is None

    # -- public API ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the sender task on the running loop (``track()`` also starts it)."""
        self._ensure_task()

    async def __aenter__(self) -> AsyncEmitter:
        self._ensure_task()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def flush(self, timeout: float | None = None) -> int:
        """Send everything queued now; wait up to ``timeout``; returns how many are pending."""
        if self._task is None or self._idle is None or self._wake is None:
            return self._pending()
        self._flush_requests += 1
        self._wake.set()
        try:
            async with self._idle:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._idle.wait_for(lambda: self._pending() == 0), timeout
                    )
        finally:
            self._flush_requests -= 1
        return self._pending()

    async def aclose(self, timeout: float | None = None) -> None:
        """Flush for at most ``timeout`` (default ``exit_timeout``) and stop; see ``Emitter.close``."""
        if self._closed:
            return
        self._closed = True
        timeout = self.options.exit_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self._close_deadline = deadline
        task = self._task
        if task is None and self._spool is not None:
            self._ensure_task()  # replay the spool within the close budget
            task = self._task
        if task is not None and self._wake is not None and self._stopped is not None:
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                self._stopped.set()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._settle_queue(self._take_unsettled())
        if self._spool is not None:
            self._spool.close()

    # -- caller side --------------------------------------------------------------------------

    def _enqueued(self) -> None:
        if self._task is None:
            self._ensure_task()
        if len(self._queue) >= self.options.batch_max_events and self._wake is not None:
            if threading.get_ident() == self._loop_thread:
                self._wake.set()
            elif self._loop is not None:
                self._loop.call_soon_threadsafe(self._wake.set)

    def _send_now(self, event: PreparedEvent) -> None:  # pragma: no cover - sync is refused
        raise RuntimeError("AsyncEmitter has no sync mode")

    def _ensure_task(self) -> None:
        if self._task is not None or (self._closed and self._spool is None):
            return
        loop = asyncio.get_running_loop()  # RuntimeError outside a loop: reported by track()
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._idle = asyncio.Condition()
        self._task = loop.create_task(self._run(), name="refract-sender")

    def _take_unsettled(self) -> list[PreparedEvent]:
        taken, self._taken = self._taken, []
        self._in_flight = 0
        return taken

    # -- the sender task ----------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None and self._stopped is not None
        transport = AsyncTransport(self._endpoint, self._write_key, self.options.request_timeout)
        sender = AsyncSender(
            self.options,
            transport,
            self._ledger,
            deadline=lambda: self._close_deadline,
            stopped=self._stopped,
        )
        try:
            await self._replay(sender)
            interval = self.options.flush_interval
            last_partial = time.monotonic()
            while not self._stopped.is_set():
                remaining = max(0.0, interval - (time.monotonic() - last_partial))
                try:
                    await asyncio.wait_for(self._wake.wait(), remaining)
                    woken = True
                except TimeoutError:
                    woken = False
                self._wake.clear()
                closing = self._close_deadline is not None
                due = time.monotonic() - last_partial >= interval
                partial = not woken or due or closing or self._flush_requests > 0
                await self._drain(sender, partial)
                if partial:
                    last_partial = time.monotonic()
                if closing and len(self._queue) == 0:
                    break
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("refract: sender task failed")
        finally:
            with contextlib.suppress(Exception):
                await transport.aclose()

    async def _drain(self, sender: AsyncSender, partial: bool) -> None:
        assert self._stopped is not None
        limit = self.options.batch_max_events
        builder = BatchBuilder(limit, self.options.batch_max_bytes)
        while not self._stopped.is_set():
            if not partial and len(self._queue) < limit:
                break
            items = self._queue.get_many(limit)
            if not items:
                break
            self._in_flight += len(items)
            for item in items:
                prepared = self._prepare(item)
                if prepared is None:
                    await self._settled([], 1)
                    continue
                self._taken.append(prepared)
                for batch in builder.add(prepared):
                    await self._send(sender, batch)
        if len(builder):
            await self._send(sender, builder.take())

    async def _send(self, sender: AsyncSender, batch: list[PreparedEvent]) -> None:
        await sender.send(batch)
        await self._settled(batch, len(batch))

    async def _settled(self, batch: list[PreparedEvent], count: int) -> None:
        if batch:
            done = {id(e) for e in batch}
            self._taken = [e for e in self._taken if id(e) not in done]
        self._in_flight -= count
        if self._idle is not None and self._pending() == 0:
            async with self._idle:
                self._idle.notify_all()

    async def _replay(self, sender: AsyncSender) -> None:
        if self._spool is None or self._replayed:
            return
        self._replayed = True
        builder = BatchBuilder(self.options.batch_max_events, self.options.batch_max_bytes)
        for event in self._spool.recover(self._report_corrupt):
            self._in_flight += 1
            self._taken.append(event)
            for batch in builder.add(event):
                await self._send(sender, batch)
        if len(builder):
            await self._send(sender, builder.take())
        self._replay_finished = True
        if self._idle is not None:
            async with self._idle:
                self._idle.notify_all()

    # -- exit and fork ------------------------------------------------------------------------

    def _begin_exit(self) -> float | None:
        if self._closed:
            return None
        self._closed = True
        timeout = self.options.exit_timeout if self.options.flush_at_exit else 0.0
        return time.monotonic() + timeout

    def _finish_exit(self, deadline: float) -> None:
        """The loop is gone at exit: send the leftovers with a blocking client, bounded."""
        leftovers = self._take_unsettled()
        for item in self._queue.clear():
            prepared = self._prepare(item)
            if prepared is not None:
                leftovers.append(prepared)
        if leftovers and deadline > time.monotonic():
            stopped = threading.Event()
            transport = SyncTransport(self._endpoint, self._write_key, self.options.request_timeout)
            sender = SyncSender(
                self.options, transport, self._ledger, deadline=lambda: deadline, stopped=stopped
            )
            builder = BatchBuilder(self.options.batch_max_events, self.options.batch_max_bytes)
            for event in leftovers:
                for batch in builder.add(event):
                    sender.send(batch)
            if len(builder):
                sender.send(builder.take())
            transport.close()
        elif leftovers:
            self._ledger.give_up(leftovers, "undelivered_at_close", "the emitter was closed")
        if self._spool is not None:
            self._spool.close()

    def _after_fork_in_child(self) -> None:
        if self._spool is not None:
            self._spool.abandon_after_fork()
        self._new_process_state()
