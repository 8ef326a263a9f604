"""KinesisSink against kinesis-local, with faults injected by a proxy in front of the real client.

Every test reads the stream back from kinesis-local (get_records) and checks what a consumer
would see: all records present, and each partition key's records in put order.
"""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from pipeline.streams import KinesisOptions, Record, SinkError, open_sink
from pipeline.streams.kinesis import MAX_CALL_BYTES, MAX_CALL_RECORDS, KinesisSink
from tests.streams.faults import Fault, FaultyKinesis
from tests.support.kinesis_local import KinesisLocal

FAST = {"backoff_base": 0.001, "backoff_max": 0.01}


def sink_for(
    server: KinesisLocal, stream: str, proxy: FaultyKinesis | None = None, **options: object
) -> KinesisSink:
    client = proxy if proxy is not None else server.client()
    return KinesisSink(stream, client=client, **{**FAST, **options})  # type: ignore[arg-type]


def batch(users: int, per_user: int, size: int = 16) -> list[Record]:
    """Interleaved records of several users; data says whose and which (and pads to size)."""
    records = []
    for n in range(per_user):
        for u in range(users):
            head = f"user-{u}/{n}/".encode()
            records.append(Record(f"user-{u}", head + b"." * max(0, size - len(head))))
    return records


def by_key(pairs: list[tuple[str, bytes]]) -> dict[str, list[bytes]]:
    grouped: dict[str, list[bytes]] = defaultdict(list)
    for key, data in pairs:
        grouped[key].append(data)
    return grouped


def first_occurrences(datas: list[bytes]) -> list[bytes]:
    seen: set[bytes] = set()
    return [d for d in datas if not (d in seen or seen.add(d))]


def assert_complete_and_ordered(
    server: KinesisLocal, stream: str, records: list[Record], *, exactly_once: bool
) -> None:
    expected = by_key([(r.partition_key, r.data) for r in records])
    actual = by_key(server.read_all(stream))
    assert actual.keys() == expected.keys()
    for key, datas in expected.items():
        if exactly_once:
            assert actual[key] == datas, key
        else:  # a lost response may duplicate, but the first copies are complete and in order
            assert first_occurrences(actual[key]) == datas, key


def test_puts_reach_the_stream_in_order(kinesis_local: KinesisLocal) -> None:
    stream = kinesis_local.create_stream()
    records = batch(users=7, per_user=5)
    sink = sink_for(kinesis_local, stream)
    sink.put(records)
    sink.put([])
    assert_complete_and_ordered(kinesis_local, stream, records, exactly_once=True)


def test_open_sink_writes_events_and_dead_letters_to_their_streams(
    kinesis_local: KinesisLocal, tmp_path: object
) -> None:
    events = kinesis_local.create_stream(shards=1)
    dead = kinesis_local.create_stream(shards=1)
    options = KinesisOptions(stream=events, dead_letter_stream=dead, region="us-east-1")
    client = kinesis_local.client()
    open_sink("kinesis", "events", "unused", options, client=client).put([Record("u", b"e")])
    open_sink("kinesis", "dead_letters", "unused", options, client=client).put([Record("u", b"d")])
    assert kinesis_local.read_all(events) == [("u", b"e")]
    assert kinesis_local.read_all(dead) == [("u", b"d")]
    assert KinesisOptions(stream="ev").stream_name("dead_letters") == "ev-dead-letters"
    with pytest.raises(SinkError, match="REFRACT_KINESIS_STREAM"):
        open_sink("kinesis", "events", "unused", None)


def test_calls_stay_within_500_records_and_5_mib(kinesis_local: KinesisLocal) -> None:
    stream = kinesis_local.create_stream()
    proxy = FaultyKinesis(kinesis_local.client())
    many = [Record(f"k{i}", b"x" * 100) for i in range(1200)]  # count-bound: 500, 500, 200
    big = [Record(f"b{i}", b"y" * 600_000) for i in range(11)]  # bytes-bound: 8, 3
    sink = sink_for(kinesis_local, stream, proxy, preserve_order=False)
    sink.put(many)
    assert [len(c.keys) for c in proxy.calls] == [500, 500, 200]
    proxy.calls.clear()
    sink.put(big)
    assert [len(c.keys) for c in proxy.calls] == [8, 3]
    assert all(c.bytes <= MAX_CALL_BYTES for c in proxy.calls)
    assert max(c.bytes for c in proxy.calls) > MAX_CALL_BYTES - 700_000  # packed, not timid
    assert_complete_and_ordered(kinesis_local, stream, many + big, exactly_once=True)


