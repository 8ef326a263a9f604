"""The one small interface between the gateway and a stream, and the limits every sink applies.

The gateway acknowledges a request only after `StreamSink.put` returned: `put` returns once the
stream durably accepted *all* records, or raises `SinkError` (at-least-once: some records may
have been accepted before the error; the client retries and the dedup key removes duplicates).

The same record limits apply to every sink, so an event accepted on a laptop (local stream) is
never rejected in production (Kinesis): a partition key of 1..256 characters and at most 1 MiB
per record, partition key included (the Kinesis PutRecords limits).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

MAX_RECORD_BYTES = 1024 * 1024
"""Kinesis' per-record limit: data plus the UTF-8 partition key."""

MAX_PARTITION_KEY_CHARS = 256
"""Kinesis' partition key limit (Unicode characters)."""

StreamKind = Literal["local", "kinesis"]
StreamName = Literal["events", "dead_letters"]
STREAM_NAMES: tuple[StreamName, ...] = ("events", "dead_letters")


@dataclass(slots=True)
class Record:
    """One stream record: the bytes the gateway wrote (orjson) and the key that orders them.

    Records with the same partition key are kept in order by every sink. Not frozen: a
    frozen dataclass costs twice as much to build, and the gateway builds one per event
    (nothing changes a record after it is built).
    """

    partition_key: str
    data: bytes

    def size(self) -> int:
        """Bytes this record counts against the Kinesis limits: data plus the UTF-8 key."""
        return len(self.data) + len(self.partition_key.encode("utf-8"))


class SinkError(Exception):
    """The stream did not accept (all of) the records; the message says which stream and why."""


class StreamSink(Protocol):
    """Where the gateway writes: `put` returns after durable acceptance of all records."""

    def put(self, records: Sequence[Record]) -> None:
        """Durably append `records` (in order per partition key) or raise `SinkError`."""
        ...

    def probe(self) -> None:
        """Raise `SinkError` unless the stream can accept writes now (for readiness checks).

        Cheap: /readyz calls it on every probe. A sink whose last write failed must not
        report ready on the strength of an open handle alone (the local stream writes and
        fsyncs a small probe file then, to learn whether the disk has room again).
        """
        ...

    def close(self) -> None:
        """Release the stream (files, locks, connections); idempotent."""
        ...


def check_records(records: Sequence[Record], stream: str) -> None:
    """Reject the whole batch, before anything is written, when one record breaks a limit.

    Checking first keeps a batch all-or-nothing for bad input: a too-large record must not
    leave its neighbours half written.
    """
    for index, record in enumerate(records):
        if not isinstance(record, Record):
            raise SinkError(
                f"{stream}: record {index} is a {type(record).__name__}, expected a Record"
            )
        if not isinstance(record.data, bytes):
            raise SinkError(
                f"{stream}: record {index} data is a {type(record.data).__name__}, expected bytes"
            )
        key = record.partition_key
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_PARTITION_KEY_CHARS:
            shown = len(key) if isinstance(key, str) else type(key).__name__
            raise SinkError(
                f"{stream}: record {index} partition key must be 1..{MAX_PARTITION_KEY_CHARS} "
                f"characters, got {shown}"
            )
        size = record.size()
        if size > MAX_RECORD_BYTES:
            raise SinkError(
                f"{stream}: record {index} is {size} bytes with its partition key, over the "
                f"{MAX_RECORD_BYTES}-byte limit per record"
            )


def partition_key_for(event: Mapping[str, Any]) -> str:
    """The partition key of a canonical event: the first of user.user_id, user.anonymous_id,
    user.device_id, else event_id (docs/streams.md).

    Keying by user keeps one user's events in order (same shard, same key). Keys longer than
    Kinesis allows are replaced by their SHA-256 (hex), which is just as stable.
    """
    user = event.get("user")
    key: object = None
    if isinstance(user, Mapping):
        for field in ("user_id", "anonymous_id", "device_id"):
            value = user.get(field)
            if isinstance(value, str) and value:
                key = value
                break
    if key is None:
        key = event.get("event_id")
    if not isinstance(key, str) or not key:
        raise SinkError("event has no user id, anonymous id, device id or event_id to key it by")
    if len(key) > MAX_PARTITION_KEY_CHARS:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()
    return key


@dataclass(frozen=True)
class KinesisOptions:
    """Where the Kinesis streams are (settings REFRACT_KINESIS_STREAM / _REGION / _ENDPOINT).

    The events stream is `stream`; the dead-letter stream is `dead_letter_stream`, by default
    `<stream>-dead-letters`.
    """

    stream: str
    region: str | None = None
    endpoint_url: str | None = None
    dead_letter_stream: str | None = None
    max_retry_time: float = 30.0

    def stream_name(self, stream: StreamName) -> str:
        if stream == "events":
            return self.stream
        return self.dead_letter_stream or f"{self.stream}-dead-letters"


def local_stream_directory(data_dir: str | Path, stream: StreamName) -> Path:
    """Directory of a local stream: <data_dir>/streams/<events|dead_letters>."""
    return Path(data_dir) / "streams" / stream


def open_sink(
    kind: StreamKind,
    stream: StreamName,
    data_dir: str | Path,
    kinesis: KinesisOptions | None = None,
    *,
    client: Any = None,
) -> StreamSink:
    """Open the sink for one of the two streams.

    `local` (the default) writes segment files under <data_dir>/streams/<stream>;
    `kinesis` needs `kinesis` options (and uses `client` when given, e.g. for tests).
    """
    if stream not in STREAM_NAMES:
        raise SinkError(f"unknown stream {stream!r}: expected one of {', '.join(STREAM_NAMES)}")
    if kind == "local":
        from pipeline.streams.local import LocalStream

        return LocalStream(local_stream_directory(data_dir, stream))
    if kind == "kinesis":
        if kinesis is None or not kinesis.stream:
            raise SinkError("REFRACT_STREAM=kinesis needs a stream name (REFRACT_KINESIS_STREAM)")
        from pipeline.streams.kinesis import KinesisSink

        return KinesisSink(
            kinesis.stream_name(stream),
            region=kinesis.region,
            endpoint_url=kinesis.endpoint_url,
            client=client,
            max_retry_time=kinesis.max_retry_time,
        )
    raise SinkError(f"unknown stream kind {kind!r}: expected 'local' or 'kinesis'")
