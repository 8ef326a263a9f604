"""Hostile input on every registry route: a Confluent 4xx, never a 5xx, never a file read.

The registry faces the internet and its reads and compatibility checks need no token by
default, so these tests send what an attacker would: out-of-range ids on every id route,
names with control and bidirectional-override characters, bodies that are not strict JSON
(NaN, lone surrogates, 5,000 levels of nesting, 5,000-digit integers), schemas whose `$ref`
names a file, a FIFO, a device or a URL, and bodies far above the size limit. Routes are
walked from the app itself, so a new route is covered without editing this file.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from registry_service.registry import errors
from registry_service.registry.limits import (
    MAX_BODY_BYTES,
    MAX_SCHEMA_BYTES,
    MAX_SCHEMA_NODES,
    MAX_SUBJECT_LENGTH,
)
from registry_service.registry.router import MEDIA_TYPE
from registry_service.registry.schemas import fingerprint
from registry_service.registry.service import Registry
from tests.registry.conftest import ADMIN, body, make_app, object_schema, serve

NAME = {"name": {"type": "string", "description": "a name"}}
V1 = object_schema(NAME, ["name"])
OUTSIDE = "references outside the schema are not resolved"
SECRET_VALUE = "hunter2-secret-from-disk"

HOSTILE_IDS = [
    "9223372036854775808",  # 2**63: one past int64
    "-9223372036854775809",
    "18446744073709551616",
    "0",
    "-1",
    "9" * 5000,  # more digits than int() converts
]
HOSTILE_VERSIONS = ["9223372036854775808", "9" * 5000, "-2", "\u0661", "0"]
HOSTILE_SUBJECTS = [
    "a\x00b",
    "evil\u202egnp.exe",
    "x\u2066y",
    "tab\there",
    "zero\u200bwidth",
    "s" * (MAX_SUBJECT_LENGTH + 1),
]


def confluent_error(response: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """The response is a Confluent error body with a 4xx status (the given one, if any)."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    payload = response.json()
    assert isinstance(payload["error_code"], int), payload
    assert str(payload["error_code"]).startswith(str(response.status_code)), payload
    assert isinstance(payload["message"], str) and payload["message"], payload
    return dict(payload)


def _flatten(entries: list[Any]) -> Iterator[APIRoute]:
    """API routes, including those of routers the app includes (this FastAPI keeps an
    included router as one entry holding the original router; make_app adds no prefix)."""
    for entry in entries:
        if isinstance(entry, APIRoute):
            yield entry
        included = getattr(entry, "original_router", None)
        if included is not None:
            yield from _flatten(list(included.routes))


def routes(client: TestClient) -> list[APIRoute]:
    app = client.app
    assert hasattr(app, "routes")
    found = list(_flatten(list(app.routes)))
    assert len(found) >= 25, [r.path for r in found]
    return found


def fill(path: str, **values: str) -> str:
    """The path with its parameters filled in, percent-encoded as a client sends them."""
    defaults = {"subject": "people", "version": "1", "schema_id": "1"}
    return re.sub(r"\{(\w+)\}", lambda m: quote(values.get(m[1], defaults[m[1]]), safe=""), path)


def each_request(route: APIRoute) -> Iterator[tuple[str, str]]:
    for method in sorted(route.methods or ()):
        if method not in ("HEAD", "OPTIONS"):
            yield method, route.path


def send(client: TestClient, method: str, url: str, content: bytes | None = None) -> Any:
    return client.request(
        method, url, content=content, headers={**ADMIN, "Content-Type": MEDIA_TYPE}
    )


# -- path parameters -----------------------------------------------------------------------------


