"""The loader on Kinesis (kinesis-local) into DuckDB: two shards, checkpoints per shard, resume
across Loader instances, replay, a failed commit, an expired iterator and a reshard.

Records are written with the real KinesisSink (as the gateway does), bodies shaped exactly as
the gateway writes them. Without kinesis-local the tests skip; with CI=true they fail.
"""

from __future__ import annotations

import base64
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from pipeline.loader.loader import Loader
from pipeline.loader.sources import KinesisSource
from pipeline.loader.warehouse import DuckDBWarehouse, Warehouse, open_warehouse
from pipeline.streams import KinesisOptions, Record
from pipeline.streams.kinesis import KinesisSink
from tests.pipeline.conftest import dead_letter_body, event_body, page_view
from tests.support.kinesis_local import KinesisLocal


def put_events(kinesis: KinesisLocal, stream: str, ids: list[str], users: int = 6) -> None:
    sink = KinesisSink(stream, client=kinesis.client())
    sink.put(
        [
            Record(
                f"user-{i % users}",
                event_body(page_view(event_id, user={"user_id": f"user-{i % users}"})),
            )
            for i, event_id in enumerate(ids)
        ]
    )


def position_order(position: str) -> tuple[int, ...]:
    """A Kinesis position in stream order: SequenceNumber, then the index in an aggregate."""
    return tuple(int(part) for part in position.split(":"))


def loaded(warehouse: Warehouse) -> list[tuple[str, str, str, str]]:
    return [
        (str(a), str(b), str(c), str(d))
        for a, b, c, d in warehouse.query(
            "SELECT shard_id, position, partition_key, event_id FROM raw.events"
        )
    ]


@pytest.fixture
def streams(kinesis_local: KinesisLocal) -> tuple[str, str]:
    return kinesis_local.create_stream(2), kinesis_local.create_stream(1)


@pytest.fixture
def warehouse(tmp_path: Path) -> Any:
    with open_warehouse(tmp_path / "warehouse.duckdb") as opened:
        yield opened


def test_two_shards_load_and_resume_across_loader_instances(
    kinesis_local: KinesisLocal, streams: tuple[str, str], warehouse: Warehouse
) -> None:
    events, dead = streams
    put_events(kinesis_local, events, [f"a{i}" for i in range(40)])
    KinesisSink(dead, client=kinesis_local.client()).put([Record("k1", dead_letter_body())])

    first = Loader(KinesisSource(kinesis_local.client(), events, dead), warehouse)
    stats = first.load_once()

    assert stats.streams[events].events_inserted == 40
    assert stats.streams[dead].dead_letters_inserted == 1
    rows = loaded(warehouse)
    assert {r[0] for r in rows} == {"shardId-000000000000", "shardId-000000000001"}
    checkpoints = warehouse.checkpoints()
    for shard in ("shardId-000000000000", "shardId-000000000001"):
        shard_positions = [r[1] for r in rows if r[0] == shard]
        assert checkpoints[(events, shard)] == max(shard_positions, key=position_order)
    assert all(lag.millis_behind == 0 for lag in stats.lag.values())
    assert warehouse.query("SELECT stream, reason FROM raw.dead_letters") == [
        (dead, "schema_violation")
    ]

    # A new loader (a restart) continues after the stored checkpoints: only new records.
    put_events(kinesis_local, events, [f"b{i}" for i in range(10)])
    second = Loader(KinesisSource(kinesis_local.client(), events, dead), warehouse)
    resumed = second.load_once()
    assert resumed.streams[events].records_read == 10
    assert resumed.streams[events].events_inserted == 10
    assert resumed.streams[dead].records_read == 0
    assert len(loaded(warehouse)) == 50

    # Replaying from TRIM_HORIZON inserts nothing.
    warehouse.query("DELETE FROM raw.load_checkpoints")
    replay = Loader(KinesisSource(kinesis_local.client(), events, dead), warehouse).load_once()
    assert replay.records_read == 51 and replay.rows_inserted == 0
    assert replay.duplicates_skipped == 51
    assert len(loaded(warehouse)) == 50


