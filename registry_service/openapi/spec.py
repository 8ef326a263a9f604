"""Declarations shared by the routers: security schemes, request bodies, error responses, and
the finishing of /openapi.json.

Why ``openapi_extra`` for request bodies: handlers read the raw body themselves, because
authentication and size limits must run before anything is parsed (an unauthenticated body is
never parsed, an over-limit one never fully read). A pydantic body parameter would make FastAPI
read and parse first. So the body is declared here from the model's JSON schema, and the model
is never used to parse a request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from registry_service.openapi import ingestion_models, registry_models

REF_TEMPLATE = "#/components/schemas/{model}"

WRITE_KEY = "writeKey"
ADMIN_TOKEN = "adminToken"
SEGMENT_BASIC = "segmentBasic"

SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    WRITE_KEY: {
        "type": "http",
        "scheme": "bearer",
        "description": "A producer's write key (`refract keys create`): "
        "`Authorization: Bearer <write key>`.",
    },
    ADMIN_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "description": "The registry admin token (REFRACT_ADMIN_TOKEN): "
        "`Authorization: Bearer <admin token>`.",
    },
    SEGMENT_BASIC: {
        "type": "http",
        "scheme": "basic",
        "description": "Segment's convention: the write key as the basic-auth user name, "
        "empty password.",
    },
}

Security = list[dict[str, list[str]]]


def security(*schemes: str, anonymous: bool = False) -> Security:
    """An operation's `security`: any one of `schemes`; `anonymous` adds "no credentials"."""
    unknown = set(schemes) - SECURITY_SCHEMES.keys()
    if unknown:
        raise ValueError(f"undeclared security schemes: {sorted(unknown)}")
    requirements: Security = [{name: []} for name in schemes]
    return [{}, *requirements] if anonymous else requirements


def request_body(
    schema: type[BaseModel] | Mapping[str, Any],
    media_types: Sequence[str] = ("application/json",),
    description: str | None = None,
) -> dict[str, Any]:
    """An OpenAPI requestBody for `schema` (a request model, or a JSON schema) in `media_types`."""
    if isinstance(schema, Mapping):
        described = dict(schema)
    else:
        if schema not in REQUEST_MODELS:
            raise ValueError(f"{schema.__name__} is not in REQUEST_MODELS (not in components)")
        described = {"$ref": REF_TEMPLATE.format(model=schema.__name__)}
    body: dict[str, Any] = {
        "required": True,
        "content": {media: {"schema": described} for media in media_types},
    }
    if description:
        body["description"] = description
    return body


def operation(
    *, body: dict[str, Any] | None = None, auth: Security | None = None
) -> dict[str, Any]:
    """`openapi_extra` of a route: its request body and security requirements."""
    extra: dict[str, Any] = {}
    if body is not None:
        extra["requestBody"] = body
    if auth is not None:
        extra["security"] = auth
    return extra


def error_responses(
    model: type[BaseModel], statuses: Mapping[int, str], media_type: str | None = None
) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries: each status with its description and the family's error body.

    With `media_type`, the body is declared under that type only (the route's response class
    decides otherwise, application/json when it has none).
    """
    declared: dict[int | str, dict[str, Any]] = {}
    for status, description in statuses.items():
        entry: dict[str, Any] = {"model": model, "description": description}
        if media_type is not None:
            entry["content"] = {media_type: {}}
        declared[status] = entry
    return declared


REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    registry_models.REQUEST_MODELS + ingestion_models.REQUEST_MODELS
)


def request_schemas() -> dict[str, Any]:
    """The JSON schemas of every request model (and of the models they use), by name."""
    _, definitions = models_json_schema(
        [(model, "validation") for model in REQUEST_MODELS], ref_template=REF_TEMPLATE
    )
    schemas: dict[str, Any] = definitions.get("$defs", {})
    return schemas


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Add what routes cannot declare themselves: security schemes and request models."""
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    schemas = components.setdefault("schemas", {})
    for name, schema in request_schemas().items():
        schemas.setdefault(name, schema)
    return document


def install(app: FastAPI) -> None:
    """Make `app.openapi()` (and /openapi.json) the completed document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