def test_every_route_answers_hostile_path_parameters_with_a_confluent_4xx(
    client: TestClient,
) -> None:
    assert client.post("/subjects/people/versions", json=body(V1), headers=ADMIN).status_code == 200
    checked = 0
    for route in routes(client):
        params = set(re.findall(r"\{(\w+)\}", route.path))
        for method, path in each_request(route):
            content = json.dumps(body(V1)).encode() if method in ("POST", "PUT") else None
            cases: list[dict[str, str]] = []
            if "schema_id" in params:
                cases += [{"schema_id": value} for value in HOSTILE_IDS]
            if "version" in params:
                cases += [{"version": value} for value in HOSTILE_VERSIONS]
            if "subject" in params:
                cases += [{"subject": value} for value in HOSTILE_SUBJECTS]
            for case in cases:
                url = fill(path, **case)
                response = send(client, method, url, content)
                confluent_error(response)
                checked += 1
    assert checked > 100


@pytest.mark.parametrize("suffix", ["", "/schema", "/versions", "/subjects"])
@pytest.mark.parametrize("schema_id", ["9223372036854775808", "-9223372036854775809"])
def test_out_of_range_schema_ids_are_schema_not_found(
    client: TestClient, suffix: str, schema_id: str
) -> None:
    response = client.get(f"/schemas/ids/{schema_id}{suffix}")
    assert confluent_error(response, 404)["error_code"] == errors.SCHEMA_NOT_FOUND


def test_largest_int64_id_is_an_ordinary_not_found(client: TestClient) -> None:
    response = client.get(f"/schemas/ids/{2**63 - 1}")
    assert confluent_error(response, 404)["error_code"] == errors.SCHEMA_NOT_FOUND


def test_service_refuses_out_of_range_ids_without_asking_the_store(registry: Registry) -> None:
    from registry_service.registry.errors import RegistryError

    for schema_id in (2**63, -(2**63) - 1, 0):
        with pytest.raises(RegistryError) as caught:
            registry.schema(schema_id)
        assert caught.value.error_code == errors.SCHEMA_NOT_FOUND
        with pytest.raises(RegistryError):
            registry.schema_versions(schema_id)


@pytest.mark.parametrize("subject", HOSTILE_SUBJECTS)
def test_bad_subject_names_are_42208_on_writes_and_reads(client: TestClient, subject: str) -> None:
    quoted = "/subjects/" + quote(subject, safe="")
    registered = client.post(f"{quoted}/versions", json=body(V1), headers=ADMIN)
    assert confluent_error(registered, 422)["error_code"] == errors.INVALID_SUBJECT
    read = client.get(f"{quoted}/versions")
    assert confluent_error(read, 422)["error_code"] == errors.INVALID_SUBJECT
    assert client.get("/subjects?deleted=true").json() == []


def test_ordinary_unicode_subject_names_still_register(client: TestClient) -> None:
    for subject in ("page_view", "café-events", "日本語", "a.b-c_d:e", "s" * MAX_SUBJECT_LENGTH):
        response = client.post(f"/subjects/{subject}/versions", json=body(V1), headers=ADMIN)
        assert response.status_code == 200, (subject, response.text)


# -- bodies --------------------------------------------------------------------------------------

NOT_STRICT_BODIES = {
    "nan": b'{"schema": NaN}',
    "infinity": b'{"schema": "{}", "id": Infinity}',
    "minus_infinity": b'{"schema": "{}", "version": -Infinity}',
    "overflowing_float": b'{"schema": "{}", "x": 1e400}',
    "huge_integer": b'{"schema": "{}", "id": ' + b"9" * 5000 + b"}",
    "lone_surrogate": b'{"schema": "{}", "note": "\\ud800"}',
    "lone_surrogate_key": b'{"schema": "{}", "\\udfff": 1}',
    "deep_nesting": b'{"schema": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "deep_objects": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "not_utf8": b'{"schema": "\xff\xfe"}',
    "not_json": b"{schema: }",
}


@pytest.mark.parametrize("name", sorted(NOT_STRICT_BODIES))
def test_every_body_route_refuses_non_strict_json(client: TestClient, name: str) -> None:
    for route in routes(client):
        for method, path in each_request(route):
            if method not in ("POST", "PUT"):
                continue
            response = send(client, method, fill(path), NOT_STRICT_BODIES[name])
            assert confluent_error(response, 400)["error_code"] == errors.BAD_REQUEST


