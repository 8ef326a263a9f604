"""Small types shared by the registry, the gateway, its adapters and the CLI.

Kept in one module so that the parts of the service agree on who sent an event and what
happened to it, without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Source = Literal["web", "mobile", "backend", "crm"]
Origin = Literal["sdk", "segment", "crm", "logs"]


@dataclass(frozen=True)
class Producer:
    """An authenticated producer: the write key it used (by id, never the secret), its source
    (the envelope's `source` vocabulary) and its name (team/app)."""

    key_id: str
    source: str
    name: str


@dataclass(slots=True)
class Outcome:
    """What happened to one event of a request, in request order (built once per event, so a
    plain slots dataclass: a frozen one costs four times as much to build).

    `reason` is a dead-letter reason from the documented taxonomy (docs/dead-letters.md) when
    the event was rejected; `message` says what and where in one line, without personal data.
    """

    index: int
    event_id: str | None
    status: Literal["accepted", "rejected"]
    reason: str | None = None
    message: str | None = None

    def to_json(self) -> dict[str, str | None]:
        body: dict[str, str | None] = {"event_id": self.event_id, "status": self.status}
        if self.status == "rejected":
            body["reason"] = self.reason
            body["message"] = self.message
        return body


def json_kind(value: Any) -> str:
    """A JSON value's kind as error messages name it ("a string", "an object", "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, Mapping) else type(value).__name__
