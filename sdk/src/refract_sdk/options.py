"""Emitter configuration.

One frozen dataclass holds every knob so that ``Emitter`` and ``AsyncEmitter`` accept exactly
the same options and validate them the same way, at construction (a typo in a limit should fail
at start-up, not on the first busy hour).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

from refract_sdk.errors import DropCallback, ErrorCallback

__all__ = ["SDK_NAME", "SDK_VERSION", "EmitterOptions", "OverflowPolicy"]

SDK_NAME = "refract-python"
"""Stamped into ``producer.sdk.name`` of every event that does not carry a producer."""


def _sdk_version() -> str:
    try:
        return metadata.version("refract-sdk")
    except metadata.PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0"


SDK_VERSION = _sdk_version()

OverflowPolicy = Literal["drop_newest", "drop_oldest", "block"]

_POLICIES = ("drop_newest", "drop_oldest", "block")


@dataclass(frozen=True, slots=True)
class EmitterOptions:
    """Every option of ``Emitter`` / ``AsyncEmitter``; pass them as keyword arguments.

    Sizes are in bytes of uncompressed JSON, times in seconds.
    """

    team: str | None = None
    """``producer.team`` for events that carry no producer (the contract owner's team slug)."""
    app: str | None = None
    """``producer.app`` for events that carry no producer (the emitting service's slug)."""

    max_queue_size: int = 10_000
    """Events held in memory waiting for the sender; beyond it ``overflow`` decides."""
    overflow: OverflowPolicy = "drop_newest"
    """``drop_newest`` (the new event is dropped and counted), ``drop_oldest`` (the oldest queued
    event makes room), or ``block`` (``track()`` waits up to ``block_timeout``, then drops the
    new event). ``block`` is not available on ``AsyncEmitter`` (it would stall the event loop)."""
    block_timeout: float = 0.1

    batch_max_events: int = 500
    batch_max_bytes: int = 512 * 1024
    """Upper bound of one request body before compression."""
    max_event_bytes: int = 32 * 1024
    """Upper bound of one serialized event; larger events are rejected locally."""
    flush_interval: float = 1.0
    """An event waits at most about this long in the queue before its batch is sent."""

    request_timeout: float = 10.0
    max_retry_time: float = 60.0
    """Retryable failures of one batch are retried for at most this long from the first attempt."""
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    gzip_level: int = 1
    """Level 1 costs half the CPU of the usual 6 on event JSON for about 12% more bytes; the
    emitter runs inside the application's process, where CPU is the scarcer resource."""

    strict: bool = False
    """Development mode: ``track()`` validates and serializes in the caller's thread and raises
    ``InvalidEventError`` / ``EventTooLargeError`` / ``EmitterClosedError``. Production mode
    (the default) never raises from ``track()``: problems go to ``on_error`` / ``on_drop``."""
    sync: bool = False
    """Send in the caller's thread: ``track()`` returns once the event is delivered or reported
    (bounded by ``max_retry_time``). For Celery tasks, serverless handlers and scripts."""

    spool_dir: str | os.PathLike[str] | None = None
    """Directory of the durable spool; ``None`` disables it. See ``refract_sdk.spool``."""
    spool_segment_bytes: int = 4 * 1024 * 1024

    flush_at_exit: bool = True
    exit_timeout: float = 5.0
    """Bound of the flush at interpreter exit and the default bound of ``close()``."""

    on_error: ErrorCallback | None = None
    on_drop: DropCallback | None = None

    def __post_init__(self) -> None:
        if self.overflow not in _POLICIES:
            raise ValueError(f"overflow must be one of {_POLICIES}, not {self.overflow!r}")
        for name in ("max_queue_size", "batch_max_events", "batch_max_bytes", "max_event_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in (
            "block_timeout",
            "flush_interval",
            "request_timeout",
            "max_retry_time",
            "backoff_base",
            "backoff_max",
            "exit_timeout",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.request_timeout == 0 or self.flush_interval == 0:
            raise ValueError("request_timeout and flush_interval must be positive")
        # A batch always fits at least one event of the largest allowed size.
        if self.batch_max_bytes < self.max_event_bytes + 1024:
            raise ValueError("batch_max_bytes must exceed max_event_bytes by at least 1024 bytes")
        if not 0 <= self.gzip_level <= 9:
            raise ValueError("gzip_level must be between 0 and 9")
        if self.spool_segment_bytes < 1024:
            raise ValueError("spool_segment_bytes must be at least 1024")

    @classmethod
    def build(cls, options: EmitterOptions | None, overrides: dict[str, Any]) -> EmitterOptions:
        """``options`` with ``overrides`` applied (unknown names raise ``TypeError``)."""
        base = options if options is not None else cls()
        return dataclasses.replace(base, **overrides) if overrides else base

    def producer(self) -> dict[str, Any] | None:
        """The ``producer`` object stamped on events without one, or None when unconfigured."""
        if self.team is None or self.app is None:
            return None
        return {
            "team": self.team,
            "app": self.app,
            "sdk": {"name": SDK_NAME, "version": SDK_VERSION},
        }
