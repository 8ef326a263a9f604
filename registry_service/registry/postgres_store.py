"""The production store: PostgreSQL, shared by several registry replicas.

Every write transaction on a subject first locks that subject's row (`SELECT ... FOR UPDATE`
after an idempotent insert), so replicas registering to the same subject at the same moment
take turns: each sees the versions committed before it and the next number is always
max + 1, consecutive, without duplicates. Different subjects do not wait for each other until
the final generation bump. Table creation runs under a transaction-scoped advisory lock so that
replicas starting together do not race on CREATE TABLE.

psycopg 3 (sync) with a small built-in pool: connections are created on demand, handed to one
transaction at a time and returned, and a connection that failed is discarded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import psycopg
from psycopg import sql as pgsql

from registry_service.registry.sql import POSTGRES, SqlTx, ddl

_DDL_LOCK_KEY = 0x7265667261637431  # "refract1": one advisory lock id for schema creation


class PostgresStore:
    kind = "postgres"

    def __init__(self, dsn: str, *, schema: str | None = None, pool_size: int = 10) -> None:
        """`schema` (a PostgreSQL schema name) isolates one registry inside a database; it is
        created when missing and put first on the search path of every connection."""
        self.dsn = dsn
        self.schema = schema
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(pool_size)
        self._closed = False
        with self._transaction() as tx:
            tx.cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK_KEY,))
            for statement in ddl(POSTGRES):
                tx.cursor.execute(statement)

    def _connect(self) -> psycopg.Connection:
        connection = psycopg.connect(self.dsn, autocommit=True)
        if self.schema is not None:
            name = pgsql.Identifier(self.schema)
            connection.execute(pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
            connection.execute(pgsql.SQL("SET search_path TO {}").format(name))
        return connection

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        self._slots.acquire()
        try:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                connection = self._connect()
            try:
                yield connection
            except BaseException:
                if connection.closed or connection.info.transaction_status not in (
                    psycopg.pq.TransactionStatus.IDLE,
                ):
                    connection.close()
                else:
                    self._idle.put(connection)
                raise
            if self._closed:
                connection.close()
            else:
                self._idle.put(connection)
        finally:
            self._slots.release()

    @contextmanager
    def _transaction(self, subject: str | None = None) -> Iterator[SqlTx]:
        with self._connection() as connection, connection.transaction():
            cursor = connection.cursor()
            tx = SqlTx(cursor, POSTGRES)
            if subject is not None:
                tx.lock_subject(subject)
            yield tx
            tx.finish()

    def read(self) -> AbstractContextManager[SqlTx]:
        return self._transaction()

    def write(self, subject: str | None = None) -> AbstractContextManager[SqlTx]:
        return self._transaction(subject)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break

    def drop_schema(self) -> None:
        """Drop this store's schema and everything in it (tests)."""
        if self.schema is None:
            raise ValueError("no schema to drop: the store uses the connection's search path")
        self.close()
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute(
                pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(self.schema))
            )
