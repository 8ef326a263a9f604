"""Exceptions and the reason codes passed to ``on_error`` / ``on_drop``.

Reasons are short stable strings (not exception classes) because they travel: the server sends
them in its responses, callbacks forward them to metrics, and spooled events are reported by a
later process than the one that tracked them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "DropCallback",
    "EmitterClosedError",
    "ErrorCallback",
    "EventTooLargeError",
    "InvalidEventError",
    "Reason",
    "RefractError",
]


class Reason:
    """Reason codes produced by the SDK itself (the server adds its own, e.g. ``schema_violation``)."""

    QUEUE_FULL = "queue_full"
    """Dropped by the overflow policy of the in-memory queue."""
    EMITTER_CLOSED = "emitter_closed"
    """``track()`` was called after ``close()``."""
    INVALID_EVENT = "invalid_event"
    """Not a model or a mapping, no ``event_name``, or (strict checks) not valid for its contract."""
    EVENT_TOO_LARGE = "event_too_large"
    """The serialized event exceeds ``max_event_bytes``."""
    SERIALIZATION_ERROR = "serialization_error"
    """The event could not be turned into JSON (e.g. a value of an unsupported type)."""
    RETRIES_EXHAUSTED = "retries_exhausted"
    """Retryable failures went on for longer than ``max_retry_time``."""
    UNDELIVERED_AT_CLOSE = "undelivered_at_close"
    """``close()`` (or the exit flush) ran out of time before the event could be sent."""
    SPOOL_CORRUPT = "spool_corrupt"
    """A spool line could not be read back (truncated or corrupted); the line is skipped."""
    HTTP_ERROR = "http_error"
    """A non-retryable HTTP status without a typed ``error`` in its body."""


class RefractError(Exception):
    """Base class of every exception raised by refract-sdk."""

    reason: str = "error"


class InvalidEventError(RefractError, ValueError):
    """The event is not something the emitter can send (raised in strict mode only)."""

    reason = Reason.INVALID_EVENT


class EventTooLargeError(RefractError, ValueError):
    """The serialized event is larger than ``max_event_bytes`` (raised in strict mode only)."""

    reason = Reason.EVENT_TOO_LARGE

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"serialized event is {size} bytes, the limit is {limit} bytes")
        self.size = size
        self.limit = limit


class EmitterClosedError(RefractError, RuntimeError):
    """``track()`` after ``close()`` (raised in strict mode only; production mode drops)."""

    reason = Reason.EMITTER_CLOSED


ErrorCallback = Callable[[Any, str, str], None]
"""``on_error(event, reason, message)``: the event (model, mapping, or the parsed dict of a
spooled event) could not be delivered, or the server rejected it. Called from the sender thread
(or the caller's thread in sync mode); keep it quick and thread-safe."""

DropCallback = Callable[[Any, str], None]
"""``on_drop(event, reason)``: the event was discarded before any send attempt (overflow,
emitter closed). Called from the thread that called ``track()``."""


class UpcastError(RefractError, ValueError):
    """An event that cannot be upcast: which event and version, which field, and why.

    `event` and `version` are None when the input does not say them (no `schema` field);
    `field` is a JSON pointer into the event as given ("" for the event itself).
    """

    def __init__(self, event: str | None, version: str | None, field: str, reason: str) -> None:
        self.event = event
        self.version = version
        self.field = field
        self.reason = reason
        what = f"{event}/{version}" if event and version else (event or "event")
        where = f" at {field}" if field else ""
        super().__init__(f"cannot upcast {what}{where}: {reason}")
