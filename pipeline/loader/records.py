"""One stream record -> one raw row. Bad data becomes a dead letter, never an exception.

The loader must never stop on a record it cannot read: the gateway wrote every record, but a
bug, a manual `put`, or a record from another producer on a shared Kinesis stream can still be
anything. Such a record becomes a raw.dead_letters row with reason `loader_unparsable`, the
source position it came from (its primary key, so a reload does not duplicate it), a one-line
message saying what is wrong and where, and the record itself (as JSON when it parsed, else as
base64) — nothing is lost, and it can be replayed once fixed.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from pipeline.loader.rows import DeadLetterRow, EventRow

UNPARSABLE = "loader_unparsable"
"""raw.dead_letters.reason of a record the loader could not turn into a row."""

LOADER_ORIGIN = "loader"
"""raw.dead_letters.origin of a loader_unparsable row when the record names no origin."""


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A record as read from a stream shard, with the position that keys its raw row."""

    stream: str
    shard_id: str
    position: str
    partition_key: str
    data: bytes
    arrival: datetime | None = None
    """When the stream received it, if the stream says (Kinesis ApproximateArrivalTimestamp)."""

    def where(self) -> str:
        return f"{self.stream}/{self.shard_id}/{self.position}"


class _Bad(Exception):
    """A field problem, turned into a loader_unparsable dead letter by the caller."""


