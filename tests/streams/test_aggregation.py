"""KPL aggregation: our hand-written encoder and decoder agree with the protobuf library on the
KPL message definitions, packing keeps every key's order and the 1 MiB limit, and damaged
aggregates are refused with a reason."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.streams.aggregation import MAGIC, AggregateError, aggregate, deaggregate
from pipeline.streams.base import MAX_RECORD_BYTES, Record


def _kpl_messages() -> tuple[Any, Any]:
    """AggregatedRecord and Record of the KPL's messages.proto, built at run time."""
    proto = descriptor_pb2.FileDescriptorProto(name="kpl_messages.proto", package="kpl")
    F = descriptor_pb2.FieldDescriptorProto
    tag = proto.message_type.add(name="Tag")
    tag.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_REQUIRED)
    tag.field.add(name="value", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    record = proto.message_type.add(name="Record")
    record.field.add(
        name="partition_key_index", number=1, type=F.TYPE_UINT64, label=F.LABEL_REQUIRED
    )
    record.field.add(
        name="explicit_hash_key_index", number=2, type=F.TYPE_UINT64, label=F.LABEL_OPTIONAL
    )
    record.field.add(name="data", number=3, type=F.TYPE_BYTES, label=F.LABEL_REQUIRED)
    record.field.add(
        name="tags", number=4, type=F.TYPE_MESSAGE, type_name=".kpl.Tag", label=F.LABEL_REPEATED
    )
    aggregated = proto.message_type.add(name="AggregatedRecord")
    aggregated.field.add(
        name="partition_key_table", number=1, type=F.TYPE_STRING, label=F.LABEL_REPEATED
    )
    aggregated.field.add(
        name="explicit_hash_key_table", number=2, type=F.TYPE_STRING, label=F.LABEL_REPEATED
    )
    aggregated.field.add(
        name="records",
        number=3,
        type=F.TYPE_MESSAGE,
        type_name=".kpl.Record",
        label=F.LABEL_REPEATED,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("kpl.AggregatedRecord")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("kpl.Record")),
    )


AggregatedRecord, _Record = _kpl_messages()

KEYS = st.text(min_size=1, max_size=8)
DATA = st.binary(max_size=300).filter(lambda d: not d.startswith(MAGIC))
"""(A plain record that starts with the KPL magic reads as a damaged aggregate; consumers then
keep it whole, as the KCL does. The gateway's records are JSON, so they never do.)"""


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from(["a", "b", "é", "user-7"]), DATA), max_size=40))
def test_aggregates_parse_with_protobuf_and_keep_each_keys_order(
    pairs: list[tuple[str, bytes]],
) -> None:
    records = [Record(key, data) for key, data in pairs]
    out = aggregate(records)
    seen: dict[str, list[bytes]] = {}
    for record in out:
        if record.data.startswith(MAGIC):
            body = record.data[len(MAGIC) : -16]
            assert hashlib.md5(body).digest() == record.data[-16:]
            message = AggregatedRecord()
            message.ParseFromString(body)
            assert list(message.partition_key_table) == [record.partition_key]
            assert len(message.records) >= 2
            for entry in message.records:
                assert entry.partition_key_index == 0
                seen.setdefault(record.partition_key, []).append(entry.data)
        else:
            seen.setdefault(record.partition_key, []).append(record.data)
    expected: dict[str, list[bytes]] = {}
    for key, data in pairs:
        expected.setdefault(key, []).append(data)
    assert seen == expected


@settings(max_examples=300, deadline=None)
@given(
    table=st.lists(KEYS, min_size=1, max_size=4),
    entries=st.lists(st.tuples(st.integers(min_value=0, max_value=3), DATA), max_size=20),
    tagged=st.booleans(),
)
def test_protobuf_written_aggregates_are_read_back(
    table: list[str], entries: list[tuple[int, bytes]], tagged: bool
) -> None:
    """What a KPL producer writes (several keys, hash keys, tags) reads back in order."""
    message = AggregatedRecord()
    message.partition_key_table.extend(table)
    message.explicit_hash_key_table.append("340282366920938463463374607431768211455")
    expected = []
    for index, data in entries:
        index %= len(table)
        entry = message.records.add(partition_key_index=index, data=data)
        if tagged:
            entry.explicit_hash_key_index = 0
            entry.tags.add(key="k", value="v")
        expected.append((table[index], data))
    body = message.SerializeToString()
    assert deaggregate(MAGIC + body + hashlib.md5(body).digest()) == expected


def test_plain_records_are_not_aggregates() -> None:
    assert deaggregate(b'{"event": {}}') is None
    assert aggregate([Record("k", b"one")]) == [Record("k", b"one")]


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "MD5"),
        (lambda d: d[:10], "shorter"),
        (lambda d: d[:-17] + d[-16:], "MD5"),
        (lambda d: MAGIC + b"\x01", "shorter"),
    ],
)
def test_damaged_aggregates_say_what_is_wrong(damage: Any, reason: str) -> None:
    good = aggregate([Record("k", b"first"), Record("k", b"second")])[0].data
    with pytest.raises(AggregateError, match=reason):
        deaggregate(damage(good))


def test_an_overlong_varint_is_refused_even_with_a_matching_digest() -> None:
    body = b"\x08" + b"\xff" * 10 + b"\x01"  # field 1 as a varint of 11 bytes
    with pytest.raises(AggregateError, match="longer than 64 bits"):
        deaggregate(MAGIC + body + hashlib.md5(body).digest())


def test_a_truncated_field_is_refused_even_with_a_matching_digest() -> None:
    body = b"\x0a\x05ab"  # partition_key_table entry of 5 bytes, only 2 present
    with pytest.raises(AggregateError, match="truncated"):
        deaggregate(MAGIC + body + hashlib.md5(body).digest())


def test_aggregates_fit_the_record_limit_and_big_records_stay_plain() -> None:
    key = "user-1"
    big = Record(key, b"x" * (MAX_RECORD_BYTES - 100))
    small = [Record(key, bytes([65 + i % 26]) * 300_000) for i in range(7)]
    out = aggregate([*small[:3], big, *small[3:]])
    assert all(len(r.data) + len(r.partition_key) <= MAX_RECORD_BYTES for r in out)
    assert big in out  # too big to share: sent as it is, in its place
    flattened = [
        data for record in out for _key, data in (deaggregate(record.data) or [(key, record.data)])
    ]
    assert flattened == [r.data for r in [*small[:3], big, *small[3:]]]
