"""The embedded store: one SQLite file under the data directory.

Good for one machine: `refract serve` and the `refract keys` commands open the same file.
WAL mode lets readers run while one writer commits; BEGIN IMMEDIATE takes the write lock at
the start of every write transaction, so the read-check-insert of a registration is atomic
across threads and processes. Connections are per thread (sqlite3 objects must not be shared).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from registry_service.registry.sql import SQLITE, SqlTx, ddl

BUSY_TIMEOUT_MS = 30_000


class SqliteStore:
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        with self._transaction(write=True) as tx:
            for statement in ddl(SQLITE):
                tx.cursor.execute(statement)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path,
                isolation_level=None,
                timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
            )
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("PRAGMA synchronous = FULL")
            self._local.connection = connection
            with self._lock:
                self._all.append(connection)
        return connection

    @contextmanager
    def _transaction(self, *, write: bool, subject: str | None = None) -> Iterator[SqlTx]:
        connection = self._connection()
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        tx = SqlTx(cursor, SQLITE)
        try:
            if subject is not None:
                tx.lock_subject(subject)
            yield tx
            tx.finish()
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")

    def read(self) -> AbstractContextManager[SqlTx]:
        return self._transaction(write=False)

    def write(self, subject: str | None = None) -> AbstractContextManager[SqlTx]:
        return self._transaction(write=True, subject=subject)

    def close(self) -> None:
        with self._lock:
            for connection in self._all:
                with contextlib.suppress(sqlite3.ProgrammingError):  # closed already
                    connection.close()
            self._all.clear()
        self._local = threading.local()
