"""The warehouse side of the loader: the raw.* tables, idempotent appends and checkpoints.

Exactly-once *in the table* on top of an at-least-once stream: every raw row is keyed by its
stream position (stream, shard_id, position), inserts skip keys already present, and the
checkpoint of each shard is written in the SAME transaction as its rows. A crash before the
commit leaves neither rows nor checkpoint (the records are read again); a crash after it leaves
both, and re-reading records that were already loaded inserts nothing.

Two implementations behind one interface:

- `DuckDBWarehouse` (default, a file such as <data-dir>/warehouse.duckdb): rows are written to
  a temporary NDJSON file and inserted with one `INSERT ... SELECT FROM read_json(...) ON
  CONFLICT DO NOTHING` per table and shard — DuckDB's executemany is slow, its JSON reader
  is not (docs/loader.md has the measured rate). A DuckDB file admits one writing process,
  so the connection is opened per `Warehouse` and `close()` releases it.
- `SnowflakeWarehouse` (`snowflake://...`): `INSERT ... SELECT ... FROM VALUES ... WHERE NOT
  EXISTS` in statements of bounded size inside BEGIN/COMMIT (Snowflake does not enforce
  primary keys: the anti-join does, so one loader per shard). MERGE would do as well on real
  Snowflake, but fakesnow (the test emulator) cannot run MERGE inside a transaction.
"""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

from pipeline.loader.rows import AppendResult, DeadLetterRow, EventRow, ShardBatch

RETENTION_DAYS = 180
"""Raw retention (by received_at), the spec's default for prune_raw."""
CURATED_RETENTION_DAYS = 1095
"""Curated retention (by occurred_at, 3 years), the default for prune_curated."""
CURATED_INCREMENTAL_TABLES: tuple[str, ...] = (
    "conformed.referral_events",
    "conformed.session_events",
)
"""The curated tables that keep history (incremental dbt models): what prune_curated deletes
from. Every other curated relation (sessions, identities, marts, dq) is rebuilt in full from
these at each `dbt build`, so it follows at the next build."""

EVENT_COLUMNS: tuple[str, ...] = (
    "stream",
    "shard_id",
    "position",
    "partition_key",
    "event_id",
    "event_name",
    "schema_ref",
    "dedup_key",
    "source",
    "occurred_at",
    "received_at",
    "payload",
    "gateway",
    "loaded_at",
)
DEAD_LETTER_COLUMNS: tuple[str, ...] = (
    "stream",
    "shard_id",
    "position",
    "reason",
    "message",
    "origin",
    "producer_key_id",
    "producer_source",
    "producer_name",
    "event_id",
    "received_at",
    "payload",
    "payload_base64",
    "payload_bytes",
    "payload_truncated",
    "loaded_at",
)


class WarehouseError(Exception):
    """The warehouse could not be opened or written; the message says which and why."""