SCHEMA_TEXTS = {
    "nan": '{"type": "number", "maximum": NaN}',
    "infinity": '{"type": "number", "minimum": -Infinity}',
    "overflow": '{"type": "number", "maximum": 1e999}',
    "lone_surrogate": '{"type": "string", "description": "\\ud800"}',
    "lone_surrogate_key": '{"properties": {"\\udc00": {"type": "string"}}}',
    "deep": '{"items": ' * 5000 + "{}" + "}" * 5000,
    "huge_integer": '{"maximum": ' + "9" * 5000 + "}",
}


@pytest.mark.parametrize("name", sorted(SCHEMA_TEXTS))
def test_schemas_are_parsed_strictly_and_never_stored(client: TestClient, name: str) -> None:
    payload = {"schemaType": "JSON", "schema": SCHEMA_TEXTS[name]}
    registered = client.post("/subjects/people/versions", json=payload, headers=ADMIN)
    assert confluent_error(registered, 422)["error_code"] == errors.INVALID_SCHEMA
    checked = client.post("/compatibility/subjects/people/versions", json=payload)
    assert checked.status_code in (404, 422), checked.text
    confluent_error(checked)
    looked_up = client.post("/subjects/people", json=payload)
    confluent_error(looked_up)
    assert client.get("/subjects?deleted=true").json() == []


def test_schema_given_as_a_value_is_as_strict_as_a_string(registry: Registry) -> None:
    from registry_service.registry.errors import RegistryError

    for value in ({"maximum": float("nan")}, {"description": "\ud800"}):
        with pytest.raises(RegistryError) as caught:
            registry.register("people", {"schema": value})
        assert caught.value.error_code == errors.INVALID_SCHEMA


def test_import_mode_ids_beyond_int64_are_refused(client: TestClient) -> None:
    put = client.put("/mode/people", json={"mode": "IMPORT"}, headers=ADMIN)
    assert put.status_code == 200, put.text
    for schema_id in (2**63, 2**64, -(2**63) - 1):
        response = client.post(
            "/subjects/people/versions", json=body(V1, id=schema_id, version=1), headers=ADMIN
        )
        assert confluent_error(response, 400)["error_code"] == errors.BAD_REQUEST
    largest = client.post(
        "/subjects/people/versions", json=body(V1, id=2**63 - 1, version=1), headers=ADMIN
    )
    assert largest.status_code == 200, largest.text
    assert client.get(f"/schemas/ids/{2**63 - 1}").status_code == 200


