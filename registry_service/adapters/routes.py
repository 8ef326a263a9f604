"""HTTP routes of the adapters: Segment's Tracking API, CRM lead webhooks, access logs.

Thin on purpose: authenticate (registry_service.gateway.auth), read the body within the
gateway's limits (gzip included), hand every item to its pure mapping function, and give the
mapped events to the gateway's processing core. Items an adapter cannot map become dead
letters (adapter_failed, unmapped_event) in the same write as the batch's other records, with
their original payload and the producer, so nothing is lost and one request costs one write per
stream. Responses are written only after the streams accepted the records.

Segment routes also take what analytics.js sends from browsers: the write key as the body's
top-level `writeKey` when the request has no Authorization header (a header, when present,
wins), and the short paths /v1/t, /v1/p, /v1/s, /v1/i, /v1/b. Without a header the body is
read (within the same limits) before authentication, since the key is inside it: a body
without the text `"writeKey"` is refused 401 unparsed, any other is parsed in a worker thread
(never on the event loop); one that turns out unauthenticated (or unreadable) writes nothing, exactly like a
bad Authorization header, which is refused before its body is read. The `writeKey` field is
removed from the body before mapping or dead-lettering, so no stream record carries a key.

Amplification is bounded: a request carries at most `max_batch_events` items (Segment batch
messages, CRM leads, log lines), counted before any item is mapped; a request over it, like
any refused request, costs one capped dead-letter record (registry_service.gateway.requests).

Segment routes answer in Segment's shapes: 200 `{"success": true}` once the batch is processed
(also when some messages were dead-lettered: Segment accepts partial batches), and
`{"success": false, "code": <reason>, "message": ...}` for a refused request (400 bad JSON or
too large, 401 bad write key, 503 stream down + Retry-After). The CRM and log routes answer
`{"results": [...]}` with a verdict per item, like POST /v1/events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from registry_service.adapters import crm, logs, segment
from registry_service.adapters.errors import AdapterError
from registry_service.gateway import errors
from registry_service.gateway.auth import basic_auth_producer, refuse_unauthorized, verify_key
from registry_service.gateway.body import BodyError, read_body
from registry_service.gateway.errors import GatewayError
from registry_service.gateway.requests import dead_letter_request
from registry_service.model import Outcome, Producer
from registry_service.openapi import ingestion_docs
from registry_service.settings import Settings

# One item of a request: its original payload (JSON value, or bytes when it was not JSON), and
# either the canonical event it maps to or why it does not.
Item = tuple[Any, "dict[str, Any] | AdapterError"]

# analytics.js's short paths, aliases of the long ones.
SHORT_PATHS = {"t": "track", "p": "page", "s": "screen", "i": "identify", "b": "batch"}


def adapters_router() -> APIRouter:
    router = APIRouter(tags=["adapters"])
    paths = [(call, call) for call in ("batch", *segment.CALLS)]
    paths += list(SHORT_PATHS.items())
    for path, call in paths:
        alias = "" if path == call else f" (analytics.js alias of /v1/{call})"
        router.add_api_route(
            f"/v1/{path}",
            _segment_endpoint(None if call == "batch" else call),
            methods=["POST"],
            summary=f"Segment HTTP Tracking API: {call}{alias}",
            description=(
                "Segment-compatible: the write key is the basic-auth user name (or, without an "
                "Authorization header, the body's `writeKey`), gzip bodies are accepted, "
                "responses are Segment's. Messages are mapped onto the canonical contracts "
                "(docs/adapters.md); unmappable ones are dead-lettered and the request still "
                "answers 200, as Segment does."
            ),
            response_class=JSONResponse,
            **ingestion_docs.segment(None if call == "batch" else call),
        )

    @router.post(
        "/v1/crm/leads",
        summary="CRM lead webhooks (HubSpot, Salesforce) -> lead_created / lead_updated",
        description='One record, an array, or {"leads": [...]}; see docs/adapters.md.',
        response_class=JSONResponse,
        **ingestion_docs.crm(),
    )
    async def crm_leads(request: Request) -> Response:
        producer = await basic_auth_producer(request)
        data = await _read(request, producer, "crm", _refusal)
        body = await _json(request, producer, "crm", data, _refusal)
        leads = crm.lead_items(body)
        await _check_count(request, producer, "crm", data, len(leads), "leads", _refusal)
        now = request.app.state.gateway.clock()
        items = [
            _map(item, lambda raw: crm.map_lead(raw, producer=producer, now=now)) for item in leads
        ]
        outcomes = await _deliver(request, items, producer, "crm")
        return _results(outcomes)

    @router.post(
        "/v1/logs",
        summary="Backend API access logs (NDJSON) -> api_request",
        description="One JSON object per line; see docs/adapters.md for accepted field names.",
        response_class=JSONResponse,
        **ingestion_docs.access_logs(),
    )
    async def access_logs(request: Request) -> Response:
        producer = await basic_auth_producer(request)
        data = await _read(request, producer, "logs", _refusal)
        # Lines are counted (one C-speed scan) before any is parsed.
        lines_sent = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        await _check_count(request, producer, "logs", data, lines_sent, "lines", _refusal)
        now = request.app.state.gateway.clock()
        items: list[Item] = []
        lines: list[int] = []
        for number, value, raw in logs.parse_ndjson(data):
            lines.append(number)
            if isinstance(value, ValueError):
                items.append((raw, AdapterError(errors.MALFORMED_JSON, str(value))))
            else:
                items.append(_map(value, lambda v: logs.map_line(v, producer=producer, now=now)))
        outcomes = await _deliver(request, items, producer, "logs")
        return _results(outcomes, lines)

    return router


def _segment_endpoint(call: str | None) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        try:
            producer, data, body = await _segment_request(request)
            if call is None:
                try:
                    messages, context = segment.batch_messages(body)
                except AdapterError as exc:
                    await dead_letter_request(
                        request,
                        errors.MALFORMED_BATCH,
                        exc.message,
                        producer,
                        "segment",
                        body=data,
                        parsed=body,
                    )
                    raise _refusal(400, errors.MALFORMED_BATCH, exc.message) from None
                # Segment answers 400 (not 413) to a batch that is too large
                await _check_count(
                    request, producer, "segment", data, len(messages), "messages", _refusal, 400
                )
            else:
                messages, context = [body], {}
            now = request.app.state.gateway.clock()
            items = [
                _map(
                    message,
                    lambda m: segment.map_message(
                        m, producer=producer, now=now, call=call, batch_context=context
                    ),
                )
                for message in messages
            ]
            await _deliver(request, items, producer, "segment")
        except GatewayError as exc:
            return _segment_response(exc.status, exc.error, exc.message, exc.headers)
        return Response(b'{"success":true}', 200, media_type="application/json")

    endpoint.__name__ = f"segment_{call or 'batch'}"
    return endpoint


async def _segment_request(request: Request) -> tuple[Producer, bytes, Any]:
    """The producer, body bytes and parsed body of a Segment request.

    An Authorization header, when present, decides (basic auth or Bearer, as on every adapter
    route). Without one the key is the body's top-level `writeKey` (analytics.js), so the body
    is read within the limits and parsed first; a body that is too large, not gzip or not JSON
    is refused as with a header, only without a producer and so without a dead letter. The
    `writeKey` field is removed from the returned body (and the bytes re-serialized) so that no
    dead letter carries the key.
    """
    if "authorization" in request.headers:
        producer = await basic_auth_producer(request)
        data = await _read(request, producer, "segment", _refusal)
        body = await _json(request, producer, "segment", data, _refusal)
        body, data, _ = _without_write_key(body, data)
        return producer, data, body
    data = await _read(request, None, "segment", _refusal)
    if b'"writeKey"' not in data:
        # No key anywhere in the body (one C-speed scan): refused without parsing it.
        raise refuse_unauthorized(
            request,
            "segment",
            "missing write key (basic auth with the write key as user name, "
            "or the body's writeKey)",
        )
    # Still unauthenticated: parsed in a worker thread, so a large body never holds the
    # event loop (the size is bounded by the body limits already).
    try:
        parsed = await anyio.to_thread.run_sync(orjson.loads, data)
    except orjson.JSONDecodeError as exc:
        raise _refusal(400, errors.MALFORMED_JSON, f"the body is not JSON: {exc}") from None
    body, data, raw_key = _without_write_key(parsed, data)
    found = await verify_key(request, raw_key)
    if found is None:
        message = (
            "missing write key (basic auth with the write key as user name, or the body's writeKey)"
            if raw_key is None
            else "unknown or revoked write key"
        )
        raise refuse_unauthorized(request, "segment", message)
    return found, data, body


def _without_write_key(body: Any, data: bytes) -> tuple[Any, bytes, str | None]:
    """The body without its top-level `writeKey`, its bytes, and the key (None if absent)."""
    if not isinstance(body, dict) or "writeKey" not in body:
        return body, data, None
    raw = body["writeKey"]
    stripped = {k: v for k, v in body.items() if k != "writeKey"}
    key = raw if isinstance(raw, str) and raw else None
    return stripped, orjson.dumps(stripped), key


def _map(raw: Any, adapter: Callable[[Any], dict[str, Any]]) -> Item:
    try:
        return raw, adapter(raw)
    except AdapterError as exc:
        return raw, exc
    except Exception as exc:  # an adapter bug (or hostile input it missed) costs one item
        return raw, AdapterError(
            errors.ADAPTER_FAILED, f"the adapter failed on this item: {type(exc).__name__}"
        )


async def _read(
    request: Request,
    producer: Producer | None,
    origin: str,
    error: Callable[[int, str, str], GatewayError],
) -> bytes:
    settings: Settings = request.app.state.settings
    try:
        body = await read_body(
            request,
            max_body_bytes=settings.max_body_bytes,
            max_decompressed_bytes=settings.max_decompressed_bytes,
            keep_bytes=settings.dead_letter_payload_cap,
        )
    except BodyError as exc:
        if producer is not None:  # unauthenticated bodies are never recorded
            await dead_letter_request(
                request, exc.reason, exc.message, producer, origin, body=exc.raw
            )
        # Segment answers 400 to a body that is too large; the others keep the gateway's status
        status = 400 if origin == "segment" and exc.status == 413 else exc.status
        raise error(status, exc.reason, exc.message) from None
    return body.data


async def _json(
    request: Request,
    producer: Producer | None,
    origin: str,
    data: bytes,
    error: Callable[[int, str, str], GatewayError],
) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        message = f"the body is not JSON: {exc}"
        if producer is not None:  # unauthenticated bodies are never recorded
            await dead_letter_request(
                request, errors.MALFORMED_JSON, message, producer, origin, body=data
            )
        raise error(400, errors.MALFORMED_JSON, message) from None


async def _check_count(
    request: Request,
    producer: Producer,
    origin: str,
    data: bytes,
    count: int,
    noun: str,
    error: Callable[[int, str, str], GatewayError],
    status: int = 413,
) -> None:
    """Refuse a request carrying more than ``max_batch_events`` items, before any is mapped:
    one capped dead letter of the body, then the 4xx (never one dead letter per item)."""
    limit = request.app.state.settings.max_batch_events
    if count <= limit:
        return
    message = f"the request has {count} {noun}, over the limit of {limit}"
    await dead_letter_request(request, errors.BATCH_TOO_LARGE, message, producer, origin, body=data)
    raise error(status, errors.BATCH_TOO_LARGE, message)


async def _deliver(
    request: Request, items: Sequence[Item], producer: Producer, origin: str
) -> list[Outcome]:
    """Process the mapped events and dead-letter the others in one commit; verdicts in item order."""
    gateway = request.app.state.gateway
    events = [mapped for _, mapped in items if not isinstance(mapped, AdapterError)]
    batch = gateway.process(events, producer, origin)
    processed = iter(batch.outcomes)
    outcomes: list[Outcome] = []
    for index, (raw, mapped) in enumerate(items):
        if isinstance(mapped, AdapterError):
            batch.dead_letters.append(
                gateway.dead_letter_record(
                    raw, mapped.reason, mapped.message, producer, origin, batch.received_at
                )
            )
            batch.stats.rejected[(mapped.reason, producer.name)] += 1
            outcomes.append(Outcome(index, None, "rejected", mapped.reason, mapped.message))
        else:
            found = next(processed)
            outcomes.append(
                Outcome(index, found.event_id, found.status, found.reason, found.message)
            )
    await anyio.to_thread.run_sync(gateway.commit, batch)
    request.state.log_fields = {
        "events": len(items),
        "accepted": sum(1 for o in outcomes if o.status == "accepted"),
        "rejected": sum(1 for o in outcomes if o.status == "rejected"),
    }
    return outcomes


def _results(outcomes: Sequence[Outcome], lines: Sequence[int] | None = None) -> Response:
    results = []
    for outcome in outcomes:
        entry: dict[str, Any] = {"index": outcome.index, **outcome.to_json()}
        if lines is not None:
            entry["line"] = lines[outcome.index]
        results.append(entry)
    return Response(orjson.dumps({"results": results}), 200, media_type="application/json")


def _refusal(status: int, reason: str, message: str) -> GatewayError:
    return GatewayError(status, reason, message)


def _segment_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    body = {"success": False, "code": code, "message": message}
    return Response(
        orjson.dumps(body), status, headers=dict(headers or {}), media_type="application/json"
    )
