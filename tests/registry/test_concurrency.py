"""Concurrent registrations to one subject through two registry replicas sharing a database.

Each replica is a real uvicorn server with its own store object (its own connections), as two
processes of a deployment would be. Eight clients register different compatible schemas to
the same subject at the same moment, twice over; the versions must come out 1..N, consecutive,
each schema exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from registry_service.registry.postgres_store import PostgresStore
from registry_service.registry.service import Registry
from registry_service.registry.sqlite_store import SqliteStore
from registry_service.registry.store import Store
from tests.registry.conftest import ADMIN, Server, body, make_app, object_schema, serve

CLIENTS = 8
ROUNDS = 2


def second_replica(store: Store) -> Store:
    if isinstance(store, SqliteStore):
        return SqliteStore(store.path)
    assert isinstance(store, PostgresStore)
    return PostgresStore(store.dsn, schema=store.schema)


@pytest.fixture
def replicas(store: Store) -> Iterator[list[Server]]:
    other = second_replica(store)
    servers = [serve(make_app(Registry(s))) for s in (store, other)]
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()
        other.close()


def schema(tag: str) -> dict[str, object]:
    # descriptions differ, so every schema is distinct and each is compatible with all others
    return object_schema({"name": {"type": "string", "description": f"written by {tag}"}})


def test_concurrent_registrations_get_consecutive_versions(replicas: list[Server]) -> None:
    first = httpx.post(
        f"{replicas[0].url}/subjects/race/versions", json=body(schema("setup")), headers=ADMIN
    )
    assert first.status_code == 200, first.text
    results: dict[str, int] = {}
    failures: list[str] = []
    lock = threading.Lock()

    for round_ in range(ROUNDS):
        barrier = threading.Barrier(CLIENTS)

        def client(index: int, round_: int = round_, barrier: threading.Barrier = barrier) -> None:
            tag = f"round {round_} client {index}"
            url = replicas[index % len(replicas)].url
            barrier.wait()
            response = httpx.post(
                f"{url}/subjects/race/versions", json=body(schema(tag)), headers=ADMIN, timeout=60
            )
            with lock:
                if response.status_code == 200:
                    results[tag] = response.json()["id"]
                else:
                    failures.append(f"{tag}: {response.status_code} {response.text}")

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert failures == []
    expected = 1 + CLIENTS * ROUNDS
    versions = httpx.get(f"{replicas[1].url}/subjects/race/versions").json()
    assert versions == list(range(1, expected + 1))  # consecutive: no gaps, no duplicates
    assert len(set(results.values())) == CLIENTS * ROUNDS  # every schema got its own id
    seen: dict[str, int] = {}
    for version in versions[1:]:
        found = httpx.get(f"{replicas[0].url}/subjects/race/versions/{version}").json()
        description = found["schema"].split("written by ")[1].split('"')[0]
        assert description not in seen, f"{description} registered twice"
        seen[description] = version
        assert results[description] == found["id"]
    assert set(seen) == set(results)
