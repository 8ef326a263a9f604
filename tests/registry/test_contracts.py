"""Refract's additions on real contracts: SemVer per version, compatibility within a major,
verified lenses for a new major, loading contracts on first start, the gateway's interface."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from registry_service.registry.bootstrap import load_contracts, open_registry
from registry_service.registry.service import Registry
from registry_service.settings import Settings
from tests.registry.conftest import ADMIN, CONTRACTS, contract, contracts


def register(client: TestClient, subject: str, payload: dict[str, Any]) -> Any:
    return client.post(f"/subjects/{subject}/versions", json=payload, headers=ADMIN)


def page_view_1x(client: TestClient) -> None:
    for semver in ("1.0.0", "1.1.0"):
        response = register(client, "page_view", contract("page_view", semver).body())
        assert response.status_code == 200, response.text


def test_versions_carry_their_semver(client: TestClient, registry: Registry) -> None:
    page_view_1x(client)
    first = client.get("/subjects/page_view/versions/1").json()
    latest = client.get("/subjects/page_view/versions/latest").json()
    assert (first["semver"], latest["semver"]) == ("1.0.0", "1.1.0")
    assert registry.versions("page_view") == ["1.0.0", "1.1.0"]
    assert registry.contract("page_view", "1.1.0") == contract("page_view", "1.1.0").schema
    assert registry.contract("page_view", "9.9.9") is None
    assert registry.contract("nothing", "1.0.0") is None


def test_a_new_major_needs_its_lens(client: TestClient) -> None:
    page_view_1x(client)
    two = contract("page_view", "2.0.0")
    without = {k: v for k, v in two.body().items() if k != "lens"}
    response = register(client, "page_view", without)
    assert response.status_code == 422 and response.json()["error_code"] == 42290
    assert "page_view/1.1.0" in response.json()["message"]
    assert client.get("/subjects/page_view/versions").json() == [1, 2]


def test_a_lens_that_mistranslates_is_refused_with_the_failing_example(
    client: TestClient,
) -> None:
    page_view_1x(client)
    two = contract("page_view", "2.0.0")
    assert two.lens is not None
    broken = copy.deepcopy(two.lens)
    broken["operations"] = [op for op in broken["operations"] if op.get("name") != "is_bot"]
    response = register(client, "page_view", {**two.body(), "lens": broken})
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["error_code"] == 42292
    assert "is_bot" in payload["message"]
    assert payload["example"]["schema"] == "page_view/1.1.0"  # an instance of the old version
    assert "is_bot" in payload["lens_output"]  # ... which the lens carried over unchanged
    assert client.get("/subjects/page_view/versions").json() == [1, 2]


def test_a_lens_between_other_versions_or_malformed_is_invalid(client: TestClient) -> None:
    page_view_1x(client)
    two = contract("page_view", "2.0.0")
    assert two.lens is not None
    wrong_source = {**two.lens, "from": "page_view/1.0.0"}
    response = register(client, "page_view", {**two.body(), "lens": wrong_source})
    assert response.json()["error_code"] == 42291
    assert "page_view/1.1.0" in response.json()["message"]
    malformed = {**two.lens, "operations": [{"op": "teleport", "name": "url"}]}
    response = register(client, "page_view", {**two.body(), "lens": malformed})
    assert response.json()["error_code"] == 42291
    assert response.json()["problems"]
    # a lens is only for the first version of a new major: not for a subject's first version,
    # nor for a minor
    signup = contract("signup", "1.0.0").body()
    response = register(client, "signup", {**signup, "lens": two.lens})
    assert response.json()["error_code"] == 42291
    assert register(client, "signup", signup).status_code == 200
    later = contract("signup", "1.1.0").body()
    response = register(client, "signup", {**later, "lens": two.lens})
    assert response.json()["error_code"] == 42291


def test_the_new_major_with_its_lens_registers_and_keeps_the_lens(client: TestClient) -> None:
    page_view_1x(client)
    two = contract("page_view", "2.0.0")
    check = client.post(
        "/compatibility/subjects/page_view/versions?verbose=true", json=two.body()
    ).json()
    assert check["is_compatible"] is True
    assert check["lens"]["from"] == "page_view/1.1.0"
    assert check["lens"]["instances_checked"] > len(
        contract("page_view", "1.1.0").schema["examples"]
    )
    response = register(client, "page_view", two.body())
    assert response.status_code == 200, response.text
    latest = client.get("/subjects/page_view/versions/latest").json()
    assert latest["semver"] == "2.0.0" and latest["version"] == 3
    assert latest["lens"] == two.lens


def test_compatibility_applies_within_a_major(client: TestClient) -> None:
    """A 2.1.0 is compared with 2.0.0 only: the 1.x versions are a different major."""
    page_view_1x(client)
    register(client, "page_view", contract("page_view", "2.0.0").body())
    schema = copy.deepcopy(contract("page_view", "2.0.0").schema)
    schema["properties"]["schema"]["default"] = "page_view/2.1.0"
    schema["properties"]["page"]["description"] = "The page, described again."
    answer = client.post(
        "/compatibility/subjects/page_view/versions",
        json={"schema": json.dumps(schema)},
    ).json()
    assert answer["is_compatible"] is True
    assert answer["compared_with"] == [3]
    response = register(client, "page_view", {"schema": json.dumps(schema)})
    assert response.status_code == 200, response.text
    assert client.get("/subjects/page_view/versions/latest").json()["semver"] == "2.1.0"


def test_published_semver_is_immutable_and_ordered(client: TestClient) -> None:
    page_view_1x(client)
    edited = copy.deepcopy(contract("page_view", "1.1.0").schema)
    edited["description"] = "Edited in place."
    response = register(client, "page_view", {"schema": json.dumps(edited)})
    assert response.json()["error_code"] == 42201
    assert "immutable" in response.json()["message"]
    older = copy.deepcopy(contract("page_view", "1.0.0").schema)
    older["properties"]["schema"]["default"] = "page_view/0.9.0"
    response = register(client, "page_view", {"schema": json.dumps(older)})
    assert response.json()["error_code"] == 42201
    assert "older" in response.json()["message"]
    elsewhere = register(client, "signup", contract("page_view", "1.0.0").body())
    assert elsewhere.json()["error_code"] == 42201
    assert "subject is 'signup'" in elsewhere.json()["message"]


def test_loading_the_repository_contracts(registry: Registry) -> None:
    registered = load_contracts(registry, CONTRACTS)
    expected = sum(len(v) for v in contracts().values())
    assert registered == expected
    assert sorted(registry.subjects()) == sorted(contracts())
    for event, versions in contracts().items():
        assert registry.versions(event) == [v.semver for v in versions]
        assert registry.get_config(event, default_to_global=True) == versions[0].level
    assert registry.lens("page_view", "2.0.0") == contract("page_view", "2.0.0").lens
    generation = registry.generation()
    assert load_contracts(registry, CONTRACTS) == 0  # idempotent
    assert registry.generation() == generation


def test_open_registry_loads_contracts_on_first_start_only(tmp_path: Path) -> None:
    from registry_service.registry.keys import KeyStore
    from registry_service.registry.sqlite_store import SqliteStore

    settings = Settings(data_dir=tmp_path)
    KeyStore(SqliteStore(tmp_path / "registry.db")).create("web", "x")  # keys first: still fresh
    registry, _ = open_registry(settings, contracts=CONTRACTS)
    assert registry.versions("page_view") == ["1.0.0", "1.1.0", "2.0.0"]
    registry.delete_subject("signup")  # an operator's decisions survive a restart
    registry.delete_subject("signup", permanent=True)
    generation = registry.generation()
    registry.store.close()
    again, _ = open_registry(settings, contracts=CONTRACTS)
    assert again.generation() == generation
    assert "signup" not in again.subjects()
    assert (tmp_path / "registry.db").is_file()


def test_generation_increases_on_every_write(registry: Registry) -> None:
    start = registry.generation()
    item = contract("signup", "1.0.0")
    registry.register("signup", item.body())
    after_register = registry.generation()
    assert after_register > start
    registry.register("signup", item.body())  # identical: no write
    assert registry.generation() == after_register
    registry.set_config("signup", "FULL")
    assert registry.generation() > after_register


def test_open_registry_on_postgresql_from_a_dsn() -> None:
    """REFRACT_REGISTRY_DSN alone selects PostgreSQL (here with a search_path of its own)."""
    import psycopg

    from tests.registry.conftest import PG_DSN, pg_schema_name, require_pg

    require_pg()
    schema = pg_schema_name()
    with psycopg.connect(PG_DSN, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        dsn = f"{PG_DSN}?options=-csearch_path%3D{schema}"
        registry, keys = open_registry(Settings(registry_dsn=dsn), contracts=CONTRACTS)
        assert registry.store.kind == "postgres"
        assert registry.versions("signup") == ["1.0.0", "1.1.0"]
        _, raw = keys.create("backend", "accounts")
        assert keys.verify(raw) is not None
        registry.store.close()
        with psycopg.connect(PG_DSN) as connection:
            count = connection.execute(
                f'SELECT count(*) FROM "{schema}".registry_versions'
            ).fetchone()
        assert count is not None and count[0] == sum(len(v) for v in contracts().values())
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