def utc_now() -> datetime:
    """Naive UTC now (the warehouse stores naive UTC timestamps)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _ddl(json_type: str, timestamp: str) -> list[str]:
    """CREATE statements for the raw layer; the same shape on both warehouses."""
    return [
        "CREATE SCHEMA IF NOT EXISTS raw",
        f"""CREATE TABLE IF NOT EXISTS raw.events (
            stream VARCHAR NOT NULL,
            shard_id VARCHAR NOT NULL,
            position VARCHAR NOT NULL,
            partition_key VARCHAR NOT NULL,
            event_id VARCHAR NOT NULL,
            event_name VARCHAR NOT NULL,
            schema_ref VARCHAR NOT NULL,
            dedup_key VARCHAR,
            source VARCHAR NOT NULL,
            occurred_at {timestamp} NOT NULL,
            received_at {timestamp} NOT NULL,
            payload {json_type} NOT NULL,
            gateway {json_type} NOT NULL,
            loaded_at {timestamp} NOT NULL,
            PRIMARY KEY (stream, shard_id, position)
        )""",
        f"""CREATE TABLE IF NOT EXISTS raw.dead_letters (
            stream VARCHAR NOT NULL,
            shard_id VARCHAR NOT NULL,
            position VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            message VARCHAR NOT NULL,
            origin VARCHAR NOT NULL,
            producer_key_id VARCHAR,
            producer_source VARCHAR,
            producer_name VARCHAR,
            event_id VARCHAR,
            received_at {timestamp} NOT NULL,
            payload {json_type},
            payload_base64 VARCHAR,
            payload_bytes BIGINT,
            payload_truncated BOOLEAN NOT NULL,
            loaded_at {timestamp} NOT NULL,
            PRIMARY KEY (stream, shard_id, position)
        )""",
        f"""CREATE TABLE IF NOT EXISTS raw.load_checkpoints (
            stream VARCHAR NOT NULL,
            shard_id VARCHAR NOT NULL,
            position VARCHAR NOT NULL,
            updated_at {timestamp} NOT NULL,
            PRIMARY KEY (stream, shard_id)
        )""",
    ]


@dataclass(frozen=True)
class PruneResult:
    """Rows deleted by prune_raw, and the cutoff used (received_at < cutoff)."""

    cutoff: datetime
    events_deleted: int
    dead_letters_deleted: int


@dataclass(frozen=True)
class CuratedPruneResult:
    """Rows deleted by prune_curated per table (occurred_at < cutoff), and the tables that
    were skipped because they do not exist yet (the first dbt build has not run)."""

    cutoff: datetime
    deleted: Mapping[str, int]
    skipped: tuple[str, ...]

    @property
    def pruned(self) -> tuple[str, ...]:
        """The tables that existed and were pruned (possibly of 0 rows)."""
        return tuple(self.deleted)


class Warehouse(ABC):
    """Where raw rows land. One instance holds one connection; `close()` releases it."""

    dialect: str
    description: str

    @abstractmethod
    def ensure_raw(self) -> None:
        """Create schema raw and its tables if missing (idempotent)."""

    @abstractmethod
    def append_batches(
        self, batches: Sequence[ShardBatch], *, loaded_at: datetime | None = None
    ) -> list[AppendResult]:
        """Insert-if-absent every batch's rows and write the checkpoints, in ONE transaction.

        Returns one AppendResult per batch (rows inserted vs offered). On any error the
        transaction is rolled back and the error raised: nothing half written.
        """

    def append(
        self,
        stream: str,
        shard_id: str,
        rows: Sequence[EventRow],
        dead_letters: Sequence[DeadLetterRow],
        checkpoint: str | None,
    ) -> AppendResult:
        """One shard's rows and checkpoint in one transaction (see append_batches)."""
        return self.append_batches([ShardBatch(stream, shard_id, rows, dead_letters, checkpoint)])[
            0
        ]

    @abstractmethod
    def checkpoints(self) -> dict[tuple[str, str], str]:
        """{(stream, shard_id): last position loaded}."""

    @abstractmethod
    def prune_raw(
        self, older_than_days: int = RETENTION_DAYS, now: datetime | None = None
    ) -> PruneResult:
        """Delete raw.events / raw.dead_letters rows received more than N days before now."""

    def prune_curated(
        self, older_than_days: int = CURATED_RETENTION_DAYS, now: datetime | None = None
    ) -> CuratedPruneResult:
        """Delete rows of the incremental curated tables (conformed.referral_events,
        conformed.session_events) whose occurred_at is more than N days before now, in one
        transaction. A table that does not exist yet (no dbt build so far) is skipped and named
        in the result. The tables dbt rebuilds in full from these (conformed.sessions,
        conformed.identities, marts.*, dq.results) are not touched here: they follow at the
        next `dbt build`. Run it between builds: dbt must not be writing the same tables."""
        cutoff = self._cutoff(older_than_days, now, "prune_curated")
        present = [t for t in CURATED_INCREMENTAL_TABLES if self._table_exists(t)]
        skipped = tuple(t for t in CURATED_INCREMENTAL_TABLES if t not in present)
        deleted = self._delete_older(present, "occurred_at", cutoff) if present else {}
        return CuratedPruneResult(cutoff, deleted, skipped)

    @abstractmethod
    def _table_exists(self, qualified: str) -> bool:
        """Whether `schema.table` exists in the warehouse's database."""

    @abstractmethod
    def _delete_older(self, tables: Sequence[str], column: str, cutoff: datetime) -> dict[str, int]:
        """DELETE rows with `column < cutoff` from every table, in ONE transaction."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read query (tests, status); parameters in the warehouse's own style."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection (the DuckDB file lock with it); idempotent."""

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def _cutoff(older_than_days: int, now: datetime | None, what: str = "prune_raw") -> datetime:
        if older_than_days < 0:
            raise WarehouseError(f"{what}: older_than_days must be >= 0, got {older_than_days}")
        current = now or utc_now()
        if current.tzinfo is not None:
            current = current.astimezone(UTC).replace(tzinfo=None)
        return current - timedelta(days=older_than_days)


