"""Group prepared events into request bodies bounded by count and bytes.

The byte bound is on the uncompressed JSON (what the gateway has to parse and what it limits);
compression happens once per attempt after the bound is checked. ``sent_at`` is spliced into
every event at encode time, so that a retried batch carries the time of the attempt that
delivered it.
"""

from __future__ import annotations

import gzip

from refract_sdk.prepare import SENT_AT_BYTES, PreparedEvent

__all__ = ["BatchBuilder", "encode_batch"]

_ENVELOPE_BYTES = len(b'{"sent_at":"2026-03-14T09:26:53.589Z","events":[]}')


class BatchBuilder:
    """Accumulates events; ``add`` hands back the completed batch when the next event would not fit."""

    __slots__ = ("_events", "_max_bytes", "_max_events", "_size")

    def __init__(self, max_events: int, max_bytes: int) -> None:
        self._max_events = max_events
        self._max_bytes = max_bytes
        self._events: list[PreparedEvent] = []
        self._size = _ENVELOPE_BYTES

    def __len__(self) -> int:
        return len(self._events)

    def add(self, event: PreparedEvent) -> list[list[PreparedEvent]]:
        """Add ``event``; returns the batches completed by it (zero, one or two), to send now."""
        cost = len(event.body) + SENT_AT_BYTES + 1  # the comma
        complete: list[list[PreparedEvent]] = []
        if self._events and self._size + cost > self._max_bytes:
            complete.append(self.take())
        self._events.append(event)
        self._size += cost
        if len(self._events) >= self._max_events:
            complete.append(self.take())
        return complete

    def take(self) -> list[PreparedEvent]:
        events, self._events, self._size = self._events, [], _ENVELOPE_BYTES
        return events


def encode_batch(events: list[PreparedEvent], sent_at: str, gzip_level: int) -> bytes:
    """The gzipped request body ``{"sent_at": ..., "events": [...]}`` for one attempt."""
    stamp = b'{"sent_at":"' + sent_at.encode() + b'"'
    parts = []
    for event in events:
        body = event.body
        parts.append(stamp + (b"," + body[1:] if len(body) > 2 else b"}"))
    raw = stamp + b',"events":[' + b",".join(parts) + b"]}"
    return gzip.compress(raw, compresslevel=gzip_level, mtime=0)
