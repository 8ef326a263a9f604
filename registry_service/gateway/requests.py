"""Dead letters for whole requests the gateway refuses (bad body, too big, too many items).

A refused request from an authenticated producer may still carry events somebody wants, so
its body goes to the dead-letter stream before the 4xx is sent: exactly ONE record per refused
request, whatever the body holds. A body of at most ``dead_letter_payload_cap`` bytes that is
JSON is kept as its JSON value (``payload``); anything else (not JSON, or larger) is kept as
base64 of its first ``dead_letter_payload_cap`` bytes (``payload_bytes`` gives the full length,
``payload_truncated`` says it was cut). The work and the bytes written for a refused request
are therefore bounded by a constant, never proportional to what the body claims to contain:
a 2 KB gzip body of a million items costs one capped record, not a million (issue 10).

Unauthenticated requests never get here: they are refused before their body is read
(registry_service.gateway.auth) and leave nothing but a counter and a log line.

If the dead-letter stream itself is down, the client gets 503 instead of the 4xx: it retries,
and nothing is lost.
"""

from __future__ import annotations

from typing import Any

import anyio
import orjson
from fastapi import Request

from pipeline.streams.base import Record
from registry_service.gateway.body import BodyError, read_body
from registry_service.model import Producer
from registry_service.settings import Settings


def dead_letter_records(
    gateway: Any,
    data: bytes,
    reason: str,
    message: str,
    producer: Producer | None,
    origin: str,
    parsed: Any = None,
) -> list[Record]:
    """The single dead-letter record of a refused body (see the module docstring).

    ``parsed`` is accepted for callers that already hold the body's JSON value, but only a body
    within the payload cap is ever kept as JSON: a large one is never walked or re-serialized.
    """
    cap: int = gateway.dead_letter_payload_cap
    received_at = gateway.clock()
    payload: Any = data
    if data and len(data) <= cap:
        value = parsed
        if value is None:
            try:
                value = orjson.loads(data)
            except orjson.JSONDecodeError:
                value = None
        if value is not None:
            payload = value
    return [gateway.dead_letter_record(payload, reason, message, producer, origin, received_at)]


async def dead_letter_request(
    request: Request,
    reason: str,
    message: str,
    producer: Producer,
    origin: str,
    *,
    body: bytes | None = None,
    parsed: Any = None,
) -> None:
    """Record the request's body (read within the limits if not given) as one dead letter.

    Only for authenticated producers. Raises SinkUnavailable (503) when the dead-letter stream
    refuses the record.
    """
    gateway = request.app.state.gateway
    settings: Settings = request.app.state.settings
    if body is None:
        try:
            body = (
                await read_body(
                    request,
                    max_body_bytes=settings.max_body_bytes,
                    max_decompressed_bytes=settings.max_decompressed_bytes,
                    keep_bytes=settings.dead_letter_payload_cap,
                )
            ).data
        except BodyError as exc:
            body = exc.raw
    records = dead_letter_records(gateway, body, reason, message, producer, origin, parsed)
    gateway.metrics.reject(reason, producer.name, len(records))
    await anyio.to_thread.run_sync(gateway.put_dead_letters, records)