def parse_timestamp(value: object, field: str) -> datetime:
    """An ISO-8601 timestamp as naive UTC (timestamps without an offset are taken as UTC)."""
    if not isinstance(value, str):
        raise _Bad(f"{field} is {_kind(value)}, expected an ISO-8601 timestamp string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{field} {value[:64]!r} is not an ISO-8601 timestamp") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _kind(value: object) -> str:
    if value is None:
        return "missing or null"
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _text(mapping: dict[str, Any], key: str, where: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value:
        raise _Bad(f"{where}{key} is {_kind(value)}, expected a non-empty string")
    return value


def _optional_text(mapping: dict[str, Any] | None, key: str) -> str | None:
    if mapping is None:
        return None
    value = mapping.get(key)
    return value if isinstance(value, str) else None


def parse_event_record(record: SourceRecord) -> EventRow | DeadLetterRow:
    """An events-stream record `{"event", "received_at", "gateway"}` as a raw.events row."""
    try:
        body = orjson.loads(record.data)
    except orjson.JSONDecodeError as error:
        return unparsable(record, f"not JSON ({error})", None)
    try:
        if not isinstance(body, dict):
            raise _Bad(f"the record is {_kind(body)}, expected an object")
        event = body.get("event")
        if not isinstance(event, dict):
            raise _Bad(f"event is {_kind(event)}, expected an object")
        gateway = body.get("gateway")
        if not isinstance(gateway, dict):
            raise _Bad(f"gateway is {_kind(gateway)}, expected an object")
        dedup_key = event.get("dedup_key")
        if dedup_key is not None and not isinstance(dedup_key, str):
            raise _Bad(f"event.dedup_key is {_kind(dedup_key)}, expected a string or null")
        return EventRow(
            stream=record.stream,
            shard_id=record.shard_id,
            position=record.position,
            partition_key=record.partition_key,
            event_id=_text(event, "event_id", "event."),
            event_name=_text(event, "event_name", "event."),
            schema_ref=_text(event, "schema", "event."),
            dedup_key=dedup_key,
            source=_text(event, "source", "event."),
            occurred_at=parse_timestamp(event.get("occurred_at"), "event.occurred_at"),
            received_at=parse_timestamp(body.get("received_at"), "received_at"),
            payload=orjson.dumps(event).decode(),
            gateway=orjson.dumps(gateway).decode(),
        )
    except _Bad as error:
        return unparsable(record, str(error), body)


def parse_dead_letter_record(record: SourceRecord) -> DeadLetterRow:
    """A dead-letter-stream record (docs/dead-letters.md) as a raw.dead_letters row."""
    try:
        body = orjson.loads(record.data)
    except orjson.JSONDecodeError as error:
        return unparsable(record, f"not JSON ({error})", None)
    try:
        if not isinstance(body, dict):
            raise _Bad(f"the record is {_kind(body)}, expected an object")
        producer = body.get("producer")
        if producer is not None and not isinstance(producer, dict):
            raise _Bad(f"producer is {_kind(producer)}, expected an object or null")
        payload_json: str | None = None
        event_id: str | None = None
        if "payload" in body:
            payload = body["payload"]
            payload_json = None if payload is None else orjson.dumps(payload).decode()
            if isinstance(payload, dict) and isinstance(payload.get("event_id"), str):
                event_id = payload["event_id"]
        payload_base64 = body.get("payload_base64")
        if payload_base64 is not None and not isinstance(payload_base64, str):
            raise _Bad(f"payload_base64 is {_kind(payload_base64)}, expected a string")
        payload_bytes = body.get("payload_bytes")
        if payload_bytes is not None and (
            not isinstance(payload_bytes, int) or isinstance(payload_bytes, bool)
        ):
            raise _Bad(f"payload_bytes is {_kind(payload_bytes)}, expected an integer")
        truncated = body.get("payload_truncated", False)
        if not isinstance(truncated, bool):
            raise _Bad(f"payload_truncated is {_kind(truncated)}, expected a boolean")
        return DeadLetterRow(
            stream=record.stream,
            shard_id=record.shard_id,
            position=record.position,
            reason=_text(body, "reason", ""),
            message=body["message"] if isinstance(body.get("message"), str) else "",
            origin=_text(body, "origin", ""),
            producer_key_id=_optional_text(producer, "key_id"),
            producer_source=_optional_text(producer, "source"),
            producer_name=_optional_text(producer, "name"),
            event_id=event_id,
            received_at=parse_timestamp(body.get("received_at"), "received_at"),
            payload=payload_json,
            payload_base64=payload_base64,
            payload_bytes=payload_bytes,
            payload_truncated=truncated,
        )
    except _Bad as error:
        return unparsable(record, str(error), body)


def unparsable(record: SourceRecord, problem: str, body: Any) -> DeadLetterRow:
    """A loader_unparsable dead letter keeping the whole record (JSON, else base64).

    Producer, origin, event_id and received_at are taken from the record where they can be
    read, else received_at is the stream's arrival time, else the loader's clock.
    """
    is_object = isinstance(body, dict)
    gateway = body.get("gateway") if is_object else None
    meta: dict[str, Any] = gateway if isinstance(gateway, dict) else (body if is_object else {})
    producer = meta.get("producer")
    producer = producer if isinstance(producer, dict) else None
    event = body.get("event") if is_object else None
    payload_like = (
        event if isinstance(event, dict) else (body.get("payload") if is_object else None)
    )
    event_id = payload_like.get("event_id") if isinstance(payload_like, dict) else None
    try:
        received_at = parse_timestamp(body.get("received_at"), "received_at") if is_object else None
    except _Bad:
        received_at = None
    if received_at is None:
        arrival = record.arrival or datetime.now(UTC)
        received_at = (
            arrival.astimezone(UTC).replace(tzinfo=None) if arrival.tzinfo is not None else arrival
        )
    origin = meta.get("origin")
    json_text: str | None = None
    if body is not None:
        json_text = record.data.decode("utf-8")
    return DeadLetterRow(
        stream=record.stream,
        shard_id=record.shard_id,
        position=record.position,
        reason=UNPARSABLE,
        message=f"{record.where()}: {problem}",
        origin=origin if isinstance(origin, str) and origin else LOADER_ORIGIN,
        producer_key_id=_optional_text(producer, "key_id"),
        producer_source=_optional_text(producer, "source"),
        producer_name=_optional_text(producer, "name"),
        event_id=event_id if isinstance(event_id, str) else None,
        received_at=received_at,
        payload=json_text,
        payload_base64=None if json_text is not None else base64.b64encode(record.data).decode(),
        payload_bytes=len(record.data),
        payload_truncated=False,
    )
