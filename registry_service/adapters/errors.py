"""The one error adapters raise: a raw payload that cannot become a canonical event."""

from __future__ import annotations

ADAPTER_FAILED = "adapter_failed"
UNMAPPED_EVENT = "unmapped_event"


class AdapterError(Exception):
    """`reason` is a dead-letter reason (adapter_failed, unmapped_event); `message` says what
    and where in the raw payload, without personal data."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __repr__(self) -> str:
        return f"AdapterError({self.reason!r}, {self.message!r})"


def failed(message: str) -> AdapterError:
    return AdapterError(ADAPTER_FAILED, message)
