"""Fixtures: the same registry tests run against SQLite and PostgreSQL.

PostgreSQL is the real server at 127.0.0.1:5432 (database `test`); every test gets a schema of
its own, dropped afterwards. Without a server the PostgreSQL cases skip locally and fail in CI
(CI=true), where a missing service is a failure.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from registry_service.registry.contracts import ContractVersion, contract_versions
from registry_service.registry.keys import KeyStore
from registry_service.registry.postgres_store import PostgresStore
from registry_service.registry.router import MEDIA_TYPE, registry_router
from registry_service.registry.service import Registry
from registry_service.registry.sqlite_store import SqliteStore
from registry_service.registry.store import Store
from registry_service.settings import Settings, token_digest

PG_DSN = os.environ.get("REFRACT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
ADMIN_TOKEN = "admin-token-for-tests"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LENS_INSTANCES = 15  # generated instances per lens check: enough to catch the bad lenses here


@cache
def pg_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        with psycopg.connect(PG_DSN, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


def require_pg() -> None:
    problem = pg_available()
    if problem is None:
        return
    message = f"PostgreSQL at {PG_DSN} unavailable: {problem}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def pg_schema_name() -> str:
    return f"refract_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        sqlite = SqliteStore(tmp_path / "registry.db")
        yield sqlite
        sqlite.close()
        return
    require_pg()
    postgres = PostgresStore(PG_DSN, schema=pg_schema_name())
    try:
        yield postgres
    finally:
        postgres.drop_schema()


@pytest.fixture
def registry(store: Store) -> Registry:
    return Registry(store, lens_instances=LENS_INSTANCES)


def settings(*, read_auth: bool = False) -> Settings:
    return Settings(admin_token_sha256=token_digest(ADMIN_TOKEN), read_auth=read_auth)


def make_app(registry: Registry, *, read_auth: bool = False) -> FastAPI:
    app = FastAPI()
    app.include_router(registry_router(registry, settings(read_auth=read_auth)))
    return app


@pytest.fixture
def client(registry: Registry) -> Iterator[TestClient]:
    with TestClient(make_app(registry), headers={"Content-Type": MEDIA_TYPE}) as test_client:
        yield test_client


@pytest.fixture
def keys(store: Store) -> KeyStore:
    return KeyStore(store)


@cache
def contracts() -> dict[str, list[ContractVersion]]:
    """This repository's contract versions (bundled once per test process), by event."""
    found: dict[str, list[ContractVersion]] = {}
    for item in contract_versions(CONTRACTS):
        found.setdefault(item.subject, []).append(item)
    return found


def contract(event: str, semver: str) -> ContractVersion:
    return next(v for v in contracts()[event] if v.semver == semver)


def object_schema(
    properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A small closed object schema for tests that are about the API, not the contracts."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "required": required or [],
        **extra,
    }


def body(schema: Any, **extra: Any) -> dict[str, Any]:
    import json

    return {"schemaType": "JSON", "schema": json.dumps(schema), **extra}


@dataclass
class Server:
    """A real uvicorn server in a thread, on a free port."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(app: FastAPI) -> Server:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.01)
    return Server(f"http://127.0.0.1:{port}", server, thread)
