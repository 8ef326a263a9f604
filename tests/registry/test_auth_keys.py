"""Admin token on writes, optional read protection, and the write-key store (both stores)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from registry_service.model import Producer
from registry_service.registry.keys import InvalidKeyRequest, KeyStore
from registry_service.registry.service import Registry
from tests.registry.conftest import ADMIN, body, make_app, object_schema

SCHEMA = object_schema({"name": {"type": "string"}})


def test_writes_need_the_admin_token(client: TestClient) -> None:
    path = "/subjects/people/versions"
    missing = client.post(path, json=body(SCHEMA))
    assert (missing.status_code, missing.json()["error_code"]) == (401, 40101)
    wrong = client.post(path, json=body(SCHEMA), headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.json()["error_code"]) == (403, 40301)
    basic = client.post(path, json=body(SCHEMA), headers={"Authorization": "Basic YWRtaW46eA=="})
    assert basic.status_code == 401
    for method, url in (
        ("PUT", "/config"),
        ("PUT", "/mode/people"),
        ("DELETE", "/subjects/people"),
        ("DELETE", "/config/people"),
    ):
        assert client.request(method, url, json={}).status_code == 401, url
    assert client.get("/subjects").status_code == 200  # reads are open by default
    assert client.post(path, json=body(SCHEMA), headers=ADMIN).status_code == 200


def test_reads_can_require_a_token(registry: Registry, keys: KeyStore) -> None:
    _, raw = keys.create("web", "promptflow-web")
    with TestClient(make_app(registry, read_auth=True)) as client:
        assert client.get("/subjects").json()["error_code"] == 40101
        assert client.get("/config", headers={"Authorization": "Bearer x"}).status_code == 403
        assert client.get("/subjects", headers=ADMIN).status_code == 200
        assert client.get("/subjects", headers={"Authorization": f"Bearer {raw}"}).json() == []
        # a write key reads, but never writes the registry
        attempt = client.post(
            "/subjects/people/versions",
            json=body(SCHEMA),
            headers={"Authorization": f"Bearer {raw}"},
        )
        assert attempt.status_code == 403


def test_key_lifecycle(keys: KeyStore) -> None:
    key_id, raw = keys.create("mobile", "ios-app")
    assert raw.startswith(f"rfk_{key_id}_")
    assert keys.verify(raw) == Producer(key_id=key_id, source="mobile", name="ios-app")
    other_id, other = keys.create("crm", "hubspot")
    assert keys.verify(other) == Producer(key_id=other_id, source="crm", name="hubspot")

    secret = raw.split("_", 2)[2]
    assert keys.verify(f"rfk_{key_id}_{secret[:-1]}x") is None  # wrong secret
    assert keys.verify(f"rfk_{other_id}_{secret}") is None  # secret of another key
    assert keys.verify(f"rfk_{'0' * 16}_{secret}") is None  # unknown id
    assert keys.verify("not a key") is None
    assert keys.verify("") is None

    listed = {k.key_id: k for k in keys.list()}
    assert set(listed) == {key_id, other_id}
    assert listed[key_id].active and listed[key_id].name == "ios-app"
    assert secret not in repr(listed)

    assert keys.revoke(key_id) is True
    assert keys.verify(raw) is None
    assert keys.revoke(key_id) is False  # already revoked
    assert keys.revoke("0" * 16) is False
    assert not {k.key_id: k for k in keys.list()}[key_id].active
    assert keys.verify(other) is not None


def test_keys_are_stored_hashed(keys: KeyStore) -> None:
    key_id, raw = keys.create("web", "promptflow-web")
    with keys.store.read() as tx:
        row = tx.key(key_id)
    assert row is not None
    secret = raw.split("_", 2)[2]
    assert secret not in row.secret_sha256 and len(row.secret_sha256) == 64


@pytest.mark.parametrize(
    ("source", "name", "fragment"),
    [
        ("desktop", "x", "unknown source"),
        ("web", "", "producer name"),
        ("web", "a b", "producer name"),
    ],
)
def test_bad_key_requests(keys: KeyStore, source: str, name: str, fragment: str) -> None:
    with pytest.raises(InvalidKeyRequest, match=fragment):
        keys.create(source, name)
