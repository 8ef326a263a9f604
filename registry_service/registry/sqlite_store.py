"""The embedded store: one SQLite file under the data directory.

Good for one machine: `refract serve` and the `refract keys` commands open the same file.
WAL mode lets readers run while one writer commits; BEGIN IMMEDIATE takes the write lock at
the start of every write transaction, so the read-check-insert of a registration is atomic
across threads and processes. Connections are per thread (sqlite3 objects must not be shared).

The file holds the write keys' hashes: it is created 0600 in a 0700 data directory (SQLite
gives its -wal and -shm files the database file's mode). A data directory this process cannot
write (read-only mount, wrong owner) is reported as ``StoreNotWritable``, naming the path and
the fix, at start-up and, should it happen later, at request time as a 503 (never SQLite's
bare "attempt to write a readonly database").
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from pipeline.streams.private import FILE_MODE, private_directory, private_file
from registry_service.registry.errors import RegistryError
from registry_service.registry.sql import SQLITE, SqlTx, ddl

BUSY_TIMEOUT_MS = 30_000
STORE_NOT_WRITABLE = 50301
"""Confluent-style error code of StoreNotWritable (HTTP 503: the operator must act)."""

_NOT_WRITABLE = ("readonly", "read-only", "unable to open database file", "disk i/o error")


class StoreNotWritable(RegistryError):
    """The registry database cannot be written; the message names the path and the fix."""

    def __init__(self, path: Path, cause: BaseException) -> None:
        directory = path.parent
        super().__init__(
            STORE_NOT_WRITABLE,
            f"the registry database {path} cannot be written ({cause}): the data directory "
            f"{directory} must be writable by this process (uid {os.getuid()}); fix its owner "
            "or permissions, mount it read-write, or point REFRACT_DATA_DIR (--data-dir) at a "
            "writable directory",
        )


def _not_writable(error: BaseException) -> bool:
    if isinstance(error, PermissionError):
        return True
    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError | OSError) and any(
        marker in text for marker in _NOT_WRITABLE
    )


class SqliteStore:
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            private_directory(self.path.parent)
            self._create_private()
            with self._transaction(write=True) as tx:
                for statement in ddl(SQLITE):
                    tx.cursor.execute(statement)
        except (OSError, sqlite3.OperationalError) as error:
            if _not_writable(error):
                self.close()
                raise StoreNotWritable(self.path, error) from error
            raise

    def _create_private(self) -> None:
        """The database file as 0600 before SQLite opens it (its journals inherit the mode)."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            for suffix in ("", "-wal", "-shm"):
                private_file(self.path.with_name(self.path.name + suffix))
            return
        os.close(fd)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path,
                isolation_level=None,
                timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
            )
            try:
                connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA foreign_keys = ON")
                connection.execute("PRAGMA synchronous = FULL")
            except sqlite3.Error:
                connection.close()  # never leak the file handle of a connection not kept
                raise
            self._local.connection = connection
            with self._lock:
                self._all.append(connection)
        return connection

    @contextmanager
    def _transaction(self, *, write: bool, subject: str | None = None) -> Iterator[SqlTx]:
        try:
            connection = self._connection()
            cursor = connection.cursor()
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.OperationalError as error:
            if _not_writable(error):
                raise StoreNotWritable(self.path, error) from error
            raise
        tx = SqlTx(cursor, SQLITE)
        try:
            if subject is not None:
                tx.lock_subject(subject)
            yield tx
            tx.finish()
        except sqlite3.OperationalError as error:
            with contextlib.suppress(sqlite3.Error):
                cursor.execute("ROLLBACK")
            if _not_writable(error):
                raise StoreNotWritable(self.path, error) from error
            raise
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        try:
            cursor.execute("COMMIT")
        except sqlite3.OperationalError as error:
            if _not_writable(error):
                raise StoreNotWritable(self.path, error) from error
            raise

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
