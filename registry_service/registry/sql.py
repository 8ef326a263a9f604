"""The SQL both stores share: tables, queries and row mapping, written once.

SQLite and PostgreSQL differ only in three places, passed in as a `Dialect`: the parameter
placeholder, how schema ids are allocated (SQLite's INTEGER PRIMARY KEY vs a BIGSERIAL whose
sequence must follow imported ids), and how a subject is locked (SQLite serialises all writers
with BEGIN IMMEDIATE; PostgreSQL takes a row lock on the subject). Keeping one implementation
is what lets one test suite vouch for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from registry_service.registry.store import KeyRow, VersionRow

GLOBAL = ""  # the subject name under which global configuration is stored


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> Any: ...


@dataclass(frozen=True)
class Dialect:
    name: str
    placeholder: str
    schema_id_column: str
    lock_subject: str | None  # SQL taking the subject lock, after the row exists
    after_explicit_schema_id: str | None  # SQL keeping an id sequence above imported ids


SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    schema_id_column="id INTEGER PRIMARY KEY",
    lock_subject=None,
    after_explicit_schema_id=None,
)

POSTGRES = Dialect(
    name="postgres",
    placeholder="%s",
    schema_id_column="id BIGSERIAL PRIMARY KEY",
    lock_subject="SELECT name FROM registry_subjects WHERE name = ? FOR UPDATE",
    after_explicit_schema_id=(
        "SELECT setval(pg_get_serial_sequence('registry_schemas', 'id'), "
        "(SELECT MAX(id) FROM registry_schemas))"
    ),
)


def ddl(dialect: Dialect) -> list[str]:
    """Statements creating the registry tables (idempotent)."""
    return [
        "CREATE TABLE IF NOT EXISTS registry_generation ("
        " id INTEGER PRIMARY KEY, generation BIGINT NOT NULL)",
        "INSERT INTO registry_generation (id, generation) VALUES (1, 0) ON CONFLICT DO NOTHING",
        f"CREATE TABLE IF NOT EXISTS registry_schemas ({dialect.schema_id_column},"
        " fingerprint TEXT NOT NULL UNIQUE, schema_text TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS registry_subjects ("
        " name TEXT PRIMARY KEY, compatibility TEXT, mode TEXT)",
        "CREATE TABLE IF NOT EXISTS registry_versions ("
        " subject TEXT NOT NULL REFERENCES registry_subjects (name),"
        " version INTEGER NOT NULL,"
        " schema_id BIGINT NOT NULL REFERENCES registry_schemas (id),"
        " semver TEXT, lens TEXT, deleted INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY (subject, version))",
        "CREATE INDEX IF NOT EXISTS registry_versions_schema ON registry_versions (schema_id)",
        "CREATE TABLE IF NOT EXISTS registry_keys ("
        " key_id TEXT PRIMARY KEY, source TEXT NOT NULL, name TEXT NOT NULL,"
        " secret_sha256 TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)",
    ]


_VERSION_COLUMNS = (
    "v.subject, v.version, v.schema_id, s.schema_text, s.fingerprint, v.semver, v.lens, v.deleted"
)
_VERSION_FROM = "registry_versions v JOIN registry_schemas s ON s.id = v.schema_id"


class SqlTx:
    """`StoreTx` over a DB-API cursor; one instance per transaction."""

    def __init__(self, cursor: Cursor, dialect: Dialect) -> None:
        self.cursor = cursor
        self.dialect = dialect
        self.changed = False

    def _run(self, query: str, params: Sequence[Any] = ()) -> Any:
        if self.dialect.placeholder != "?":
            query = query.replace("?", self.dialect.placeholder)
        self.cursor.execute(query, tuple(params))
        return self.cursor

    def _one(self, query: str, params: Sequence[Any] = ()) -> Any:
        return self._run(query, params).fetchone()

    def _all(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self._run(query, params).fetchall())

    # -- subject rows and locks ------------------------------------------------------------

    def ensure_subject(self, subject: str) -> None:
        self._run(
            "INSERT INTO registry_subjects (name) VALUES (?) ON CONFLICT DO NOTHING", (subject,)
        )

    def lock_subject(self, subject: str) -> None:
        """Create the subject row if needed and hold its lock until the transaction ends."""
        self.ensure_subject(subject)
        if self.dialect.lock_subject:
            self._run(self.dialect.lock_subject, (subject,))

    # -- configuration ------------------------------------------------------------------------

    def _config(self, column: str, subject: str | None) -> str | None:
        row = self._one(
            f"SELECT {column} FROM registry_subjects WHERE name = ?",
            (GLOBAL if subject is None else subject,),
        )
        return None if row is None else row[0]

    def _set_config(self, column: str, subject: str | None, value: str | None) -> None:
        name = GLOBAL if subject is None else subject
        self.ensure_subject(name)
        self._run(f"UPDATE registry_subjects SET {column} = ? WHERE name = ?", (value, name))
        self.touch()

    def get_compatibility(self, subject: str | None) -> str | None:
        return self._config("compatibility", subject)

    def set_compatibility(self, subject: str | None, level: str | None) -> None:
        self._set_config("compatibility", subject, level)

    def get_mode(self, subject: str | None) -> str | None:
        return self._config("mode", subject)

    def set_mode(self, subject: str | None, mode: str | None) -> None:
        self._set_config("mode", subject, mode)

    # -- subjects, versions, schemas ----------------------------------------------------------

    def subjects(self) -> list[str]:
        rows = self._all("SELECT DISTINCT subject FROM registry_versions ORDER BY subject")
        return [row[0] for row in rows]

    @staticmethod
    def _version(row: Any) -> VersionRow:
        subject, version, schema_id, text, fingerprint, semver, lens, deleted = row
        return VersionRow(
            subject, int(version), int(schema_id), text, fingerprint, semver, lens, bool(deleted)
        )

    def versions(self, subject: str) -> list[VersionRow]:
        rows = self._all(
            f"SELECT {_VERSION_COLUMNS} FROM {_VERSION_FROM} WHERE v.subject = ? "
            "ORDER BY v.version",
            (subject,),
        )
        return [self._version(row) for row in rows]

    def versions_of_schema(self, schema_id: int) -> list[VersionRow]:
        rows = self._all(
            f"SELECT {_VERSION_COLUMNS} FROM {_VERSION_FROM} WHERE v.schema_id = ? "
            "ORDER BY v.subject, v.version",
            (schema_id,),
        )
        return [self._version(row) for row in rows]

    def schema_by_id(self, schema_id: int) -> tuple[str, str] | None:
        row = self._one(
            "SELECT schema_text, fingerprint FROM registry_schemas WHERE id = ?", (schema_id,)
        )
        return None if row is None else (row[0], row[1])

    def schema_id_of(self, fingerprint: str) -> int | None:
        row = self._one("SELECT id FROM registry_schemas WHERE fingerprint = ?", (fingerprint,))
        return None if row is None else int(row[0])

    def insert_schema(self, fingerprint: str, schema: str, schema_id: int | None) -> int:
        """The id of this schema text, inserting it (with `schema_id` if given) when new.

        Concurrent inserts of the same schema from different subjects agree on one id: the
        unique fingerprint turns the loser's insert into a no-op and it reads the winner's id.
        """
        existing = self.schema_id_of(fingerprint)
        if existing is not None:
            return existing
        if schema_id is None:
            row = self._one(
                "INSERT INTO registry_schemas (fingerprint, schema_text) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING RETURNING id",
                (fingerprint, schema),
            )
        else:
            row = self._one(
                "INSERT INTO registry_schemas (id, fingerprint, schema_text) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING RETURNING id",
                (schema_id, fingerprint, schema),
            )
            if self.dialect.after_explicit_schema_id:
                self._run(self.dialect.after_explicit_schema_id)
        if row is None:
            found = self.schema_id_of(fingerprint)
            if found is None:
                raise RuntimeError(f"schema id {schema_id} is taken by another schema")
            return found
        self.touch()
        return int(row[0])

    def insert_version(
        self,
        subject: str,
        version: int,
        schema_id: int,
        semver: str | None,
        lens: str | None,
    ) -> None:
        self.ensure_subject(subject)
        self._run(
            "INSERT INTO registry_versions (subject, version, schema_id, semver, lens, deleted) "
            "VALUES (?, ?, ?, ?, ?, 0)",
            (subject, version, schema_id, semver, lens),
        )
        self.touch()

    def mark_deleted(self, subject: str, version: int) -> None:
        self._run(
            "UPDATE registry_versions SET deleted = 1 WHERE subject = ? AND version = ?",
            (subject, version),
        )
        self.touch()

    def delete_version(self, subject: str, version: int) -> None:
        self._run(
            "DELETE FROM registry_versions WHERE subject = ? AND version = ?", (subject, version)
        )
        self.touch()

    # -- write keys ---------------------------------------------------------------------------

    def insert_key(self, row: KeyRow) -> None:
        self._run(
            "INSERT INTO registry_keys (key_id, source, name, secret_sha256, created_at, "
            "revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
            (row.key_id, row.source, row.name, row.secret_sha256, row.created_at, row.revoked_at),
        )

    def key(self, key_id: str) -> KeyRow | None:
        row = self._one(
            "SELECT key_id, source, name, secret_sha256, created_at, revoked_at "
            "FROM registry_keys WHERE key_id = ?",
            (key_id,),
        )
        return None if row is None else KeyRow(*row)

    def keys(self) -> list[KeyRow]:
        rows = self._all(
            "SELECT key_id, source, name, secret_sha256, created_at, revoked_at "
            "FROM registry_keys ORDER BY created_at, key_id"
        )
        return [KeyRow(*row) for row in rows]

    def revoke_key(self, key_id: str, when: str) -> bool:
        cursor = self._run(
            "UPDATE registry_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
            (when, key_id),
        )
        return bool(cursor.rowcount)

    # -- generation ---------------------------------------------------------------------------

    def generation(self) -> int:
        row = self._one("SELECT generation FROM registry_generation WHERE id = 1")
        return int(row[0]) if row else 0

    def touch(self) -> None:
        self.changed = True

    def finish(self) -> None:
        """Bump the generation once, at the end of a transaction that changed something."""
        if self.changed:
            self._run("UPDATE registry_generation SET generation = generation + 1 WHERE id = 1")
