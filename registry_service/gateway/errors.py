"""The dead-letter taxonomy and the errors the gateway turns into HTTP responses.

Every event the gateway does not deliver is recorded in the dead-letter stream with one of
these reasons (docs/dead-letters.md explains each, with what to do about it). They are also
the ``reason`` of a rejected event in the ``POST /v1/events`` response and the ``error`` of a
refused request, so a producer, an operator reading dead letters and a dashboard use one word
for one problem.
"""

from __future__ import annotations

from collections.abc import Mapping

MALFORMED_JSON = "malformed_json"
MALFORMED_BATCH = "malformed_batch"
UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
UNSUPPORTED_ENCODING = "unsupported_encoding"
PAYLOAD_TOO_LARGE = "payload_too_large"
EVENT_TOO_LARGE = "event_too_large"
TOO_DEEP = "too_deep"
BATCH_TOO_LARGE = "batch_too_large"
UNAUTHORIZED = "unauthorized"
UNKNOWN_CONTRACT = "unknown_contract"
UNKNOWN_VERSION = "unknown_version"
SCHEMA_VIOLATION = "schema_violation"
UPCAST_FAILED = "upcast_failed"
ADAPTER_FAILED = "adapter_failed"
UNMAPPED_EVENT = "unmapped_event"
DEDUP_KEY_MISMATCH = "dedup_key_mismatch"
SINK_UNAVAILABLE = "sink_unavailable"
REGISTRY_UNAVAILABLE = "registry_unavailable"
"""A refused request's error when the key store cannot answer (503; never a dead letter)."""
INTERNAL_ERROR = "internal_error"

REASONS: frozenset[str] = frozenset(
    {
        MALFORMED_JSON,
        MALFORMED_BATCH,
        UNSUPPORTED_CONTENT_TYPE,
        UNSUPPORTED_ENCODING,
        PAYLOAD_TOO_LARGE,
        EVENT_TOO_LARGE,
        TOO_DEEP,
        BATCH_TOO_LARGE,
        UNAUTHORIZED,
        UNKNOWN_CONTRACT,
        UNKNOWN_VERSION,
        SCHEMA_VIOLATION,
        UPCAST_FAILED,
        ADAPTER_FAILED,
        UNMAPPED_EVENT,
        DEDUP_KEY_MISMATCH,
        SINK_UNAVAILABLE,
        INTERNAL_ERROR,
    }
)
"""Every reason a dead letter or a rejection can carry (docs/dead-letters.md)."""


class GatewayError(Exception):
    """A request the gateway refuses as a whole: rendered as ``{"error", "message"}``.

    Raised from routes and dependencies (also the adapters'); create_app installs the handler.
    """

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = dict(headers or {})


class SinkUnavailable(GatewayError):
    """The stream did not accept the records: nothing is acknowledged, the client retries."""

    RETRY_AFTER_SECONDS = 2

    def __init__(self, message: str) -> None:
        super().__init__(
            503, SINK_UNAVAILABLE, message, {"Retry-After": str(self.RETRY_AFTER_SECONDS)}
        )
