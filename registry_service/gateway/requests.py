"""Dead letters for whole requests the gateway refuses (bad key, bad body, too big).

A refused request still carries events somebody wants, so its body goes to the dead-letter
stream before the 4xx is sent. When the body is a batch (``{"events": [...]}`` from the SDK,
``{"batch": [...]}`` from Segment) every item becomes its own record, like a rejected event of
an accepted batch; a body that is not JSON, not a batch, or larger than the payload cap is
kept as base64 of its first ``dead_letter_payload_cap`` bytes (``payload_bytes`` gives the
full length, ``payload_truncated`` says it was cut). One record therefore never approaches the
stream's 1 MiB record limit.

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
    """The dead-letter records of a refused body (see the module docstring)."""
    cap: int = gateway.dead_letter_payload_cap
    received_at = gateway.clock()
    value = parsed
    if value is None and data:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            value = None
    items = None
    if isinstance(value, dict):
        for field in ("events", "batch"):
            if isinstance(value.get(field), list):
                items = value[field]
                break
    records = []
    if items is not None:
        for item in items:
            encoded = orjson.dumps(item)
            payload: Any = item if len(encoded) <= cap else encoded
            records.append(
                gateway.dead_letter_record(payload, reason, message, producer, origin, received_at)
            )
        if records:
            return records
    payload = value if value is not None and len(data) <= cap else data
    return [gateway.dead_letter_record(payload, reason, message, producer, origin, received_at)]


async def dead_letter_request(
    request: Request,
    reason: str,
    message: str,
    producer: Producer | None,
    origin: str,
    *,
    body: bytes | None = None,
    parsed: Any = None,
) -> None:
    """Record the request's body (read within the limits if not given) as dead letters.

    Raises SinkUnavailable (503) when the dead-letter stream refuses the records.
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
    gateway.metrics.reject(reason, producer.name if producer else "unauthenticated", len(records))
    await anyio.to_thread.run_sync(gateway.put_dead_letters, records)
