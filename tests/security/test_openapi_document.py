"""/openapi.json tells the truth: request bodies, typed answers, error shapes, credentials.

The checks are made against the served document and, for credentials, against what the
server does: each operation is called without credentials and must answer 401 exactly when
its declared `security` does not allow anonymous calls.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import jsonschema
import pytest

from registry_service.registry.service import LEVELS, MODES
from tests.gateway.conftest import Service
from tests.security.conftest import openapi_document, operations

REGISTRY_MEDIA = "application/vnd.schemaregistry.v1+json"
SEGMENT_PATHS = re.compile(r"^/v1/(batch|track|page|screen|identify|t|p|s|i|b)$")
OPERATIONS_PATHS = {"/healthz", "/readyz", "/metrics"}


def family(path: str) -> str:
    """Which error format an endpoint answers in (common.md: one per endpoint family)."""
    if SEGMENT_PATHS.match(path):
        return "segment"
    if path.startswith("/v1/"):
        return "gateway"
    if path in OPERATIONS_PATHS:
        return "operations"
    return "registry"


ERROR_MODEL = {
    "registry": "ConfluentError",
    "gateway": "GatewayErrorBody",
    "segment": "SegmentError",
}


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    assert ref.startswith("#/components/schemas/"), ref
    name = ref.removeprefix("#/components/schemas/")
    assert name in document["components"]["schemas"], f"unresolvable {ref}"
    resolved: dict[str, Any] = document["components"]["schemas"][name]
    return resolved


def validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator of `schema` whose `#/components/...` refs resolve in `document`."""
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def test_every_post_and_put_documents_a_typed_request_body(served: Service) -> None:
    document = openapi_document(served)
    checked = 0
    for method, path, op in operations(document):
        if method not in ("post", "put"):
            assert "requestBody" not in op, f"{method.upper()} {path} declares a body"
            continue
        body = op.get("requestBody")
        assert body is not None, f"{method.upper()} {path} does not document its request body"
        assert body["required"] is True
        content = body["content"]
        if family(path) == "registry":
            assert {"application/json", REGISTRY_MEDIA} <= set(content), (path, list(content))
        for media, declared in content.items():
            schema = resolve(document, declared["schema"])
            assert schema, f"{method.upper()} {path} {media}: empty body schema"
            if media == "application/json" or media.endswith("+json"):
                kinds = schema.get("type", "anyOf" in schema and "union")
                assert kinds in ("object", "union"), f"{path} {media}: {schema}"
        checked += 1
    assert checked == 21  # the registry's 8, /v1/events, 10 Segment paths, CRM, logs


def test_success_answers_are_typed_not_strings(served: Service) -> None:
    document = openapi_document(served)
    for method, path, op in operations(document):
        successes = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert successes, f"{method.upper()} {path} declares no 2xx"
        for code, response in successes.items():
            content = response.get("content")
            assert content, f"{method.upper()} {path} {code}: no content declared"
            for media, declared in content.items():
                if media.startswith("text/"):  # /metrics: Prometheus' text format
                    continue
                schema = resolve(document, declared.get("schema", {}))
                where = f"{method.upper()} {path} {code} {media}"
                assert schema, f"{where}: no schema"
                assert schema.get("type") != "string", f"{where}: declared as a string"
                if family(path) == "registry":
                    assert media == REGISTRY_MEDIA, where


def test_error_answers_are_documented_in_their_family_format(served: Service) -> None:
    document = openapi_document(served)
    for method, path, op in operations(document):
        kind = family(path)
        if kind == "operations":
            continue
        errors = {code: r for code, r in op["responses"].items() if code[0] in "45"}
        assert {"400", "401"} <= set(errors), f"{method.upper()} {path}: {sorted(errors)}"
        for code, response in errors.items():
            for media, declared in response["content"].items():
                expected = REGISTRY_MEDIA if kind == "registry" else "application/json"
                assert media == expected, f"{method.upper()} {path} {code}: {media}"
                assert declared["schema"] == {
                    "$ref": f"#/components/schemas/{ERROR_MODEL[kind]}"
                }, f"{method.upper()} {path} {code}"
    # never FastAPI's HTTPValidationError: every handler answers in its family's format
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_security_schemes_are_declared(served: Service) -> None:
    schemes = openapi_document(served)["components"]["securitySchemes"]
    assert {name: (s["type"], s["scheme"]) for name, s in schemes.items()} == {
        "writeKey": ("http", "bearer"),
        "adminToken": ("http", "bearer"),
        "segmentBasic": ("http", "basic"),
    }


def _fill(path: str) -> str:
    return (
        path.replace("{subject}", "page_view").replace("{version}", "1").replace("{schema_id}", "1")
    )


def _check_security_against_server(service: Service) -> int:
    """Call every operation without credentials; 401 exactly where `security` demands them,
    and the 401 body has the declared shape. Returns how many operations answered 401."""
    document = openapi_document(service)
    schemes = set(document["components"]["securitySchemes"])
    refused = 0
    with httpx.Client(base_url=service.url, timeout=30) as client:
        for method, path, op in operations(document):
            declared = op.get("security")
            for requirement in declared or []:
                assert set(requirement) <= schemes, (path, requirement)
            response = client.request(
                method.upper(),
                _fill(path),
                content=b"{}" if method in ("post", "put") else None,
                headers={"Content-Type": "application/json"},
            )
            where = f"{method.upper()} {path} answered {response.status_code}"
            anonymous = not declared or {} in declared
            if response.status_code == 401:
                refused += 1
                assert not anonymous, f"{where} but its security allows anonymous calls"
                schema = op["responses"]["401"]["content"]
                media = response.headers["content-type"].split(";")[0]
                assert media in schema, f"{where} as {media}, declared {list(schema)}"
                validator(document, schema[media]["schema"]).validate(response.json())
            else:
                assert anonymous, f"{where} without credentials, yet declares {declared}"
    return refused


def test_declared_security_is_what_the_server_enforces(served: Service) -> None:
    # registry writes (9), /v1/events, 10 Segment paths, CRM, logs
    assert _check_security_against_server(served) == 22


def test_declared_security_follows_registry_read_auth(served_read_auth: Service) -> None:
    # ... and every registry read (the 13 GETs, the lookup and the 2 checks) as well
    assert _check_security_against_server(served_read_auth) == 22 + 16


@pytest.mark.parametrize("name", ["writeKey", "adminToken", "segmentBasic"])
def test_every_scheme_is_used(served: Service, name: str) -> None:
    document = openapi_document(served)
    used = {
        scheme
        for _, _, op in operations(document)
        for requirement in op.get("security", [])
        for scheme in requirement
    }
    assert name in used


def test_declared_levels_and_modes_are_the_registrys(served: Service) -> None:
    schemas = openapi_document(served)["components"]["schemas"]
    assert schemas["CompatibilityUpdate"]["properties"]["compatibility"]["enum"] == list(LEVELS)
    assert schemas["Mode"]["properties"]["mode"]["enum"] == list(MODES)