class FailOnce(DuckDBWarehouse):
    failures = 1

    def append_batches(self, *args: Any, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("simulated crash before commit")
        return super().append_batches(*args, **kwargs)


def test_a_failed_commit_rereads_from_the_checkpoint_not_from_the_kept_iterator(
    kinesis_local: KinesisLocal, streams: tuple[str, str], tmp_path: Path
) -> None:
    events, dead = streams
    put_events(kinesis_local, events, [f"a{i}" for i in range(20)])
    warehouse = FailOnce(tmp_path / "warehouse.duckdb")
    loader = Loader(KinesisSource(kinesis_local.client(), events, dead), warehouse)
    with pytest.raises(RuntimeError, match="simulated crash"):
        loader.load_once()  # the source has moved its iterators past the 20 records
    assert warehouse.checkpoints() == {}
    stats = loader.load_once()
    assert stats.streams[events].events_inserted == 20
    assert len(loaded(warehouse)) == 20
    warehouse.close()


class ExpiringClient:
    """The real client, but the first GetRecords says the iterator expired (they live 5 min)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exceptions = client.exceptions
        self.expired = 0

    def get_records(self, **kwargs: Any) -> Any:
        if not self.expired:
            self.expired += 1
            raise self._client.exceptions.ExpiredIteratorException(
                {"Error": {"Code": "ExpiredIteratorException", "Message": "expired"}}, "GetRecords"
            )
        return self._client.get_records(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_an_expired_iterator_is_taken_again_from_the_checkpoint(
    kinesis_local: KinesisLocal, streams: tuple[str, str], warehouse: Warehouse
) -> None:
    events, _ = streams
    put_events(kinesis_local, events, [f"a{i}" for i in range(10)])
    client = ExpiringClient(kinesis_local.client())
    stats = Loader(KinesisSource(client, events), warehouse).load_once()
    assert client.expired == 1
    assert stats.streams[events].events_inserted == 10


def wait_active(kinesis_local: KinesisLocal, stream: str) -> None:
    client = kinesis_local.client()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        summary = client.describe_stream_summary(StreamName=stream)
        if summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.05)
    raise AssertionError(f"{stream} not ACTIVE after resharding")


def test_after_a_reshard_children_are_read_after_their_parents(
    kinesis_local: KinesisLocal, streams: tuple[str, str], warehouse: Warehouse
) -> None:
    events, _ = streams
    before = [f"a{i}" for i in range(30)]
    put_events(kinesis_local, events, before[:10])
    loader = Loader(KinesisSource(kinesis_local.client(), events), warehouse, batch_records=1000)
    assert loader.load_once().rows_inserted == 10  # parents partly read, checkpoints stored
    put_events(kinesis_local, events, before[10:])
    kinesis_local.client().update_shard_count(
        StreamName=events, TargetShardCount=4, ScalingType="UNIFORM_SCALING"
    )
    wait_active(kinesis_local, events)
    after = [f"b{i}" for i in range(30)]
    put_events(kinesis_local, events, after)
    shards = kinesis_local.client().list_shards(StreamName=events)["Shards"]
    assert len(shards) == 6 and sum(1 for s in shards if s.get("ParentShardId")) == 4

    first = loader.load_once()
    # The parents' remaining records, none of the children's: their parents were not done.
    assert first.streams[events].events_inserted == 20
    assert not first.caught_up
    assert {r[3] for r in loaded(warehouse)} == set(before)

    # A new source instance (a restart) too finds the parents done and reads the children.
    restarted = Loader(KinesisSource(kinesis_local.client(), events), warehouse)
    loads = restarted.load_until_caught_up()
    assert sum(s.rows_inserted for s in loads) == 30
    rows = loaded(warehouse)
    assert sorted(r[3] for r in rows) == sorted(before + after)
    children = {s["ShardId"] for s in shards if s.get("ParentShardId")}
    assert {r[0] for r in rows if r[3].startswith("b")} <= children
    # Per key, every pre-reshard record is in a parent and every later one in a child.
    shards_of: dict[str, set[str]] = defaultdict(set)
    for shard, _, key, event_id in rows:
        shards_of[event_id[0] + key].add(shard)
    assert all(len(v) == 1 for v in shards_of.values())
    assert len(loaded(warehouse)) == 60


def test_a_source_from_the_gateway_settings_reads_both_streams(
    kinesis_local: KinesisLocal,
    streams: tuple[str, str],
    warehouse: Warehouse,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events, dead = streams
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    put_events(kinesis_local, events, ["e1", "e2"])
    KinesisSink(dead, client=kinesis_local.client()).put([Record("k1", dead_letter_body())])
    options = KinesisOptions(
        stream=events, region="us-east-1", endpoint_url=kinesis_local.endpoint,
        dead_letter_stream=dead,
    )  # fmt: skip
    stats = Loader(KinesisSource.from_options(options), warehouse).load_once()
    assert stats.streams[events].events_inserted == 2
    assert stats.streams[dead].dead_letters_inserted == 1


def test_aggregated_records_load_one_row_each_and_resume_inside_an_aggregate(
    kinesis_local: KinesisLocal, warehouse: Warehouse
) -> None:
    """The sink packs one user's batch into a KPL aggregate; the loader unpacks it into one
    row per event at positions <SequenceNumber>:<index>, and a checkpoint that points inside an
    aggregate (a load cut short there) resumes with the aggregate's next record."""
    stream = kinesis_local.create_stream(1)
    ids = [f"agg{i}" for i in range(100)]
    put_events(kinesis_local, stream, ids, users=1)
    put_events(kinesis_local, stream, ["after0", "after1"], users=2)
    raw = kinesis_local.read_raw(stream)
    assert len(raw) == 3  # one aggregate of 100, then two plain records

    source = KinesisSource(kinesis_local.client(), stream)
    (read,) = source.read({}, max_records=1_000)
    positions = [record.position for record in read.records]
    assert len(positions) == 102
    sequence = positions[0].partition(":")[0]
    assert positions[:100] == [f"{sequence}:{i:06d}" for i in range(100)]
    assert ":" not in positions[100] and ":" not in positions[101]

    fresh = KinesisSource(kinesis_local.client(), stream)
    (resumed,) = fresh.read({(stream, read.shard_id): f"{sequence}:000041"}, max_records=1_000)
    assert [r.position for r in resumed.records] == positions[42:]

    stats = Loader(KinesisSource(kinesis_local.client(), stream), warehouse).load_once()
    assert stats.streams[stream].events_inserted == 102
    assert sorted(r[3] for r in loaded(warehouse)) == sorted([*ids, "after0", "after1"])


def test_a_damaged_aggregate_is_loaded_whole_as_one_unparsable_record() -> None:
    """As the KCL does, a record with the KPL magic that fails its checks is one record: it
    reaches raw.dead_letters as loader_unparsable, kept whole, never dropped."""
    from pipeline.loader.records import UNPARSABLE, parse_event_record
    from pipeline.loader.rows import DeadLetterRow
    from pipeline.loader.sources import _expand
    from pipeline.streams.aggregation import aggregate

    good = aggregate([Record("k", event_body(page_view("d1"))), Record("k", b"{}")])[0].data
    damaged = good[:-1] + bytes([good[-1] ^ 1])
    (record,) = _expand(
        "s", "shardId-0", {"SequenceNumber": "42", "PartitionKey": "k", "Data": damaged}, None
    )
    assert (record.position, record.data) == ("42", damaged)
    row = parse_event_record(record)
    assert isinstance(row, DeadLetterRow) and row.reason == UNPARSABLE
    assert row.payload_base64 is not None
    assert base64.b64decode(row.payload_base64) == damaged