def test_oversized_and_overlarge_schemas_are_42209(client: TestClient) -> None:
    wide = object_schema({f"p{i}": {"type": "string"} for i in range(MAX_SCHEMA_NODES // 2)})
    response = client.post("/compatibility/subjects/people/versions", json=body(wide))
    assert confluent_error(response, 422)["error_code"] == errors.SCHEMA_TOO_LARGE
    big = object_schema({"p": {"type": "string", "description": "x" * MAX_SCHEMA_BYTES}})
    response = client.post("/subjects/people/versions", json=body(big), headers=ADMIN)
    assert confluent_error(response, 422)["error_code"] == errors.SCHEMA_TOO_LARGE


# -- body size: checked before buffering ---------------------------------------------------------


def test_declared_oversized_body_is_413_unread(registry: Registry) -> None:
    server = serve(make_app(registry))
    try:
        with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as sock:
            sock.settimeout(10)
            sock.sendall(
                b"POST /compatibility/subjects/people/versions HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 314572800\r\n\r\n"
            )
            head = sock.recv(65536).decode("latin-1")
        assert head.startswith("HTTP/1.1 413"), head
        assert '"error_code":41301' in head, head
    finally:
        server.stop()


def test_streamed_oversized_body_is_413_without_being_buffered(registry: Registry) -> None:
    """A chunked 300 MB upload: refused once past the cap, long before it is all sent."""
    server = serve(make_app(registry))
    sent = 0
    tracemalloc.start()
    try:
        with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as sock:
            sock.settimeout(10)
            sock.sendall(
                b"POST /compatibility/subjects/people/versions HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"x" * (1024 * 1024)
            framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            try:
                while sent < 300 * 1024 * 1024:
                    sock.sendall(framed)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass  # the server answered and stopped reading: what this test wants
            head = b""
            try:
                while b"\r\n\r\n" not in head:
                    part = sock.recv(65536)
                    if not part:
                        break
                    head += part
            except (ConnectionResetError, TimeoutError):
                pass
        _, peak = tracemalloc.get_traced_memory()
        assert peak < 3 * MAX_BODY_BYTES + 16 * 1024 * 1024, f"{peak} bytes allocated"
        assert sent < 300 * 1024 * 1024, "the whole 300 MB was accepted"
        assert sent <= MAX_BODY_BYTES + 64 * 1024 * 1024, sent  # the cap plus socket buffers
        if head:  # a reset may discard the answer; when it arrives, it is the 413
            assert head.startswith(b"HTTP/1.1 413"), head[:200]
    finally:
        tracemalloc.stop()
        server.stop()


def test_body_just_under_the_cap_is_parsed(client: TestClient) -> None:
    padding = "x" * (MAX_BODY_BYTES - 200)
    content = json.dumps({"schema": "{}", "pad": padding}).encode()
    assert len(content) <= MAX_BODY_BYTES
    response = send(client, "POST", "/compatibility/subjects/people/versions", content)
    assert confluent_error(response, 404)["error_code"] == errors.SUBJECT_NOT_FOUND


# -- section 1 over HTTP: no file, FIFO, device or URL is ever read -------------------------------


def _holder(ref: str, **extra: Any) -> dict[str, Any]:
    return object_schema({"name": {"type": "string"}, "x": {"$ref": ref}}, ["name"], **extra)


@pytest.mark.parametrize(
    "ref",
    [
        "file:///dev/zero",
        "file:///dev/urandom",
        "file:///etc/passwd",
        "https://example.com/schema.json",
        "http://127.0.0.1:9/schema.json",
        "../../../../../etc/passwd",
        "common/user/1.0.0.json",
        "urn:example:other",
    ],
)
def test_outside_refs_are_42201_on_every_schema_route(client: TestClient, ref: str) -> None:
    assert client.post("/subjects/people/versions", json=body(V1), headers=ADMIN).status_code == 200
    payload = body(_holder(ref))
    for method, url, headers in [
        ("POST", "/compatibility/subjects/people/versions", {}),
        ("POST", "/compatibility/subjects/people/versions/1", {}),
        ("POST", "/compatibility/subjects/page_view/versions", {}),
        ("POST", "/subjects/people", {}),
        ("POST", "/subjects/people/versions", ADMIN),
    ]:
        response = client.request(method, url, json=payload, headers=headers)
        error = confluent_error(response, 422)
        assert error["error_code"] == errors.INVALID_SCHEMA
        assert error["message"].endswith(OUTSIDE), error


def test_no_existence_oracle_for_server_files(client: TestClient, tmp_path: Path) -> None:
    """/etc/shadow, a missing file, a directory and a device answer exactly alike."""
    (tmp_path / "there.json").write_text('{"type": "string"}')
    targets = [
        "file:///etc/shadow",
        (tmp_path / "there.json").as_uri(),
        (tmp_path / "missing.json").as_uri(),
        tmp_path.as_uri() + "/",
        "file:///dev/zero",
    ]
    answers = set()
    for target in targets:
        response = client.post(
            "/compatibility/subjects/page_view/versions", json=body(_holder(target))
        )
        error = confluent_error(response, 422)
        answers.add((response.status_code, json.dumps(error).replace(target, "TARGET")))
    assert len(answers) == 1, answers


def test_id_rebasing_refs_onto_the_file_system_is_42201(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_text(json.dumps({"const": SECRET_VALUE}))
    for schema in (
        _holder("secret.json", **{"$id": tmp_path.as_uri() + "/"}),
        _holder("passwd", **{"$id": "file:///etc/"}),
        object_schema({"x": {"$id": tmp_path.as_uri() + "/a/", "$ref": "../secret.json"}}),
    ):
        response = client.post("/compatibility/subjects/page_view/versions", json=body(schema))
        error = confluent_error(response, 422)
        assert error["message"].endswith(OUTSIDE) and SECRET_VALUE not in response.text


def test_confluent_references_are_refused_clearly(client: TestClient) -> None:
    payload = body(V1, references=[{"name": "u.json", "subject": "user", "version": 1}])
    response = client.post("/subjects/people/versions", json=payload, headers=ADMIN)
    error = confluent_error(response, 422)
    assert error["error_code"] == errors.INVALID_SCHEMA and "references" in error["message"]


def test_fifo_ref_cannot_block_a_worker(registry: Registry, tmp_path: Path) -> None:
    """A FIFO would block an open() forever; the request is refused without touching it."""
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    server = serve(make_app(registry))
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for _ in range(3):  # more than one: a blocked worker would show on the next
                response = http.post(
                    "/compatibility/subjects/page_view/versions",
                    json=body(_holder(fifo.as_uri())),
                )
                assert confluent_error(response, 422)["message"].endswith(OUTSIDE)
            assert http.get("/subjects").status_code == 200
    finally:
        server.stop()
    opened = threading.Event()

    def writer_side() -> None:  # unblock a reader if one had opened the FIFO after all
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader has it open, as it should be
            return
        opened.set()
        os.close(fd)

    writer_side()
    assert not opened.is_set(), "something opened the FIFO for reading"


def test_stored_schema_with_a_file_ref_never_leaks_the_file(
    client: TestClient, registry: Registry, tmp_path: Path
) -> None:
    """A schema stored before refs were confined (an admin's) is refused, not resolved."""
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"type": "string", "const": SECRET_VALUE}))
    stored = _holder(secret.as_uri())
    text = json.dumps(stored, separators=(",", ":"))
    with registry.store.write("leaky") as tx:
        schema_id = tx.insert_schema(fingerprint(stored), text, None)
        tx.insert_version("leaky", 1, schema_id, None, None)
    candidate = object_schema({"name": {"type": "string"}, "x": {"type": "integer"}}, ["name"])
    for url in (
        "/compatibility/subjects/leaky/versions?verbose=true",
        "/compatibility/subjects/leaky/versions/1?verbose=true",
    ):
        response = client.post(url, json=body(candidate))
        assert SECRET_VALUE not in response.text
        error = confluent_error(response, 422)
        assert error["error_code"] == errors.INVALID_SCHEMA and OUTSIDE in error["message"]
    registered = client.post("/subjects/leaky/versions", json=body(candidate), headers=ADMIN)
    assert SECRET_VALUE not in registered.text
    confluent_error(registered, 422)


# -- the counterexample budget -------------------------------------------------------------------


def test_spent_counterexample_budget_says_the_search_was_cut_short(registry: Registry) -> None:
    app_client = TestClient(make_app(Registry(registry.store, counterexample_seconds=0.0)))
    app_client.post("/subjects/people/versions", json=body(V1), headers=ADMIN)
    breaking = object_schema({"name": {"type": "integer"}}, ["name"])
    response = app_client.post("/compatibility/subjects/people/versions", json=body(breaking))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["is_compatible"] is False
    assert result["counterexamples_cut_short"] is True
    assert result["changes"] and all(c["counterexample"] is None for c in result["changes"])


def test_default_budget_still_finds_counterexamples(client: TestClient) -> None:
    client.post("/subjects/people/versions", json=body(V1), headers=ADMIN)
    breaking = object_schema({"name": {"type": "integer"}}, ["name"])
    result = client.post("/compatibility/subjects/people/versions", json=body(breaking)).json()
    assert result["is_compatible"] is False and "counterexamples_cut_short" not in result
    assert any(c["counterexample"] is not None for c in result["changes"]), result
