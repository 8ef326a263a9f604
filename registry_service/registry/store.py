"""What the registry keeps, and the transaction interface both stores implement.

The service never writes SQL: it asks a `Store` for a read or a write transaction and works
with the rows below. A write transaction on a subject is exclusive for that subject across
every process sharing the database (SQLite: one writer at a time; PostgreSQL: a row lock on
the subject), so "read the versions, check compatibility, insert the next version" cannot
interleave with another registration and versions stay consecutive without duplicates.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class VersionRow:
    """One registered version of a subject."""

    subject: str
    version: int
    schema_id: int
    schema: str  # the schema document as compact JSON text
    fingerprint: str
    semver: str | None  # "1.1.0" when the schema names its contract version, else None
    lens: str | None  # the lens (JSON text) that led into this version's major, if any
    deleted: bool


@dataclass(frozen=True)
class KeyRow:
    """A stored write key: its public id, owner, and the SHA-256 of its secret part."""

    key_id: str
    source: str
    name: str
    secret_sha256: str
    created_at: str
    revoked_at: str | None


class StoreTx(Protocol):
    """Operations inside one transaction."""

    # configuration: subject None is the global level
    def get_compatibility(self, subject: str | None) -> str | None: ...
    def set_compatibility(self, subject: str | None, level: str | None) -> None: ...
    def get_mode(self, subject: str | None) -> str | None: ...
    def set_mode(self, subject: str | None, mode: str | None) -> None: ...

    # subjects and versions
    def subjects(self) -> list[str]: ...
    def versions(self, subject: str) -> list[VersionRow]: ...
    def versions_of_schema(self, schema_id: int) -> list[VersionRow]: ...
    def schema_by_id(self, schema_id: int) -> tuple[str, str] | None: ...
    def schema_id_of(self, fingerprint: str) -> int | None: ...
    def insert_schema(self, fingerprint: str, schema: str, schema_id: int | None) -> int: ...
    def insert_version(
        self,
        subject: str,
        version: int,
        schema_id: int,
        semver: str | None,
        lens: str | None,
    ) -> None: ...
    def mark_deleted(self, subject: str, version: int) -> None: ...
    def delete_version(self, subject: str, version: int) -> None: ...

    # write keys
    def insert_key(self, row: KeyRow) -> None: ...
    def key(self, key_id: str) -> KeyRow | None: ...
    def keys(self) -> list[KeyRow]: ...
    def revoke_key(self, key_id: str, when: str) -> bool: ...

    def generation(self) -> int: ...
    def touch(self) -> None:
        """Record that this transaction changed what readers see (bumps the generation)."""


class Store(Protocol):
    """A database holding one registry (SQLite file or PostgreSQL schema)."""

    kind: str

    def read(self) -> AbstractContextManager[StoreTx]: ...
    def write(self, subject: str | None = None) -> AbstractContextManager[StoreTx]:
        """An exclusive write transaction; with `subject`, serialised against every other
        writer of that subject (in every process), committed on success, rolled back on error."""
        ...

    def close(self) -> None: ...
