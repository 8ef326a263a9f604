"""HTTP routes of the gateway: ``POST /v1/events`` and the health and metrics endpoints.

``POST /v1/events`` serves docs/ingestion-protocol.md. Checks run from cheapest to dearest
and nothing is parsed before the size limits passed: write key (before the body is read: an
unauthenticated request costs a counter and a log line), body size (Content-Length, then bytes
read, then gunzipped bytes), content type, JSON, batch shape and length, then the events one
by one in the processing core. A refused request from a producer answers
``{"error", "message"}`` with a 4xx and leaves ONE capped dead letter of its body; a processed one answers 200 with a
verdict per event, and only after the stream accepted the records (503 + Retry-After if it
did not, so the SDK retries).
"""

from __future__ import annotations

import logging
import time
from typing import Any, NoReturn

import anyio
import orjson
from fastapi import APIRouter, Request, Response

from pipeline.streams.base import SinkError
from registry_service.gateway import errors
from registry_service.gateway.auth import write_key_producer
from registry_service.gateway.body import BodyError, read_body
from registry_service.gateway.errors import GatewayError
from registry_service.gateway.metrics import CONTENT_TYPE_LATEST
from registry_service.gateway.requests import dead_letter_request
from registry_service.model import Producer
from registry_service.openapi import ingestion_docs
from registry_service.settings import Settings

log = logging.getLogger("refract.gateway")


def gateway_router() -> APIRouter:
    router = APIRouter(tags=["gateway"])

    @router.post(
        "/v1/events",
        summary="Ingest a batch of canonical events (refract_sdk wire protocol)",
        description=(
            'Body: `{"sent_at": ..., "events": [<event>, ...]}`, JSON, optionally gzip '
            "(Content-Encoding). Authorization: Bearer <write key>. Each event names its "
            "contract version in `schema`; any registered version is accepted and upcast. "
            "See docs/ingestion-protocol.md and docs/dead-letters.md."
        ),
        **ingestion_docs.events(),
    )
    async def post_events(request: Request) -> Response:
        settings: Settings = request.app.state.settings
        gateway = request.app.state.gateway
        started = time.perf_counter()
        # The write key first: an unauthenticated request is refused before a byte of its
        # body is read, and costs a counter and a log line (docs/ingestion-protocol.md).
        producer = await write_key_producer(request)
        try:
            body = await read_body(
                request,
                max_body_bytes=settings.max_body_bytes,
                max_decompressed_bytes=settings.max_decompressed_bytes,
                keep_bytes=settings.dead_letter_payload_cap,
            )
        except BodyError as exc:
            await dead_letter_request(
                request, exc.reason, exc.message, producer, "sdk", body=exc.raw
            )
            raise GatewayError(exc.status, exc.reason, exc.message) from None
        data = body.data
        request.state.producer = producer
        content_type = request.headers.get("content-type", "")
        media = content_type.partition(";")[0].strip().lower()
        if media != "application/json":
            shown = media[:60] or "none"
            await _refuse(
                request,
                producer,
                data,
                415,
                errors.UNSUPPORTED_CONTENT_TYPE,
                f"Content-Type {shown!r} is not supported (send application/json)",
            )
        try:
            parsed: Any = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            await _refuse(
                request, producer, data, 400, errors.MALFORMED_JSON, f"the body is not JSON: {exc}"
            )
        events = parsed.get("events") if isinstance(parsed, dict) else None
        if not isinstance(events, list):
            await _refuse(
                request,
                producer,
                data,
                400,
                errors.MALFORMED_BATCH,
                "the body must be an object with an 'events' array",
                parsed,
            )
        if len(events) > settings.max_batch_events:
            await _refuse(
                request,
                producer,
                data,
                413,
                errors.BATCH_TOO_LARGE,
                f"the batch has {len(events)} events, over the limit of {settings.max_batch_events}",
                parsed,
            )
        batch = gateway.process(
            events, producer, "sdk", check_sizes=len(data) > settings.max_event_bytes
        )
        await anyio.to_thread.run_sync(gateway.commit, batch)
        gateway.metrics.request_bytes.observe(len(data))
        rejected = sum(1 for o in batch.outcomes if o.status == "rejected")
        request.state.log_fields = {
            "events": len(events),
            "accepted": len(events) - rejected,
            "rejected": rejected,
            "process_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        return Response(
            orjson.dumps({"results": [o.to_json() for o in batch.outcomes]}),
            200,
            media_type="application/json",
        )

    return router


async def _refuse(
    request: Request,
    producer: Producer,
    data: bytes,
    status: int,
    reason: str,
    message: str,
    parsed: Any = None,
) -> NoReturn:
    """Dead-letter the body, then raise the 4xx."""
    await dead_letter_request(request, reason, message, producer, "sdk", body=data, parsed=parsed)
    raise GatewayError(status, reason, message)


READY_PROBE_SECONDS = 2.0
"""How long /readyz waits for each stream to answer its probe."""


def health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get(
        "/healthz", summary="Liveness: the process serves requests", **ingestion_docs.healthz()
    )
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: the registry answers and the streams are open",
        **ingestion_docs.readyz(),
    )
    async def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        ready = True
        registry = request.app.state.registry
        try:
            generation = await anyio.to_thread.run_sync(registry.generation)
            checks["registry"] = f"ok (generation {generation})"
        except Exception as exc:
            ready = False
            checks["registry"] = f"unavailable: {type(exc).__name__}"
        gateway = request.app.state.gateway
        for name, sink in (
            ("events", gateway.events_sink),
            ("dead_letters", gateway.dead_letter_sink),
        ):
            if sink is None:
                checks[name], ready = "not open", False
                continue
            try:  # a reachable stream, not just an open handle: Kinesis may be down
                with anyio.fail_after(READY_PROBE_SECONDS):
                    await anyio.to_thread.run_sync(sink.probe, abandon_on_cancel=True)
                checks[name] = "ok"
            except (SinkError, TimeoutError) as exc:
                checks[name], ready = f"unavailable: {str(exc) or 'probe timed out'}", False
        body = {"status": "ready" if ready else "not_ready", "checks": checks}
        return Response(orjson.dumps(body), 200 if ready else 503, media_type="application/json")

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        **ingestion_docs.metrics(),
    )
    async def metrics(request: Request) -> Response:
        return Response(request.app.state.gateway.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return router
