"""The vocabulary shared by the diff engine, the compatibility checker, the CLI and the registry.

Kept apart from the engine so that consumers (CLI formats, the registry service, tests) depend
on these small types only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Mode(StrEnum):
    """Compatibility modes, with Confluent Schema Registry's meaning.

    backward: the new schema reads data written with the previous one.
    forward: the previous schema reads data written with the new one.
    full: both. `_transitive` variants compare with every earlier version, not just the last.
    """

    BACKWARD = "backward"
    BACKWARD_TRANSITIVE = "backward_transitive"
    FORWARD = "forward"
    FORWARD_TRANSITIVE = "forward_transitive"
    FULL = "full"
    FULL_TRANSITIVE = "full_transitive"
    NONE = "none"

    @property
    def transitive(self) -> bool:
        return self.value.endswith("_transitive")

    @property
    def checks_backward(self) -> bool:
        return self in (Mode.BACKWARD, Mode.BACKWARD_TRANSITIVE, Mode.FULL, Mode.FULL_TRANSITIVE)

    @property
    def checks_forward(self) -> bool:
        return self in (Mode.FORWARD, Mode.FORWARD_TRANSITIVE, Mode.FULL, Mode.FULL_TRANSITIVE)


class Policy(StrEnum):
    """Which set of Confluent difference types counts as compatible.

    strict: Confluent's default set (e.g. a property added to an open content model is not
    compatible, since old data may already carry that name with another type).
    lenient: Confluent's lenient set, which also accepts such additions.
    """

    STRICT = "strict"
    LENIENT = "lenient"


class Direction(StrEnum):
    """Which way data flows in one comparison: old data read by the new schema, or vice versa."""

    BACKWARD = "backward"
    FORWARD = "forward"


@dataclass(frozen=True)
class Change:
    """One difference between two schemas, as reported to people and machines.

    `type` is a Confluent `Difference.Type` name (or REFRACT_ prefixed for what Confluent lacks).
    Paths are JSON pointers with a leading `#`, in the original ("old") and update ("new") schema
    as traversed from their roots. `file`, `line` and `column` point at the keyword in the file
    that holds it (the new schema's file where the keyword exists there, else the old one's).
    `counterexample` is an instance the writing schema accepts and the reading schema rejects,
    verified by validation, or None when none is known for this change.
    """

    type: str
    old_path: str
    new_path: str
    compatible: bool
    message: str
    file: str = ""
    line: int = 0
    column: int = 0
    direction: Direction = Direction.BACKWARD
    counterexample: Any = None
    has_counterexample: bool = False
    versions: tuple[str, str] | None = None  # (writer, reader) labels in multi-version checks

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "old_path": self.old_path,
            "new_path": self.new_path,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "compatible": self.compatible,
            "message": self.message,
            "counterexample": self.counterexample if self.has_counterexample else None,
        }
