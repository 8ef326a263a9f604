"""The Confluent-style REST API, on both stores: paths, bodies, error codes, modes, deletes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry_service.registry.router import MEDIA_TYPE
from tests.registry.conftest import ADMIN, body, object_schema

NAME = {"name": {"type": "string", "description": "a name"}}
V1 = object_schema(NAME, ["name"])
V2 = object_schema({**NAME, "age": {"type": "integer"}}, ["name"])  # optional field: compatible
V3_BREAKING = object_schema({**NAME, "age": {"type": "integer"}}, ["name", "age"])


def register(client: TestClient, subject: str, schema: Any, **extra: Any) -> Any:
    return client.post(f"/subjects/{subject}/versions", json=body(schema, **extra), headers=ADMIN)


def error(response: Any, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["error_code"] == code, payload
    assert payload["message"]
    return str(payload["message"])


def test_register_and_read_back(client: TestClient) -> None:
    first = register(client, "people", V1)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith(MEDIA_TYPE)
    second = register(client, "people", V2)
    assert second.json()["id"] != first.json()["id"]

    assert client.get("/subjects").json() == ["people"]
    assert client.get("/subjects/people/versions").json() == [1, 2]
    latest = client.get("/subjects/people/versions/latest").json()
    assert latest["version"] == 2 and latest["id"] == second.json()["id"]
    assert latest["schemaType"] == "JSON" and json.loads(latest["schema"]) == V2
    assert latest["semver"] is None  # not a Refract contract: no declared version
    assert client.get("/subjects/people/versions/-1").json()["version"] == 2
    assert client.get("/subjects/people/versions/1").json()["id"] == first.json()["id"]
    raw = client.get("/subjects/people/versions/1/schema")
    assert json.loads(raw.text) == V1

    by_id = client.get(f"/schemas/ids/{first.json()['id']}").json()
    assert json.loads(by_id["schema"]) == V1 and by_id["schemaType"] == "JSON"
    assert client.get(f"/schemas/ids/{first.json()['id']}/versions").json() == [
        {"subject": "people", "version": 1}
    ]
    assert client.get("/schemas/types").json() == ["JSON"]


def test_identical_schema_is_idempotent_and_ids_are_global(client: TestClient) -> None:
    first = register(client, "people", V1).json()["id"]
    # same JSON value with other key order and whitespace: the same schema
    reordered = json.dumps(dict(reversed(list(V1.items()))), indent=4)
    again = client.post(
        "/subjects/people/versions", json={"schema": reordered}, headers=ADMIN
    ).json()["id"]
    assert again == first
    assert client.get("/subjects/people/versions").json() == [1]
    elsewhere = register(client, "persons", V1).json()["id"]
    assert elsewhere == first  # one global id per distinct schema
    assert client.get(f"/schemas/ids/{first}/subjects").json() == ["people", "persons"]
    found = client.post("/subjects/persons", json=body(V1)).json()
    assert found["version"] == 1 and found["id"] == first
    error(client.post("/subjects/persons", json=body(V2)), 404, 40403)


def test_both_content_types_are_accepted_and_others_refused(client: TestClient) -> None:
    for media in ("application/json", MEDIA_TYPE, f"{MEDIA_TYPE}; charset=utf-8"):
        response = client.post(
            "/subjects/people/versions",
            content=json.dumps(body(V1)),
            headers={**ADMIN, "Content-Type": media},
        )
        assert response.status_code == 200, (media, response.text)
    refused = client.post(
        "/subjects/people/versions",
        content=json.dumps(body(V1)),
        headers={**ADMIN, "Content-Type": "text/plain"},
    )
    assert "text/plain" in error(refused, 400, 40001)
    malformed = client.post("/subjects/people/versions", content=b"{not json", headers=ADMIN)
    assert "Malformed JSON" in error(malformed, 400, 40001)


def test_not_found_codes(client: TestClient) -> None:
    error(client.get("/subjects/nobody/versions"), 404, 40401)
    error(client.get("/subjects/nobody/versions/1"), 404, 40401)
    register(client, "people", V1)
    error(client.get("/subjects/people/versions/7"), 404, 40402)
    error(client.get("/schemas/ids/999"), 404, 40403)
    message = error(client.get("/subjects/people/versions/zero"), 422, 42202)
    assert "zero" in message
    error(client.get("/subjects/people/versions/0"), 422, 42202)


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"schema": "{not json"}, "not JSON"),
        ({"schema": json.dumps({"type": "strin"})}, "type"),
        ({"schema": json.dumps({"$ref": "../common/user/1.0.0.json"})}, "$ref"),
        ({"schema": json.dumps(V1), "schemaType": "AVRO"}, "AVRO"),
        (
            {"schema": json.dumps(V1), "references": [{"name": "x", "subject": "y", "version": 1}]},
            "references",
        ),
        ({"schemaType": "JSON"}, "missing"),
        ({"schema": 42}, "string"),
    ],
)
def test_invalid_schemas_are_42201(client: TestClient, payload: Any, fragment: str) -> None:
    response = client.post("/subjects/people/versions", json=payload, headers=ADMIN)
    assert fragment in error(response, 422, 42201)
    error(client.get("/subjects/people/versions"), 404, 40401)  # nothing was written


def test_incompatible_registration_is_409_with_changes(client: TestClient) -> None:
    register(client, "people", V1)
    register(client, "people", V2)
    response = register(client, "people", V3_BREAKING)
    message = error(response, 409, 409)
    assert "incompatible" in message
    payload = response.json()
    assert payload["compatibility"] == "BACKWARD_TRANSITIVE"
    assert payload["compared_with"] == [1, 2]
    breaking = [c for c in payload["changes"] if not c["compatible"]]
    # against version 1 (no age) and version 2 (optional age)
    assert {(c["type"], c["reader"]) for c in breaking} >= {
        ("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "the new schema"),
        ("REQUIRED_ATTRIBUTE_ADDED", "the new schema"),
    }
    assert {c["writer"] for c in breaking} == {"version 1", "version 2"}
    assert all(c["new_path"].startswith("#/") for c in breaking)
    # the counterexample is old data the new schema rejects: it lacks the new required field
    assert all("age" not in c["counterexample"] for c in breaking)
    assert client.get("/subjects/people/versions").json() == [1, 2]


def test_compatibility_endpoint_answers_with_changes(client: TestClient) -> None:
    register(client, "people", V1)
    plain = client.post("/compatibility/subjects/people/versions/latest", json=body(V3_BREAKING))
    assert plain.status_code == 200, plain.text
    answer = plain.json()
    assert answer["is_compatible"] is False
    assert "messages" not in answer  # Confluent: messages only with verbose
    assert answer["changes"][0]["type"] == "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
    assert answer["changes"][0]["counterexample"] == {"name": ""} or isinstance(
        answer["changes"][0]["counterexample"], dict
    )
    verbose = client.post(
        "/compatibility/subjects/people/versions/1?verbose=true", json=body(V3_BREAKING)
    ).json()
    assert verbose["is_compatible"] is False
    assert any("#/properties/age" in m for m in verbose["messages"])
    good = client.post("/compatibility/subjects/people/versions", json=body(V2)).json()
    assert good["is_compatible"] is True
    assert [c["type"] for c in good["changes"]] == [
        "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
    ]
    error(client.post("/compatibility/subjects/nobody/versions/latest", json=body(V1)), 404, 40401)
    error(client.post("/compatibility/subjects/people/versions/9", json=body(V1)), 404, 40402)


def test_config_levels(client: TestClient) -> None:
    assert client.get("/config").json() == {"compatibilityLevel": "BACKWARD_TRANSITIVE"}
    error(client.get("/config/people"), 404, 40408)
    assert client.get("/config/people?defaultToGlobal=true").json() == {
        "compatibilityLevel": "BACKWARD_TRANSITIVE"
    }
    assert client.put("/config", json={"compatibility": "full"}, headers=ADMIN).json() == {
        "compatibility": "FULL"
    }
    assert client.get("/config").json() == {"compatibilityLevel": "FULL"}
    put = client.put("/config/people", json={"compatibility": "NONE"}, headers=ADMIN)
    assert put.json() == {"compatibility": "NONE"}
    assert client.get("/config/people").json() == {"compatibilityLevel": "NONE"}
    error(
        client.put("/config/people", json={"compatibility": "SIDEWAYS"}, headers=ADMIN), 422, 42203
    )
    error(client.put("/config", json={}, headers=ADMIN), 422, 42203)

    register(client, "people", V1)
    assert register(client, "people", V3_BREAKING).status_code == 200  # NONE: anything goes
    assert client.delete("/config/people", headers=ADMIN).json() == {"compatibilityLevel": "NONE"}
    error(client.get("/config/people"), 404, 40408)
    # back under the global FULL: removing the required field is not forward compatible
    error(register(client, "people", V2), 409, 409)


def test_modes(client: TestClient) -> None:
    assert client.get("/mode").json() == {"mode": "READWRITE"}
    error(client.put("/mode", json={"mode": "SOMETIMES"}, headers=ADMIN), 422, 42204)
    register(client, "people", V1)
    assert client.put("/mode/people", json={"mode": "READONLY"}, headers=ADMIN).json() == {
        "mode": "READONLY"
    }
    assert client.get("/mode/people").json() == {"mode": "READONLY"}
    assert "read-only" in error(register(client, "people", V2), 422, 42205)
    error(client.delete("/subjects/people", headers=ADMIN), 422, 42205)
    register(client, "others", V2)  # other subjects keep the global READWRITE
    # IMPORT on a subject with versions needs force
    error(client.put("/mode/people", json={"mode": "IMPORT"}, headers=ADMIN), 422, 42205)
    forced = client.put("/mode/people?force=true", json={"mode": "IMPORT"}, headers=ADMIN)
    assert forced.json() == {"mode": "IMPORT"}
    # explicit ids and versions are kept in IMPORT mode, compatibility is not enforced
    imported = register(client, "people", V3_BREAKING, id=500, version=7)
    assert imported.json() == {"id": 500}
    assert client.get("/subjects/people/versions").json() == [1, 7]
    clash = register(client, "people", object_schema({"other": {"type": "string"}}), id=500)
    error(clash, 422, 42207)
    assert client.delete("/mode/people", headers=ADMIN).json() == {"mode": "IMPORT"}
    error(client.get("/mode/people"), 404, 40409)
    # back in READWRITE: explicit ids are refused, and new ids continue above imported ones
    error(register(client, "people", V2, id=900), 422, 42205)
    fresh = register(client, "fresh", object_schema({"x": {"type": "string"}}))
    assert fresh.json()["id"] > 500


def test_soft_and_hard_delete(client: TestClient) -> None:
    register(client, "people", V1)
    register(client, "people", V2)
    error(client.delete("/subjects/people/versions/1?permanent=true", headers=ADMIN), 404, 40407)
    assert client.delete("/subjects/people/versions/1", headers=ADMIN).json() == 1
    error(client.delete("/subjects/people/versions/1", headers=ADMIN), 404, 40406)
    assert client.get("/subjects/people/versions").json() == [2]
    assert client.get("/subjects/people/versions?deleted=true").json() == [1, 2]
    error(client.get("/subjects/people/versions/1"), 404, 40402)
    assert client.get("/subjects/people/versions/1?deleted=true").json()["deleted"] is True
    assert client.delete("/subjects/people/versions/1?permanent=true", headers=ADMIN).json() == 1
    assert client.get("/subjects/people/versions?deleted=true").json() == [2]

    error(client.delete("/subjects/people?permanent=true", headers=ADMIN), 404, 40405)
    assert client.delete("/subjects/people", headers=ADMIN).json() == [2]
    assert client.get("/subjects").json() == []
    assert client.get("/subjects?deleted=true").json() == ["people"]
    error(client.delete("/subjects/people", headers=ADMIN), 404, 40404)
    assert client.delete("/subjects/people?permanent=true", headers=ADMIN).json() == [2]
    error(client.get("/subjects/people/versions?deleted=true"), 404, 40401)
    error(client.delete("/subjects/people", headers=ADMIN), 404, 40401)
    # the subject starts over; the schema id of an identical schema is kept
    assert register(client, "people", V1).status_code == 200
    assert client.get("/subjects/people/versions").json() == [1]


def test_a_soft_deleted_schema_registers_again_as_a_new_version(client: TestClient) -> None:
    first = register(client, "people", V1).json()["id"]
    client.delete("/subjects/people/versions/1", headers=ADMIN)
    again = register(client, "people", V1)
    assert again.json()["id"] == first
    assert client.get("/subjects/people/versions").json() == [2]
