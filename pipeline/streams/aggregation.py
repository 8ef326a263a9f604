"""KPL record aggregation: the consecutive records of one partition key in one Kinesis record.

Why: the Kinesis sink keeps every key's records in order by sending at most one Kinesis record
per key in a PutRecords call (pipeline/streams/kinesis.py). An SDK batch is usually one user's
events, so without aggregation a batch of 100 events of one key took 100 sequential calls.
Packed into aggregated records (up to 1 MiB each), the same batch takes one call, keeps its
order under partial failures (an aggregate is accepted or retried whole), and uses fewer PUT
payload units.

The format is the Kinesis Producer Library's, so AWS consumers that de-aggregate KPL records
(the KCL, Lambda's and Firehose's de-aggregation) read our streams as well as our loader does:

    record = magic F3 89 9A C2 | protobuf AggregatedRecord | MD5 of the protobuf bytes (16)

    message AggregatedRecord {
      repeated string partition_key_table = 1;
      repeated string explicit_hash_key_table = 2;
      repeated Record records = 3;
    }
    message Record {
      required uint64 partition_key_index = 1;
      optional uint64 explicit_hash_key_index = 2;
      required bytes data = 3;
      repeated Tag tags = 4;
    }

Only that small subset of protobuf is written and read here (varints and length-delimited
fields; other wire types are skipped when reading), so no protobuf runtime is needed;
tests/streams/test_aggregation.py checks both directions against the protobuf library. A
record that does not start with the magic is a plain record (a key with a single record in a
batch is sent plain).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from pipeline.streams.base import MAX_RECORD_BYTES, Record

MAGIC = b"\xf3\x89\x9a\xc2"
_DIGEST_BYTES = 16
_OVERHEAD = len(MAGIC) + _DIGEST_BYTES


class AggregateError(ValueError):
    """A record that starts with the KPL magic but is not a valid aggregate."""


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(tag << 3 | 2) + _varint(len(payload)) + payload


_RECORDS_TAG = _varint(3 << 3 | 2)  # AggregatedRecord.records
_INDEX_ZERO = _varint(1 << 3 | 0) + _varint(0)  # Record.partition_key_index = 0
_DATA_TAG = _varint(3 << 3 | 2)  # Record.data


def _entry_head(data: bytes) -> bytes:
    """What precedes ``data`` in its AggregatedRecord.records entry (for the table's only
    key): the entry's tag and length, the key index, the data field's tag and length. Kept
    apart from the data so an aggregate copies each record's bytes once (in _flush)."""
    inner = _INDEX_ZERO + _DATA_TAG + _varint(len(data))
    return _RECORDS_TAG + _varint(len(inner) + len(data)) + inner


def aggregate(records: Sequence[Record], max_bytes: int = MAX_RECORD_BYTES) -> list[Record]:
    """``records`` grouped by partition key (keys in order of first appearance, each key's
    records in their order), each group packed into aggregated records whose data and key
    stay within ``max_bytes``. A group of one record, and a record too big to share an
    aggregate, is kept as it is."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(record.partition_key, []).append(record)
    out: list[Record] = []
    for key, group in groups.items():
        if len(group) == 1:
            out.append(group[0])
            continue
        encoded_key = key.encode("utf-8")
        table = _field(1, encoded_key)
        budget = max_bytes - len(encoded_key) - _OVERHEAD - len(table)
        pending: list[Record] = []
        parts: list[bytes] = [table]
        used = 0
        for record in group:
            head = _entry_head(record.data)
            size = len(head) + len(record.data)
            if size > budget:  # cannot share an aggregate: sent plain, in its place
                out.extend(_flush(pending, parts))
                pending, parts, used = [], [table], 0
                out.append(record)
                continue
            if used + size > budget:
                out.extend(_flush(pending, parts))
                pending, parts, used = [], [table], 0
            pending.append(record)
            parts += (head, record.data)
            used += size
        out.extend(_flush(pending, parts))
    return out


def _flush(pending: list[Record], parts: list[bytes]) -> list[Record]:
    if len(pending) <= 1:  # nothing, or one record left: sent plain
        return pending
    body = b"".join(parts)
    digest = hashlib.md5(body, usedforsecurity=False).digest()
    return [Record(pending[0].partition_key, b"".join((MAGIC, body, digest)))]


def deaggregate(data: bytes) -> list[tuple[str, bytes]] | None:
    """``(partition key, data)`` of every user record of a KPL aggregate, in order; None for
    a plain record. AggregateError names what is wrong with a damaged aggregate."""
    if not data.startswith(MAGIC):
        return None
    if len(data) < _OVERHEAD:
        raise AggregateError("KPL aggregate shorter than its magic and digest")
    body = data[len(MAGIC) : -_DIGEST_BYTES]
    if hashlib.md5(body, usedforsecurity=False).digest() != data[-_DIGEST_BYTES:]:
        raise AggregateError("KPL aggregate fails its MD5 check")
    keys: list[str] = []
    entries: list[tuple[int, bytes]] = []
    for tag, value in _fields(body):
        if tag == 1 and isinstance(value, bytes):
            try:
                keys.append(value.decode("utf-8"))
            except UnicodeDecodeError:
                raise AggregateError(
                    "KPL aggregate has a partition key that is not UTF-8"
                ) from None
        elif tag == 3 and isinstance(value, bytes):
            entries.append(_entry(value))
    out = []
    for index, payload in entries:
        if index >= len(keys):
            raise AggregateError(
                f"KPL aggregate record names partition key {index}, the table has {len(keys)}"
            )
        out.append((keys[index], payload))
    return out


def _entry(message: bytes) -> tuple[int, bytes]:
    index: int | None = None
    payload: bytes | None = None
    for tag, value in _fields(message):
        if tag == 1 and isinstance(value, int):
            index = value
        elif tag == 3 and isinstance(value, bytes):
            payload = value
    if index is None or payload is None:
        raise AggregateError("KPL aggregate record lacks its partition key index or data")
    return index, payload


def _fields(buffer: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message: varints as int, length-delimited as
    bytes; fixed 32/64-bit fields are skipped (none is used by the format)."""
    out: list[tuple[int, int | bytes]] = []
    position = 0
    end = len(buffer)
    while position < end:
        key, position = _read_varint(buffer, position)
        tag, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _read_varint(buffer, position)
            out.append((tag, value))
        elif wire == 2:
            length, position = _read_varint(buffer, position)
            if position + length > end:
                raise AggregateError("KPL aggregate is truncated (a field runs past its end)")
            out.append((tag, buffer[position : position + length]))
            position += length
        elif wire == 1:
            position += 8
        elif wire == 5:
            position += 4
        else:
            raise AggregateError(f"KPL aggregate has an unknown protobuf wire type {wire}")
    if position != end:
        raise AggregateError("KPL aggregate is truncated (a fixed-size field runs past its end)")
    return out


def _read_varint(buffer: bytes, position: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if position >= len(buffer):
            raise AggregateError("KPL aggregate is truncated (inside a varint)")
        if shift > 63:
            raise AggregateError("KPL aggregate has a varint longer than 64 bits")
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