def test_the_5_mib_limit_counts_partition_keys(kinesis_local: KinesisLocal) -> None:
    stream = kinesis_local.create_stream(shards=1)
    proxy = FaultyKinesis(kinesis_local.client())
    key = "k" * 256
    # Six records whose data alone fits in 5 MiB (2 bytes to spare): with their keys it does not.
    records = [Record(f"{key[:-1]}{i}", b"z" * (MAX_CALL_BYTES // 6)) for i in range(6)]
    assert sum(len(r.data) for r in records) == MAX_CALL_BYTES - 2
    sink_for(kinesis_local, stream, proxy).put(records)
    assert [len(c.keys) for c in proxy.calls] == [5, 1]


def test_a_record_over_1_mib_with_its_key_is_refused_before_sending(
    kinesis_local: KinesisLocal,
) -> None:
    stream = kinesis_local.create_stream(shards=1)
    proxy = FaultyKinesis(kinesis_local.client())
    sink = sink_for(kinesis_local, stream, proxy)
    exact = Record("key", b"a" * (1024 * 1024 - 3))
    over = Record("key!", b"a" * (1024 * 1024 - 3))
    with pytest.raises(SinkError, match=r"record 1 is 1048577 bytes .* 1048576-byte limit"):
        sink.put([Record("ok", b"fine"), over])
    with pytest.raises(SinkError, match=r"partition key must be 1\.\.256"):
        sink.put([Record("", b"no key")])
    with pytest.raises(SinkError, match=r"partition key must be 1\.\.256"):
        sink.put([Record("k" * 257, b"long key")])
    assert proxy.calls == []  # nothing sent: a batch is refused whole
    sink.put([exact])
    assert kinesis_local.read_all(stream) == [("key", exact.data)]


def test_one_key_is_sent_one_record_per_call(kinesis_local: KinesisLocal) -> None:
    stream = kinesis_local.create_stream(shards=1)
    proxy = FaultyKinesis(kinesis_local.client())
    records = batch(users=3, per_user=4)
    sink_for(kinesis_local, stream, proxy, aggregate=False).put(records)
    assert len(proxy.calls) == 4
    assert all(len(set(c.keys)) == len(c.keys) for c in proxy.calls)
    assert_complete_and_ordered(kinesis_local, stream, records, exactly_once=True)


def test_aggregation_sends_a_batch_of_one_key_in_one_call(kinesis_local: KinesisLocal) -> None:
    """An SDK batch is usually one user's events: aggregated, its 100 records are one KPL
    record in one call (without aggregation, the ordering rule made that 100 calls)."""
    stream = kinesis_local.create_stream(shards=1)
    proxy = FaultyKinesis(kinesis_local.client())
    records = batch(users=1, per_user=100, size=2_000) + batch(users=3, per_user=1)
    sink_for(kinesis_local, stream, proxy).put(records)
    assert len(proxy.calls) == 1
    stored = kinesis_local.read_raw(stream)
    assert len(stored) == 3  # user-0's aggregate, user-1 and user-2 plain
    assert sum(data.startswith(b"\xf3\x89\x9a\xc2") for _key, data in stored) == 1
    assert_complete_and_ordered(kinesis_local, stream, records, exactly_once=True)


def test_aggregates_stay_under_1_mib(kinesis_local: KinesisLocal) -> None:
    stream = kinesis_local.create_stream(shards=1)
    proxy = FaultyKinesis(kinesis_local.client())
    records = batch(users=1, per_user=30, size=100_000)  # ~3 MB of one key
    sink_for(kinesis_local, stream, proxy).put(records)
    stored = kinesis_local.read_raw(stream)
    assert len(stored) == 3
    assert all(len(data) + len(key) <= 1024 * 1024 for key, data in stored)
    # one aggregate per call: a key's next aggregate waits for the previous one
    assert len(proxy.calls) == 3
    assert_complete_and_ordered(kinesis_local, stream, records, exactly_once=True)


@pytest.mark.parametrize("aggregate", [True, False])
def test_partial_failures_are_retried_and_keep_each_key_in_order(
    kinesis_local: KinesisLocal, aggregate: bool
) -> None:
    stream = kinesis_local.create_stream(shards=4)
    rng = random.Random(20261125)
    codes = ["ProvisionedThroughputExceededException", "InternalFailure", "KMSThrottlingException"]

    def plan(index: int, records: list[dict[str, object]]) -> Fault | None:
        roll = rng.random()
        if roll < 0.1:
            return Fault("throttle")
        if roll < 0.6:
            fail = frozenset(i for i in range(len(records)) if rng.random() < 0.3)
            return Fault("partial", fail, rng.choice(codes))
        return None

    proxy = FaultyKinesis(kinesis_local.client(), plan)
    records = batch(users=40, per_user=24)
    sink = sink_for(kinesis_local, stream, proxy, aggregate=aggregate)
    for start in range(0, len(records), 80):  # 2 records per key and put: aggregates of 2
        sink.put(records[start : start + 80])
    faults = [c.fault.kind for c in proxy.calls if c.fault]
    assert "partial" in faults and "throttle" in faults
    assert_complete_and_ordered(kinesis_local, stream, records, exactly_once=True)


@pytest.mark.parametrize("aggregate", [True, False])
def test_lost_responses_duplicate_but_never_reorder(
    kinesis_local: KinesisLocal, aggregate: bool
) -> None:
    stream = kinesis_local.create_stream(shards=2)
    rng = random.Random(7)

    def plan(index: int, records: list[dict[str, object]]) -> Fault | None:
        return Fault("lost") if rng.random() < 0.3 else None

    proxy = FaultyKinesis(kinesis_local.client(), plan)
    records = batch(users=10, per_user=8)
    sink = sink_for(kinesis_local, stream, proxy, aggregate=aggregate)
    for start in range(0, len(records), 20):  # 2 records per key and put: aggregates of 2
        sink.put(records[start : start + 20])
    assert any(c.fault for c in proxy.calls)
    assert len(kinesis_local.read_all(stream)) > len(records)  # duplicates happened
    assert_complete_and_ordered(kinesis_local, stream, records, exactly_once=False)


def test_without_per_key_calls_a_partial_failure_reorders_a_key(
    kinesis_local: KinesisLocal,
) -> None:
    """The fault the ordering rule exists for: the first record of a key fails, the second
    succeeds in the same call. With preserve_order=False the stream ends up out of order
    (which shows the ordering test above can fail); with the default it cannot happen."""
    records = [Record("alice", b"alice/0"), Record("alice", b"alice/1")]

    def plan(index: int, records: list[dict[str, object]]) -> Fault | None:
        return Fault("partial", frozenset({0})) if index == 0 else None

    unordered = kinesis_local.create_stream(shards=1)
    sink_for(
        kinesis_local,
        unordered,
        FaultyKinesis(kinesis_local.client(), plan),
        preserve_order=False,
        aggregate=False,
    ).put(records)
    assert kinesis_local.read_all(unordered) == [("alice", b"alice/1"), ("alice", b"alice/0")]

    ordered = kinesis_local.create_stream(shards=1)
    sink_for(
        kinesis_local, ordered, FaultyKinesis(kinesis_local.client(), plan), aggregate=False
    ).put(records)
    assert kinesis_local.read_all(ordered) == [("alice", b"alice/0"), ("alice", b"alice/1")]

    aggregated = kinesis_local.create_stream(shards=1)  # the aggregate fails and is retried whole
    sink_for(kinesis_local, aggregated, FaultyKinesis(kinesis_local.client(), plan)).put(records)
    assert kinesis_local.read_all(aggregated) == [("alice", b"alice/0"), ("alice", b"alice/1")]


def test_persistent_throttling_gives_up_after_max_retry_time(kinesis_local: KinesisLocal) -> None:
    stream = kinesis_local.create_stream(shards=1)

    def plan(index: int, records: list[dict[str, object]]) -> Fault:
        # Record 0 of every call keeps failing; the rest go through.
        return Fault("partial", frozenset({0}))

    proxy = FaultyKinesis(kinesis_local.client(), plan)
    sink = sink_for(kinesis_local, stream, proxy, max_retry_time=0.3)
    records = [Record("stuck", b"s0"), Record("stuck", b"s1"), Record("free", b"f0")]
    with pytest.raises(
        SinkError,
        match=r"2 of 3 records not accepted after .* ProvisionedThroughputExceededException x 1",
    ):
        sink.put(records)
    assert len(proxy.calls) > 3  # it did retry, with backoff, until the deadline
    # "stuck" never got its first record in, so its second was never sent: order holds.
    assert kinesis_local.read_all(stream) == [("free", b"f0")]


def test_whole_call_throttling_is_retried(kinesis_local: KinesisLocal) -> None:
    stream = kinesis_local.create_stream(shards=1)
    proxy = FaultyKinesis(kinesis_local.client(), lambda i, r: Fault("throttle") if i < 3 else None)
    sink_for(kinesis_local, stream, proxy).put([Record("a", b"1")])
    assert len(proxy.calls) == 4
    assert kinesis_local.read_all(stream) == [("a", b"1")]


def test_non_retriable_errors_fail_at_once(kinesis_local: KinesisLocal) -> None:
    stream = kinesis_local.create_stream(shards=1)
    proxy = FaultyKinesis(
        kinesis_local.client(),
        lambda i, r: Fault("partial", frozenset({1}), "KMSAccessDeniedException"),
    )
    with pytest.raises(SinkError, match=r"not retriable: KMSAccessDeniedException x 1; 1 of 2"):
        sink_for(kinesis_local, stream, proxy).put([Record("a", b"1"), Record("b", b"2")])
    assert len(proxy.calls) == 1
    missing = sink_for(kinesis_local, "no-such-stream")
    with pytest.raises(SinkError, match="ResourceNotFoundException"):
        missing.put([Record("a", b"1")])


def test_an_unreachable_endpoint_is_retried_until_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = KinesisSink(
        "refract-events",
        region="us-east-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        max_retry_time=0.5,
        **FAST,  # type: ignore[arg-type]
    )
    with pytest.raises(SinkError, match=r"1 of 1 records not accepted .*EndpointConnectionError"):
        sink.put([Record("a", b"1")])
    sink.close()


def test_max_call_records_is_the_service_limit() -> None:
    assert MAX_CALL_RECORDS == 500
    assert MAX_CALL_BYTES == 5 * 1024 * 1024


def test_missing_credentials_fail_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    sink = KinesisSink("refract-events", region="us-east-1", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(SinkError, match="NoCredentialsError"):
        sink.put([Record("a", b"1")])
