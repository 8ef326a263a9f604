"""Who is calling: write keys for producers, the admin token for operators.

Write keys are verified by the registry's KeyStore (stored hashed, compared in constant time);
the admin token is kept as its SHA-256 digest in Settings and compared with
``hmac.compare_digest``. A request with a bad or missing key is refused with 401 BEFORE its
body is read or parsed, and leaves nothing behind but a metrics counter
(``refract_gateway_unauthorized_requests``) and one log line. Anyone on the internet can send
such a request, so its cost must not depend on its body: a 2 KB gzip body of a million items
once took 38 s and wrote a million dead letters (issue 10). A producer deployed with a rotated
key gets the 401 for each batch (the SDK hands those events to its ``on_error``), and the
unauthorized counter shows the operator that a key is wrong.

Dependencies (FastAPI ``Depends``) for the gateway's and the adapters' routes:
``gateway_dependency``, ``write_key_producer`` (``Authorization: Bearer <write key>``),
``basic_auth_producer`` (Segment's convention: the write key as the basic-auth user name) and
``admin_dependency``.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any, Protocol

import anyio
from fastapi import Request

from registry_service.gateway import errors
from registry_service.gateway.errors import GatewayError
from registry_service.model import Producer
from registry_service.settings import Settings

log = logging.getLogger("refract.gateway")


class KeyVerifier(Protocol):
    """registry_service.registry's KeyStore, as far as authentication uses it."""

    def verify(self, raw_key: str) -> Producer | None: ...


def gateway_dependency(request: Request) -> Any:
    """The app's Gateway (registry_service.gateway.core.Gateway)."""
    return request.app.state.gateway


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def basic_user(request: Request) -> str | None:
    """The user name of ``Authorization: Basic base64(user:password)``."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user = decoded.partition(":")[0]
    return user or None


async def verify_key(request: Request, raw_key: str | None) -> Producer | None:
    """The producer of ``raw_key`` (None when missing or unknown); the KeyStore lookup runs in
    a worker thread, since a PostgreSQL store does network I/O."""
    if raw_key is None or len(raw_key) > 512:
        return None
    keystore: KeyVerifier = request.app.state.keystore
    try:
        return await anyio.to_thread.run_sync(keystore.verify, raw_key)
    except Exception as exc:  # the key store is down or unusable: retry later, never a 500
        detail = getattr(exc, "message", None) or type(exc).__name__
        log.error("key store unavailable: %s", detail)
        raise GatewayError(
            503,
            errors.REGISTRY_UNAVAILABLE,
            f"the key store is unavailable: {detail}",
            {"Retry-After": "2"},
        ) from None


def refuse_unauthorized(request: Request, origin: str, message: str) -> GatewayError:
    """Count and log an unauthenticated request and build the 401 to raise.

    The body is neither read nor parsed nor recorded: see the module docstring.
    """
    request.app.state.gateway.metrics.unauthorized.labels(origin).inc()
    # no client address (docs/gateway.md: logs carry no IP addresses) and no body
    log.warning("401 %s %s: %s", request.method, request.url.path[:200], message)
    return GatewayError(
        401, errors.UNAUTHORIZED, message, {"WWW-Authenticate": 'Bearer realm="refract"'}
    )


async def write_key_producer(request: Request) -> Producer:
    """The producer of the request's ``Authorization: Bearer <write key>``, else 401."""
    raw = bearer_token(request)
    producer = await verify_key(request, raw)
    if producer is None:
        message = (
            "missing write key (Authorization: Bearer <write key>)"
            if raw is None
            else "unknown or revoked write key"
        )
        raise refuse_unauthorized(request, _origin(request), message)
    return producer


async def basic_auth_producer(request: Request) -> Producer:
    """The producer whose write key is the basic-auth user name (Segment's HTTP API), else 401.

    A Bearer write key is accepted too, so one key works with every route.
    """
    raw = basic_user(request) or bearer_token(request)
    producer = await verify_key(request, raw)
    if producer is None:
        message = (
            "missing write key (basic auth with the write key as user name)"
            if raw is None
            else "unknown or revoked write key"
        )
        raise refuse_unauthorized(request, _origin(request), message)
    return producer


def admin_dependency(request: Request) -> None:
    """Allow only ``Authorization: Bearer <REFRACT_ADMIN_TOKEN>`` (403 when none is set)."""
    settings: Settings = request.app.state.settings
    token = bearer_token(request)
    if not settings.admin_token_sha256:
        raise GatewayError(
            403, errors.UNAUTHORIZED, "no admin token is configured (REFRACT_ADMIN_TOKEN)"
        )
    if token is None or not settings.admin_token_matches(token):
        raise GatewayError(
            401,
            errors.UNAUTHORIZED,
            "admin token required (Authorization: Bearer <admin token>)",
            {"WWW-Authenticate": 'Bearer realm="refract-admin"'},
        )


def _origin(request: Request) -> str:
    path = request.url.path
    if path.startswith("/v1/crm"):
        return "crm"
    if path.startswith("/v1/logs"):
        return "logs"
    if path.startswith("/v1/events"):
        return "sdk"
    return "segment"
