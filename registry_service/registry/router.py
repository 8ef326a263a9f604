"""The registry's REST API, modelled on Confluent Schema Registry.

Paths, bodies, status codes and `error_code`s follow Confluent, so its clients and habits
carry over; request bodies may be `application/json` or `application/vnd.schemaregistry.v1+json`
and responses use the latter. Refract's additions are extra fields (`semver`, `lens`,
`changes`) that Confluent clients ignore. Writes need the admin token (`Authorization: Bearer
<token>`); reads are open unless the settings ask for a token (the admin token or any write key).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Protocol

import psycopg
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from registry_service.openapi import registry_models as m
from registry_service.openapi.registry_docs import reading, writing
from registry_service.registry import errors, strict_json
from registry_service.registry.errors import RegistryError
from registry_service.registry.keys import KeyStore
from registry_service.registry.limits import MAX_BODY_BYTES, MAX_BODY_DEPTH
from registry_service.registry.service import (
    Registry,
    check_path_parameters,
    version_json,
)

log = logging.getLogger("refract.registry")

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
_ACCEPTED_BODY_TYPES = ("application/json", MEDIA_TYPE, "application/vnd.schemaregistry+json")


class AuthSettings(Protocol):
    @property
    def read_auth(self) -> bool: ...
    def admin_token_matches(self, candidate: str) -> bool: ...


class RegistryResponse(JSONResponse):
    """JSON in the registry's media type (a JSONResponse, so OpenAPI shows its typed model)."""

    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def error_response(error: RegistryError) -> RegistryResponse:
    response = RegistryResponse(error.to_json(), status_code=error.status)
    if error.error_code == errors.PAYLOAD_TOO_LARGE:
        # The rest of the body is still on its way: closing the connection after the answer
        # stops the server from reading (and the sender from sending) what it refused.
        response.headers["connection"] = "close"
    return response


