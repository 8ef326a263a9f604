"""Route declarations of the registry API: what each operation answers and who may call it.

Returned as keyword arguments for the router's decorators (``response_model``, ``responses``,
``openapi_extra``), so that router.py keeps one line of declaration per route. Every refusal
of the registry is Confluent's `{"error_code", "message"}` with the registry's media type; the
statuses listed are those the service's error codes map to (registry_service.registry.errors).
"""

from __future__ import annotations

from typing import Any

from registry_service.openapi.registry_models import ConfluentError, SchemaRequest
from registry_service.openapi.spec import (
    ADMIN_TOKEN,
    WRITE_KEY,
    error_responses,
    operation,
    request_body,
    security,
)

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
BODY_MEDIA_TYPES = (MEDIA_TYPE, "application/json", "application/vnd.schemaregistry+json")

_READ_ERRORS = {
    400: "40001: malformed request (a path or query parameter of the wrong type)",
    401: "40101: a token is required (only when reads need authentication)",
    403: "40301: the token is neither the admin token nor a write key",
    404: "40401-40409: subject, version or schema not found",
    422: "42202: invalid version",
    500: "50001: error in the backend data store",
}
_BODY_ERRORS = {
    **_READ_ERRORS,
    400: "40001: malformed request (not JSON, wrong media type, wrong field types)",
    413: "the request body is over the size limit",
    422: "42201-42292: invalid schema, version, compatibility level, mode or lens",
}
_WRITE_ERRORS = {
    **_BODY_ERRORS,
    401: "40101: the admin token is required",
    403: "40301: the admin token is not valid",
    409: "409: the schema is incompatible with the subject's history",
}

RAW_SCHEMA_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The schema document itself (a JSON Schema: an object or a boolean)",
        "content": {MEDIA_TYPE: {"schema": {"type": ["object", "boolean"]}}},
    }
}


def _errors(statuses: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return error_responses(ConfluentError, statuses)


def reading(
    response: Any, *, read_auth: bool, body: bool = False, raw: bool = False
) -> dict[str, Any]:
    """Declarations of a read (open unless `read_auth`: then the admin token or a write key).

    `body`: the operation takes a schema (lookup, compatibility check); `raw`: it answers the
    schema document itself, whatever its shape.
    """
    responses = _errors(_BODY_ERRORS if body else _READ_ERRORS)
    if raw:
        responses = {**RAW_SCHEMA_RESPONSE, **responses}
    return {
        "response_model": None if raw else response,
        "responses": responses,
        "openapi_extra": operation(
            body=request_body(SchemaRequest, BODY_MEDIA_TYPES) if body else None,
            auth=security(ADMIN_TOKEN, WRITE_KEY, anonymous=not read_auth),
        ),
    }


def writing(response: Any, *, body: Any = None) -> dict[str, Any]:
    """Declarations of a write (admin token only); `body` the request model, if any."""
    return {
        "response_model": response,
        "responses": _errors(_WRITE_ERRORS if body is not None else _READ_ERRORS | _ADMIN),
        "openapi_extra": operation(
            body=request_body(body, BODY_MEDIA_TYPES) if body is not None else None,
            auth=security(ADMIN_TOKEN),
        ),
    }


_ADMIN = {
    401: "40101: the admin token is required",
    403: "40301: the admin token is not valid",
    422: "42205: operation not permitted (e.g. a mode change that needs force)",
}
