"""The bounded in-memory queue between ``track()`` and the sender, with an overflow policy.

A plain deque under a lock: ``put`` is the whole caller-thread cost of ``track()`` in
production mode, so it must stay a few hundred nanoseconds. When full, the policy decides
explicitly who loses: ``drop_newest`` (the default: a burst never evicts what was queued
first), ``drop_oldest`` (freshest data wins), or ``block`` (back-pressure on the caller, bounded
by a timeout, then drop the newest).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from refract_sdk.options import OverflowPolicy

__all__ = ["BoundedQueue"]

_NOTHING: Any = object()


class BoundedQueue:
    """FIFO of at most ``maxsize`` items; ``put`` returns the item the policy dropped."""

    def __init__(self, maxsize: int, policy: OverflowPolicy, block_timeout: float) -> None:
        self._maxsize = maxsize
        self._policy = policy
        self._block_timeout = block_timeout
        self._items: deque[Any] = deque()
        self._lock = threading.Lock()
        self._not_full = threading.Condition(self._lock)

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Any) -> Any:
        """Append ``item``; returns the dropped item (``item`` itself or the oldest) or ``NOTHING``."""
        with self._lock:
            if len(self._items) < self._maxsize:
                self._items.append(item)
                return _NOTHING
            if self._policy == "drop_oldest":
                dropped = self._items.popleft()
                self._items.append(item)
                return dropped
            if self._policy == "block":
                deadline = time.monotonic() + self._block_timeout
                while len(self._items) >= self._maxsize:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return item
                    self._not_full.wait(remaining)
                self._items.append(item)
                return _NOTHING
            return item

    def get_many(self, limit: int) -> list[Any]:
        """Remove and return up to ``limit`` items, oldest first."""
        with self._lock:
            count = min(limit, len(self._items))
            items = [self._items.popleft() for _ in range(count)]
            if count and self._policy == "block":
                self._not_full.notify(count)
            return items

    def clear(self) -> list[Any]:
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self._not_full.notify_all()
            return items


NOTHING = _NOTHING
"""Sentinel returned by ``BoundedQueue.put`` when nothing was dropped."""