# -- DuckDB -------------------------------------------------------------------------------------


def _ts(value: datetime) -> str:
    return value.isoformat(sep=" ")


def _event_json(row: EventRow, loaded_at: str) -> bytes:
    return orjson.dumps(
        {
            "stream": row.stream,
            "shard_id": row.shard_id,
            "position": row.position,
            "partition_key": row.partition_key,
            "event_id": row.event_id,
            "event_name": row.event_name,
            "schema_ref": row.schema_ref,
            "dedup_key": row.dedup_key,
            "source": row.source,
            "occurred_at": _ts(row.occurred_at),
            "received_at": _ts(row.received_at),
            "payload": orjson.Fragment(row.payload),
            "gateway": orjson.Fragment(row.gateway),
            "loaded_at": loaded_at,
        }
    )


def _dead_letter_json(row: DeadLetterRow, loaded_at: str) -> bytes:
    return orjson.dumps(
        {
            "stream": row.stream,
            "shard_id": row.shard_id,
            "position": row.position,
            "reason": row.reason,
            "message": row.message,
            "origin": row.origin,
            "producer_key_id": row.producer_key_id,
            "producer_source": row.producer_source,
            "producer_name": row.producer_name,
            "event_id": row.event_id,
            "received_at": _ts(row.received_at),
            # JSON null payloads are stored as SQL NULL (DuckDB's reader does the same).
            "payload": None if row.payload is None else orjson.Fragment(row.payload),
            "payload_base64": row.payload_base64,
            "payload_bytes": row.payload_bytes,
            "payload_truncated": row.payload_truncated,
            "loaded_at": loaded_at,
        }
    )


# payload and gateway are read as VARCHAR (DuckDB then gives an object's JSON text) and cast
# to JSON by the insert: measured ~1.5x faster than reading them as JSON. Safe because the
# parser only lets objects through there; dead-letter payloads can be any JSON value (a
# string would come out unquoted as VARCHAR), so they are read as JSON.
_DUCK_EVENT_TYPES = {
    "occurred_at": "TIMESTAMP",
    "received_at": "TIMESTAMP",
    "loaded_at": "TIMESTAMP",
}
_DUCK_DEAD_LETTER_TYPES = {
    "received_at": "TIMESTAMP",
    "loaded_at": "TIMESTAMP",
    "payload": "JSON",
    "payload_bytes": "BIGINT",
    "payload_truncated": "BOOLEAN",
}


def _duck_columns(names: Sequence[str], types: Mapping[str, str]) -> str:
    inner = ", ".join(f"'{name}': '{types.get(name, 'VARCHAR')}'" for name in names)
    return "{" + inner + "}"