class _RegistryRoute(APIRoute):
    """Turns RegistryError (from dependencies or handlers) into Confluent's error body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                check_path_parameters(request.path_params)
                return await handler(request)
            except RegistryError as error:
                return error_response(error)
            except (sqlite3.Error, psycopg.Error) as exc:
                log.exception("registry store error")
                return error_response(
                    RegistryError(
                        errors.STORE_ERROR,
                        f"Error in the backend data store: {type(exc).__name__}",
                    )
                )
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()))
                return error_response(
                    RegistryError(errors.BAD_REQUEST, f"{where}: {first.get('msg', 'invalid')}")
                )

        return route


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _json_body(request: Request) -> Any:
    """The request body as strict JSON, from either accepted media type (40001 otherwise).

    The size is checked before the body is buffered: a declared Content-Length above
    MAX_BODY_BYTES is refused unread, and the stream is read only up to the cap (a chunked or
    lying sender gets 413 as soon as it passes it). Parsing runs in a worker thread, since a
    4 MiB body takes the nesting scan and json.loads long enough to stall the event loop.
    """
    content_type = request.headers.get("content-type", "application/json")
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in _ACCEPTED_BODY_TYPES:
        raise RegistryError(
            errors.BAD_REQUEST,
            f"Unsupported content type {media!r}: send application/json or {MEDIA_TYPE}",
        )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise RegistryError(errors.BAD_REQUEST, "Content-Length must be a byte count")
        if int(declared) > MAX_BODY_BYTES:
            raise _too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    return await run_in_threadpool(_parse_body, raw)


def _parse_body(raw: bytes) -> Any:
    try:
        return strict_json.loads(raw.decode("utf-8"), max_depth=MAX_BODY_DEPTH)
    except UnicodeDecodeError as exc:
        raise RegistryError(
            errors.BAD_REQUEST, f"Malformed JSON body: not UTF-8 at byte {exc.start}"
        ) from None
    except strict_json.StrictJSONError as exc:
        raise RegistryError(errors.BAD_REQUEST, f"Malformed JSON body: {exc}") from None


def _too_large() -> RegistryError:
    return RegistryError(
        errors.PAYLOAD_TOO_LARGE, f"Request body above {MAX_BODY_BYTES} bytes, the registry's limit"
    )


Body = Annotated[Any, Depends(_json_body)]


def registry_router(
    registry: Registry, settings: AuthSettings, keys: KeyStore | None = None
) -> APIRouter:
    """The Confluent-style registry endpoints over `registry`, authorised per `settings`."""
    key_store = keys if keys is not None else KeyStore(registry.store)
    router = APIRouter(route_class=_RegistryRoute, tags=["registry"])

    def admin(request: Request) -> None:
        token = _bearer(request)
        if token is None:
            raise RegistryError(
                errors.UNAUTHORIZED,
                "Registry writes need the admin token: Authorization: Bearer <token>",
            )
        if not settings.admin_token_matches(token):
            raise RegistryError(errors.FORBIDDEN, "The admin token is not valid")

    def reader(request: Request) -> None:
        if not settings.read_auth:
            return
        token = _bearer(request)
        if token is None:
            raise RegistryError(
                errors.UNAUTHORIZED,
                "Registry reads need a token: Authorization: Bearer <admin token or write key>",
            )
        if not settings.admin_token_matches(token) and key_store.verify(token) is None:
            raise RegistryError(
                errors.FORBIDDEN, "The token is neither the admin token nor a write key"
            )

    read = [Depends(reader)]
    write = [Depends(admin)]
    ok = RegistryResponse
    auth = settings.read_auth

    @router.get(
        "/subjects", dependencies=read, response_class=ok, **reading(list[str], read_auth=auth)
    )
    def list_subjects(deleted: bool = False) -> Any:
        return ok(registry.subjects(deleted=deleted))

    @router.get(
        "/subjects/{subject}/versions",
        dependencies=read,
        response_class=ok,
        **reading(list[int], read_auth=auth),
    )
    def list_versions(subject: str, deleted: bool = False) -> Any:
        return ok(registry.subject_versions(subject, deleted=deleted))

    @router.post(
        "/subjects/{subject}/versions",
        dependencies=write,
        response_class=ok,
        **writing(m.RegisteredId, body=m.SchemaRequest),
    )
    def register(subject: str, payload: Body) -> Any:
        return ok({"id": registry.register(subject, payload)})

    @router.get(
        "/subjects/{subject}/versions/{version}",
        dependencies=read,
        response_class=ok,
        **reading(m.SubjectVersion, read_auth=auth),
    )
    def get_version(subject: str, version: str, deleted: bool = False) -> Any:
        return ok(version_json(registry.get_version(subject, version, deleted=deleted)))

    @router.get(
        "/subjects/{subject}/versions/{version}/schema",
        dependencies=read,
        response_class=ok,
        **reading(None, read_auth=auth, raw=True),
    )
    def get_version_schema(subject: str, version: str, deleted: bool = False) -> Any:
        row = registry.get_version(subject, version, deleted=deleted)
        return Response(row.schema, media_type=MEDIA_TYPE)

    @router.post(
        "/subjects/{subject}",
        dependencies=read,
        response_class=ok,
        **reading(m.SubjectVersion, read_auth=auth, body=True),
    )
    def lookup(subject: str, payload: Body, deleted: bool = False) -> Any:
        return ok(version_json(registry.lookup(subject, payload, deleted=deleted)))

    @router.delete(
        "/subjects/{subject}", dependencies=write, response_class=ok, **writing(list[int])
    )
    def delete_subject(subject: str, permanent: bool = False) -> Any:
        return ok(registry.delete_subject(subject, permanent=permanent))

    @router.delete(
        "/subjects/{subject}/versions/{version}",
        dependencies=write,
        response_class=ok,
        **writing(int),
    )
    def delete_version(subject: str, version: str, permanent: bool = False) -> Any:
        return ok(registry.delete_version(subject, version, permanent=permanent))

    @router.get(
        "/schemas/ids/{schema_id}",
        dependencies=read,
        response_class=ok,
        **reading(m.SchemaById, read_auth=auth),
    )
    def schema_by_id(schema_id: int) -> Any:
        return ok({"schemaType": "JSON", "schema": registry.schema(schema_id)})

    @router.get(
        "/schemas/ids/{schema_id}/schema",
        dependencies=read,
        response_class=ok,
        **reading(None, read_auth=auth, raw=True),
    )
    def raw_schema_by_id(schema_id: int) -> Any:
        return Response(registry.schema(schema_id), media_type=MEDIA_TYPE)

    @router.get(
        "/schemas/ids/{schema_id}/versions",
        dependencies=read,
        response_class=ok,
        **reading(list[m.SubjectVersionRef], read_auth=auth),
    )
    def schema_versions(schema_id: int, deleted: bool = False) -> Any:
        rows = registry.schema_versions(schema_id, deleted=deleted)
        return ok([{"subject": r.subject, "version": r.version} for r in rows])

    @router.get(
        "/schemas/ids/{schema_id}/subjects",
        dependencies=read,
        response_class=ok,
        **reading(list[str], read_auth=auth),
    )
    def schema_subjects(schema_id: int, deleted: bool = False) -> Any:
        rows = registry.schema_versions(schema_id, deleted=deleted)
        return ok(sorted({r.subject for r in rows}))

    @router.get(
        "/schemas/types", dependencies=read, response_class=ok, **reading(list[str], read_auth=auth)
    )
    def schema_types() -> Any:
        return ok(["JSON"])

    @router.post(
        "/compatibility/subjects/{subject}/versions/{version}",
        dependencies=read,
        response_class=ok,
        **reading(m.CompatibilityResult, read_auth=auth, body=True),
    )
    def check_version(subject: str, version: str, payload: Body, verbose: bool = False) -> Any:
        return ok(registry.check(subject, version, payload, verbose=verbose))

    @router.post(
        "/compatibility/subjects/{subject}/versions",
        dependencies=read,
        response_class=ok,
        **reading(m.CompatibilityResult, read_auth=auth, body=True),
    )
    def check_all(subject: str, payload: Body, verbose: bool = False) -> Any:
        return ok(registry.check(subject, None, payload, verbose=verbose))

    @router.get(
        "/config",
        dependencies=read,
        response_class=ok,
        **reading(m.CompatibilityLevel, read_auth=auth),
    )
    def get_global_config() -> Any:
        return ok({"compatibilityLevel": registry.get_config(None)})

    @router.put(
        "/config",
        dependencies=write,
        response_class=ok,
        **writing(m.CompatibilityUpdate, body=m.CompatibilityUpdate),
    )
    def put_global_config(payload: Body) -> Any:
        return ok({"compatibility": registry.set_config(None, _field(payload, "compatibility"))})

    @router.get(
        "/config/{subject}",
        dependencies=read,
        response_class=ok,
        **reading(m.CompatibilityLevel, read_auth=auth),
    )
    def get_config(subject: str, defaultToGlobal: bool = False) -> Any:
        level = registry.get_config(subject, default_to_global=defaultToGlobal)
        return ok({"compatibilityLevel": level})

    @router.put(
        "/config/{subject}",
        dependencies=write,
        response_class=ok,
        **writing(m.CompatibilityUpdate, body=m.CompatibilityUpdate),
    )
    def put_config(subject: str, payload: Body) -> Any:
        level = registry.set_config(subject, _field(payload, "compatibility"))
        return ok({"compatibility": level})

    @router.delete(
        "/config/{subject}",
        dependencies=write,
        response_class=ok,
        **writing(m.CompatibilityLevel),
    )
    def delete_config(subject: str) -> Any:
        return ok({"compatibilityLevel": registry.delete_config(subject)})

    @router.get("/mode", dependencies=read, response_class=ok, **reading(m.Mode, read_auth=auth))
    def get_global_mode() -> Any:
        return ok({"mode": registry.get_mode(None)})

    @router.put("/mode", dependencies=write, response_class=ok, **writing(m.Mode, body=m.Mode))
    def put_global_mode(payload: Body, force: bool = False) -> Any:
        return ok({"mode": registry.set_mode(None, _field(payload, "mode"), force=force)})

    @router.get(
        "/mode/{subject}", dependencies=read, response_class=ok, **reading(m.Mode, read_auth=auth)
    )
    def get_mode(subject: str, defaultToGlobal: bool = False) -> Any:
        return ok({"mode": registry.get_mode(subject, default_to_global=defaultToGlobal)})

    @router.put(
        "/mode/{subject}", dependencies=write, response_class=ok, **writing(m.Mode, body=m.Mode)
    )
    def put_mode(subject: str, payload: Body, force: bool = False) -> Any:
        return ok({"mode": registry.set_mode(subject, _field(payload, "mode"), force=force)})

    @router.delete("/mode/{subject}", dependencies=write, response_class=ok, **writing(m.Mode))
    def delete_mode(subject: str) -> Any:
        return ok({"mode": registry.delete_mode(subject)})

    return router


def _field(payload: Any, name: str) -> Any:
    if not isinstance(payload, dict) or name not in payload:
        code = (
            errors.INVALID_COMPATIBILITY_LEVEL if name == "compatibility" else errors.INVALID_MODE
        )
        raise RegistryError(code, f"The request body must be a JSON object with '{name}'")
    return payload[name]
