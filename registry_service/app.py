"""The FastAPI application: registry, gateway, adapters and operations in one process.

``create_app(settings)`` opens what the settings name (the registry store, the two streams,
the referral classifier, the PII key) and mounts every router. Tests and benchmarks pass
ready-made parts instead (``registry=``, ``events_sink=`` ...), so that the same assembly
code runs everywhere. OpenAPI is served at ``/openapi.json``, its UI at ``/docs`` and ``/redoc``
with assets from this process (registry_service.openapi.docs_ui), never from a CDN.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from refract_sdk import _catalogue

from registry_service.gateway import errors
from registry_service.gateway.core import Gateway
from registry_service.gateway.errors import GatewayError
from registry_service.gateway.logs import RequestLog
from registry_service.gateway.metrics import GatewayMetrics
from registry_service.gateway.pii import PiiRules
from registry_service.gateway.routes import gateway_router, health_router
from registry_service.gateway.validators import ValidatorCache
from registry_service.openapi import spec as openapi_spec
from registry_service.openapi.docs_ui import mount_docs
from registry_service.settings import Settings

log = logging.getLogger("refract.app")


def error_response(
    status: int, error: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps({"error": error, "message": message}),
        status,
        headers=headers,
        media_type="application/json",
    )


def newest_schemas(registry: Any) -> dict[str, dict[str, Any]]:
    """The bundled newest version of every event the SDK catalogue knows (for PII rules)."""
    found = {}
    for event, version in _catalogue.LATEST.items():
        try:
            schema = registry.contract(event, version)
        except Exception:  # a registry outage at start-up: PII falls back on field names
            schema = None
        if schema is not None:
            found[event] = schema
    return found


def create_app(
    settings: Settings | None = None,
    *,
    registry: Any = None,
    keystore: Any = None,
    events_sink: Any = None,
    dead_letter_sink: Any = None,
    classifier: Any = None,
    with_registry_api: bool = True,
    with_adapters: bool = True,
) -> FastAPI:
    """The whole service; parts not passed are opened from ``settings``.

    ``with_registry_api=False`` / ``with_adapters=False`` leave those routers out, for a
    gateway fleet deployed apart from the registry's REST API (and for benchmarks).
    """
    settings = settings or Settings.from_env()
    if registry is None or keystore is None:
        from registry_service.registry.bootstrap import open_registry

        registry, keystore = open_registry(settings)
    owned_sinks = []
    if events_sink is None or dead_letter_sink is None:
        from pipeline.streams.base import KinesisOptions, open_sink

        kinesis = (
            KinesisOptions(
                stream=settings.kinesis_stream,
                region=settings.kinesis_region,
                endpoint_url=settings.kinesis_endpoint,
                dead_letter_stream=settings.dead_letter_stream_name,
                max_retry_time=settings.kinesis_max_retry_seconds,
            )
            if settings.kinesis_stream
            else None
        )
        if events_sink is None:
            events_sink = open_sink(settings.stream, "events", settings.data_dir, kinesis)
            owned_sinks.append(events_sink)
        if dead_letter_sink is None:
            dead_letter_sink = open_sink(
                settings.stream, "dead_letters", settings.data_dir, kinesis
            )
            owned_sinks.append(dead_letter_sink)
    if classifier is None:
        from registry_service.referral import default_classifier

        classifier = default_classifier()
    metrics = GatewayMetrics()
    gateway = Gateway(
        ValidatorCache(
            registry,
            refresh_seconds=settings.schema_refresh_seconds,
            negative_seconds=settings.negative_cache_seconds,
        ),
        events_sink,
        dead_letter_sink,
        classifier,
        PiiRules(settings.resolved_pii_key(), schemas=newest_schemas(registry)),
        max_event_bytes=settings.max_event_bytes,
        max_event_depth=settings.max_event_depth,
        dead_letter_payload_cap=settings.dead_letter_payload_cap,
        metrics=metrics,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info(
            "started",
            extra={
                "stream": settings.stream,
                "registry": "postgresql" if settings.registry_dsn else "sqlite",
            },
        )
        yield
        for sink in owned_sinks:
            sink.close()

    app = FastAPI(
        title="Refract registry and ingestion gateway",
        version="0.1.0",
        description=(
            "Contract registry (Confluent-compatible REST), the ingestion gateway for "
            "refract_sdk and the Segment/CRM/log adapters. Dead-letter reasons: "
            "docs/dead-letters.md."
        ),
        docs_url=None,  # FastAPI's pages load their assets from a CDN: see mount_docs
        redoc_url=None,
        lifespan=lifespan,
    )
    mount_docs(app)
    openapi_spec.install(app)
    app.state.settings = settings
    app.state.registry = registry
    app.state.keystore = keystore
    app.state.gateway = gateway

    @app.exception_handler(GatewayError)
    async def gateway_error(_request: Request, exc: GatewayError) -> Response:
        return error_response(exc.status, exc.error, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = "/".join(str(p) for p in first.get("loc", ()))
        return error_response(422, "malformed_request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, exc: Exception) -> Response:
        log.error("unhandled error", extra={"error": type(exc).__name__})
        return error_response(
            500, errors.INTERNAL_ERROR, "internal error; the request was not processed"
        )

    if with_registry_api:
        _include_registry(app, registry, settings, keystore)
    app.include_router(gateway_router())
    if with_adapters:
        _include_adapters(app)
    app.include_router(health_router())

    app.add_middleware(RequestLog)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Content-Encoding"],
            max_age=600,
        )
    return app


def _include_registry(app: FastAPI, registry: Any, settings: Settings, keystore: Any) -> None:
    from registry_service.registry import registry_router

    app.include_router(registry_router(registry, settings, keystore))


def _include_adapters(app: FastAPI) -> None:
    from registry_service.adapters import adapters_router

    app.include_router(adapters_router())