class DuckDBWarehouse(Warehouse):
    """The raw layer in a DuckDB file (catalog name = file stem, e.g. `warehouse`)."""

    dialect = "duckdb"

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        import duckdb

        from pipeline.streams.private import private_directory, private_file, private_umask

        self.path = Path(path)
        self.description = str(self.path)
        try:
            if not read_only:  # created 0700 when missing; an existing one may be shared
                private_directory(self.path.parent, tighten_existing=False)
            # DuckDB creates the file itself, ignoring any mode we could give: the umask of
            # this one call makes it 0600 (the raw layer holds every event; issue 10)
            with private_umask():
                self._con: Any = duckdb.connect(str(self.path), read_only=read_only)
            if not read_only:
                private_file(self.path)  # one created before this rule
        except (OSError, duckdb.Error) as error:
            raise WarehouseError(f"warehouse {self.path}: cannot open it: {error}") from error
        self._closed = False
        self._read_only = read_only

    def _tighten_wal(self) -> None:
        """DuckDB (re)creates ``<file>.wal`` on the first write after each checkpoint with
        the process umask: tightened after every write."""
        if not self._read_only:
            from pipeline.streams.private import private_file

            private_file(self.path.with_name(self.path.name + ".wal"))

    def ensure_raw(self) -> None:
        for statement in _ddl("JSON", "TIMESTAMP"):
            self._con.execute(statement)
        self._tighten_wal()

    def append_batches(
        self, batches: Sequence[ShardBatch], *, loaded_at: datetime | None = None
    ) -> list[AppendResult]:
        stamp = _ts(loaded_at or utc_now())
        results: list[AppendResult] = []
        with tempfile.TemporaryDirectory(prefix="refract-load-") as scratch:
            self._con.execute("BEGIN TRANSACTION")
            try:
                for index, batch in enumerate(batches):
                    events = self._insert(
                        Path(scratch) / f"events-{index}.ndjson",
                        "raw.events",
                        EVENT_COLUMNS,
                        _DUCK_EVENT_TYPES,
                        [_event_json(row, stamp) for row in batch.events],
                    )
                    dead = self._insert(
                        Path(scratch) / f"dead-{index}.ndjson",
                        "raw.dead_letters",
                        DEAD_LETTER_COLUMNS,
                        _DUCK_DEAD_LETTER_TYPES,
                        [_dead_letter_json(row, stamp) for row in batch.dead_letters],
                    )
                    if batch.checkpoint is not None:
                        self._con.execute(
                            "INSERT INTO raw.load_checkpoints VALUES (?, ?, ?, ?) "
                            "ON CONFLICT (stream, shard_id) DO UPDATE SET "
                            "position = excluded.position, updated_at = excluded.updated_at",
                            [batch.stream, batch.shard_id, batch.checkpoint, stamp],
                        )
                    results.append(
                        AppendResult(events, dead, len(batch.events), len(batch.dead_letters))
                    )
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
        self._tighten_wal()
        return results

    def _insert(
        self,
        path: Path,
        table: str,
        columns: Sequence[str],
        types: Mapping[str, str],
        lines: list[bytes],
    ) -> int:
        if not lines:
            return 0
        with open(path, "wb") as handle:
            handle.write(b"\n".join(lines))
            handle.write(b"\n")
        names = ", ".join(columns)
        (count,) = self._con.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM read_json(?, "
            f"format = 'newline_delimited', columns = {_duck_columns(columns, types)}, "
            "maximum_object_size = 16777216) ON CONFLICT DO NOTHING",
            [str(path)],
        ).fetchone()
        return int(count)

    def checkpoints(self) -> dict[tuple[str, str], str]:
        rows = self._con.execute(
            "SELECT stream, shard_id, position FROM raw.load_checkpoints"
        ).fetchall()
        return {(str(s), str(h)): str(p) for s, h, p in rows}

    def prune_raw(
        self, older_than_days: int = RETENTION_DAYS, now: datetime | None = None
    ) -> PruneResult:
        cutoff = self._cutoff(older_than_days, now)
        self._con.execute("BEGIN TRANSACTION")
        try:
            (events,) = self._con.execute(
                "DELETE FROM raw.events WHERE received_at < ?", [cutoff]
            ).fetchone()
            (dead,) = self._con.execute(
                "DELETE FROM raw.dead_letters WHERE received_at < ?", [cutoff]
            ).fetchone()
            self._con.execute("COMMIT")
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        return PruneResult(cutoff, int(events), int(dead))

    def _table_exists(self, qualified: str) -> bool:
        schema, table = qualified.split(".", 1)
        (count,) = self._con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchone()
        return int(count) > 0

    def _delete_older(self, tables: Sequence[str], column: str, cutoff: datetime) -> dict[str, int]:
        deleted: dict[str, int] = {}
        self._con.execute("BEGIN TRANSACTION")
        try:
            for table in tables:
                (count,) = self._con.execute(
                    f"DELETE FROM {table} WHERE {column} < ?", [cutoff]
                ).fetchone()
                deleted[table] = int(count)
            self._con.execute("COMMIT")
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        return deleted

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._con.execute(sql, list(params)).fetchall())

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._con.close()


# -- Snowflake ----------------------------------------------------------------------------------

SNOWFLAKE_STATEMENT_BYTES = 512 * 1024
"""Rows per INSERT are bounded by statement size (Snowflake's SQL text limit is ~1 MB)."""


def _sf_value(value: object) -> str:
    """A Snowflake SQL literal (client-side binding, as the connector's pyformat style does)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        value = _ts(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


_SF_EVENT_SELECT = {
    "occurred_at": "TO_TIMESTAMP_NTZ({c})",
    "received_at": "TO_TIMESTAMP_NTZ({c})",
    "loaded_at": "TO_TIMESTAMP_NTZ({c})",
    "payload": "PARSE_JSON({c})",
    "gateway": "PARSE_JSON({c})",
}
_SF_DEAD_LETTER_SELECT = {
    "received_at": "TO_TIMESTAMP_NTZ({c})",
    "loaded_at": "TO_TIMESTAMP_NTZ({c})",
    "payload": "PARSE_JSON({c})",
    "payload_bytes": "{c}::BIGINT",
    "payload_truncated": "{c}::BOOLEAN",
}


def _event_values(row: EventRow, loaded_at: datetime) -> tuple[object, ...]:
    return (
        row.stream,
        row.shard_id,
        row.position,
        row.partition_key,
        row.event_id,
        row.event_name,
        row.schema_ref,
        row.dedup_key,
        row.source,
        row.occurred_at,
        row.received_at,
        row.payload,
        row.gateway,
        loaded_at,
    )


def _dead_letter_values(row: DeadLetterRow, loaded_at: datetime) -> tuple[object, ...]:
    return (
        row.stream,
        row.shard_id,
        row.position,
        row.reason,
        row.message,
        row.origin,
        row.producer_key_id,
        row.producer_source,
        row.producer_name,
        row.event_id,
        row.received_at,
        row.payload,
        row.payload_base64,
        row.payload_bytes,
        row.payload_truncated,
        loaded_at,
    )


@dataclass(frozen=True)
class SnowflakeTarget:
    """Connection settings for `snowflake.connector.connect`, and the database to use."""

    database: str
    connect_kwargs: Mapping[str, Any]
    create_database: bool = False

    @classmethod
    def from_url(cls, url: str) -> SnowflakeTarget:
        """`snowflake://user:password@account/database?warehouse=..&role=..&host=..&port=..
        &protocol=http&create_database=true` (the last four for emulators such as fakesnow)."""
        parts = urlsplit(url)
        if parts.scheme != "snowflake":
            raise WarehouseError(f"warehouse URL {url!r}: expected the snowflake:// scheme")
        database = unquote(parts.path.strip("/"))
        if not parts.hostname or not parts.username or not database:
            raise WarehouseError(
                "warehouse URL: expected snowflake://user:password@account/database"
                f"[?warehouse=..], got {parts.scheme}://{parts.hostname or ''}/{database}"
            )
        kwargs: dict[str, Any] = {
            "user": unquote(parts.username),
            "password": unquote(parts.password or ""),
            "account": parts.hostname,
        }
        create = False
        for key, value in parse_qsl(parts.query):
            if key == "create_database":
                create = value.lower() in ("1", "true", "yes")
            elif key == "port":
                kwargs["port"] = int(value)
            elif key in ("warehouse", "role", "host", "protocol", "schema", "authenticator"):
                kwargs[key] = value
            else:
                raise WarehouseError(f"warehouse URL: unknown parameter {key!r}")
        return cls(database, kwargs, create)


class SnowflakeWarehouse(Warehouse):
    """The raw layer in Snowflake (VARIANT JSON columns, TIMESTAMP_NTZ in UTC)."""

    dialect = "snowflake"

    def __init__(self, target: SnowflakeTarget) -> None:
        import snowflake.connector

        self.target = target
        self.description = f"snowflake://{target.connect_kwargs.get('account')}/{target.database}"
        try:
            kwargs = dict(target.connect_kwargs)
            # Naive timestamps are UTC in the raw layer, whatever the account's default zone.
            kwargs["session_parameters"] = {
                **kwargs.get("session_parameters", {}),
                "TIMEZONE": "UTC",
            }
            self._con: Any = snowflake.connector.connect(**kwargs)
            cursor = self._con.cursor()
            if target.create_database:
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS {target.database}")
            cursor.execute(f"USE DATABASE {target.database}")
        except snowflake.connector.Error as error:
            raise WarehouseError(
                f"warehouse {self.description}: cannot open it: {error}"
            ) from error
        self._closed = False

    def _execute(self, sql: str) -> list[tuple[Any, ...]]:
        cursor = self._con.cursor()
        cursor.execute(sql)
        return list(cursor.fetchall()) if cursor.description else []

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._execute("BEGIN")
        try:
            yield
            self._execute("COMMIT")
        except BaseException:
            self._execute("ROLLBACK")
            raise

    def ensure_raw(self) -> None:
        for statement in _ddl("VARIANT", "TIMESTAMP_NTZ"):
            self._execute(statement)

    def append_batches(
        self, batches: Sequence[ShardBatch], *, loaded_at: datetime | None = None
    ) -> list[AppendResult]:
        stamp = loaded_at or utc_now()
        results: list[AppendResult] = []
        with self._transaction():
            for batch in batches:
                events = self._insert(
                    "raw.events",
                    EVENT_COLUMNS,
                    _SF_EVENT_SELECT,
                    [_event_values(row, stamp) for row in batch.events],
                )
                dead = self._insert(
                    "raw.dead_letters",
                    DEAD_LETTER_COLUMNS,
                    _SF_DEAD_LETTER_SELECT,
                    [_dead_letter_values(row, stamp) for row in batch.dead_letters],
                )
                if batch.checkpoint is not None:
                    key = f"stream = {_sf_value(batch.stream)} AND shard_id = {_sf_value(batch.shard_id)}"
                    self._execute(f"DELETE FROM raw.load_checkpoints WHERE {key}")
                    self._execute(
                        "INSERT INTO raw.load_checkpoints (stream, shard_id, position, updated_at) "
                        f"SELECT {_sf_value(batch.stream)}, {_sf_value(batch.shard_id)}, "
                        f"{_sf_value(batch.checkpoint)}, TO_TIMESTAMP_NTZ({_sf_value(stamp)})"
                    )
                results.append(
                    AppendResult(events, dead, len(batch.events), len(batch.dead_letters))
                )
        return results

    def _insert(
        self,
        table: str,
        columns: Sequence[str],
        casts: Mapping[str, str],
        rows: list[tuple[object, ...]],
    ) -> int:
        """INSERT ... SELECT FROM VALUES ... WHERE NOT EXISTS, in statements of bounded size."""
        names = ", ".join(columns)
        select = ", ".join(
            casts.get(name, "{c}").format(c=f"column{i + 1}") + f" AS {name}"
            for i, name in enumerate(columns)
        )
        head = f"INSERT INTO {table} ({names}) SELECT {names} FROM (SELECT {select} FROM VALUES "
        tail = (
            f") AS s WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE t.stream = s.stream "
            "AND t.shard_id = s.shard_id AND t.position = s.position)"
        )
        inserted = 0
        chunk: list[str] = []
        size = 0
        for row in rows:
            literal = "(" + ", ".join(_sf_value(value) for value in row) + ")"
            if chunk and size + len(literal) > SNOWFLAKE_STATEMENT_BYTES:
                inserted += self._insert_chunk(head, chunk, tail)
                chunk, size = [], 0
            chunk.append(literal)
            size += len(literal) + 2
        if chunk:
            inserted += self._insert_chunk(head, chunk, tail)
        return inserted

    def _insert_chunk(self, head: str, chunk: list[str], tail: str) -> int:
        result = self._execute(head + ", ".join(chunk) + tail)
        return int(result[0][0]) if result else 0

    def checkpoints(self) -> dict[tuple[str, str], str]:
        rows = self._execute("SELECT stream, shard_id, position FROM raw.load_checkpoints")
        return {(str(s), str(h)): str(p) for s, h, p in rows}

    def prune_raw(
        self, older_than_days: int = RETENTION_DAYS, now: datetime | None = None
    ) -> PruneResult:
        cutoff = self._cutoff(older_than_days, now)
        literal = f"TO_TIMESTAMP_NTZ({_sf_value(cutoff)})"
        with self._transaction():
            events = self._execute(f"DELETE FROM raw.events WHERE received_at < {literal}")
            dead = self._execute(f"DELETE FROM raw.dead_letters WHERE received_at < {literal}")
        return PruneResult(
            cutoff, int(events[0][0]) if events else 0, int(dead[0][0]) if dead else 0
        )

    def _table_exists(self, qualified: str) -> bool:
        schema, table = qualified.split(".", 1)
        # unquoted identifiers are stored upper-case in Snowflake's information schema
        rows = self._execute(
            "SELECT count(*) FROM information_schema.tables "
            f"WHERE table_schema = {_sf_value(schema.upper())} "
            f"AND table_name = {_sf_value(table.upper())}"
        )
        return bool(rows) and int(rows[0][0]) > 0

    def _delete_older(self, tables: Sequence[str], column: str, cutoff: datetime) -> dict[str, int]:
        literal = f"TO_TIMESTAMP_NTZ({_sf_value(cutoff)})"
        deleted: dict[str, int] = {}
        with self._transaction():
            for table in tables:
                result = self._execute(f"DELETE FROM {table} WHERE {column} < {literal}")
                deleted[table] = int(result[0][0]) if result else 0
        return deleted

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._con.cursor()
        cursor.execute(sql, tuple(params) or None)
        return list(cursor.fetchall())

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._con.close()


def open_warehouse(target: str | Path | SnowflakeTarget) -> Warehouse:
    """A DuckDB file (any path; its parent directory is created) or a `snowflake://` URL /
    `SnowflakeTarget`. The raw tables are not created here: call `ensure_raw()`."""
    if isinstance(target, SnowflakeTarget):
        return SnowflakeWarehouse(target)
    text = os.fspath(target)
    if text.startswith("snowflake://"):
        return SnowflakeWarehouse(SnowflakeTarget.from_url(text))
    if "://" in text:
        raise WarehouseError(
            f"warehouse {text!r}: expected a DuckDB file path or a snowflake:// URL"
        )
    return DuckDBWarehouse(text)
