"""The loader on the local stream into DuckDB: real gateway, real LocalStream, real DuckDB file.

Each test checks what is in the tables afterwards (rows, fields, checkpoints), not only what
the loader reports, so a loader that counts right but writes wrong fails.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson
import pytest

from pipeline.loader.loader import Loader
from pipeline.loader.records import UNPARSABLE
from pipeline.loader.rows import EventRow, ShardBatch
from pipeline.loader.sources import LocalSource, ShardLag, local_position
from pipeline.loader.warehouse import (
    DuckDBWarehouse,
    Warehouse,
    WarehouseError,
    open_warehouse,
)
from pipeline.streams import LocalStream, Record
from tests.gateway.conftest import Service, example
from tests.pipeline.conftest import dead_letter_body, event_body, page_view


def post(service: Service, body: bytes, content_type: str = "application/json") -> httpx.Response:
    headers = {"Content-Type": content_type, **service.auth()}
    return httpx.post(f"{service.url}/v1/events", content=body, headers=headers, timeout=10)


def fill_through_gateway(service: Service) -> dict[str, Any]:
    """Accepted events (current and legacy versions), rejected events and a refused request."""
    accepted = []
    for index in range(12):
        event = example("page_view", "2.0.0")
        event["event_id"] = str(uuid.uuid4())
        event["user"] = {"anonymous_id": f"anon-{index % 3}"}
        accepted.append(event)
    legacy = example("page_view", "1.0.0")
    legacy["event_id"] = str(uuid.uuid4())
    signup = example("signup", "1.0.0")
    signup["event_id"] = str(uuid.uuid4())
    accepted += [legacy, signup]
    rejected = example("page_view", "2.0.0")
    rejected["event_id"] = str(uuid.uuid4())
    rejected["page"]["url"] = "not a url"
    body = orjson.dumps({"sent_at": "2026-03-14T09:26:53.802Z", "events": [*accepted, rejected]})
    response = post(service, body)
    assert response.status_code == 200, response.text
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["accepted"] * len(accepted) + ["rejected"], response.text
    refused = post(service, b"{not json")
    assert refused.status_code == 400, refused.text
    return {"accepted": accepted, "rejected": rejected, "refused_body": b"{not json"}


def count(warehouse: Warehouse, table: str) -> int:
    return int(warehouse.query(f"SELECT count(*) FROM {table}")[0][0])


def put(directory: Path, bodies: Sequence[bytes], key: str = "key-1") -> None:
    with LocalStream(directory) as stream:
        stream.put([Record(key, body) for body in bodies])


@pytest.fixture
def warehouse(tmp_path: Path) -> Any:
    with open_warehouse(tmp_path / "wh" / "warehouse.duckdb") as opened:
        yield opened


def test_gateway_records_land_in_raw_tables_with_their_fields(
    loader_gateway: Service, warehouse: Warehouse
) -> None:
    sent = fill_through_gateway(loader_gateway)
    stream_events = loader_gateway.events()
    loader = Loader(LocalSource(loader_gateway.data_dir), warehouse)

    stats = loader.load_once()

    accepted = sent["accepted"]
    assert stats.streams["events"].records_read == len(accepted)
    assert stats.streams["events"].events_inserted == len(accepted)
    assert stats.streams["dead_letters"].dead_letters_inserted == 2
    assert stats.caught_up and stats.duplicates_skipped == 0
    rows = warehouse.query(
        "SELECT stream, shard_id, position, partition_key, event_id, event_name, schema_ref, "
        "source, occurred_at, received_at, payload, gateway, loaded_at FROM raw.events "
        "ORDER BY position"
    )
    assert [r[4] for r in rows] == [e["event_id"] for e in accepted]
    for offset, (row, record) in enumerate(zip(rows, stream_events, strict=True)):
        event = record["event"]
        assert row[:3] == ("events", "local", local_position(offset))
        assert row[3] == (event["user"].get("user_id") or event["user"].get("anonymous_id"))
        assert row[5:8] == (event["event_name"], event["schema"], event["source"])
        occurred = datetime.fromisoformat(event["occurred_at"]).replace(tzinfo=None)
        assert row[8] == occurred
        assert row[9] == datetime.fromisoformat(record["received_at"]).replace(tzinfo=None)
        assert json.loads(row[10]) == event  # the newest version, as on the stream
        assert json.loads(row[11]) == record["gateway"]
        assert row[12] >= row[9]
    # The legacy page_view was upcast by the gateway; the raw row holds the upcast event.
    legacy = next(r for r in rows if r[4] == accepted[-2]["event_id"])
    assert legacy[6] == "page_view/2.0.0"
    assert json.loads(legacy[11])["upcast_from"] == "page_view/1.0.0"

    dead = warehouse.query(
        "SELECT position, reason, message, origin, producer_key_id, producer_source, "
        "producer_name, event_id, payload, payload_base64, payload_bytes, payload_truncated "
        "FROM raw.dead_letters ORDER BY position"
    )
    violation, malformed = dead
    assert violation[1] == "schema_violation" and "/page/url" in violation[2]
    assert violation[3:7] == ("sdk", loader_gateway.key_id, "web", "web-platform")
    assert violation[7] == sent["rejected"]["event_id"]
    assert json.loads(violation[8]) == sent["rejected"]
    assert malformed[1] == "malformed_json" and malformed[8] is None
    assert base64.b64decode(malformed[9]) == sent["refused_body"]
    assert malformed[10:] == (len(sent["refused_body"]), False)
    assert warehouse.checkpoints() == {
        ("events", "local"): local_position(len(accepted) - 1),
        ("dead_letters", "local"): local_position(1),
    }


def test_reloading_the_same_records_inserts_nothing(
    loader_gateway: Service, warehouse: Warehouse
) -> None:
    fill_through_gateway(loader_gateway)
    loader = Loader(LocalSource(loader_gateway.data_dir), warehouse)
    first = loader.load_once()
    before = (count(warehouse, "raw.events"), count(warehouse, "raw.dead_letters"))
    assert loader.load_once().records_read == 0  # nothing new after the checkpoint

    warehouse.query("DELETE FROM raw.load_checkpoints")  # replay the whole stream
    again = Loader(LocalSource(loader_gateway.data_dir), warehouse).load_once()

    assert again.records_read == first.records_read > 0
    assert again.rows_inserted == 0
    assert again.duplicates_skipped == first.records_read
    assert (count(warehouse, "raw.events"), count(warehouse, "raw.dead_letters")) == before
    assert again.checkpoints == first.checkpoints


class CrashingWarehouse(DuckDBWarehouse):
    """Fails inside the append transaction, after the events rows were inserted."""

    def _insert(self, path: Path, table: str, *args: Any, **kwargs: Any) -> int:
        if table == "raw.dead_letters":
            raise RuntimeError("simulated crash between insert and commit")
        return super()._insert(path, table, *args, **kwargs)


def test_a_crash_before_the_commit_leaves_no_rows_and_no_checkpoint(tmp_path: Path) -> None:
    data = tmp_path / "data"
    put(data / "streams" / "events", [event_body(page_view(f"e{i}")) for i in range(5)])
    put(data / "streams" / "dead_letters", [dead_letter_body()])
    path = tmp_path / "warehouse.duckdb"
    crashing = CrashingWarehouse(path)
    with pytest.raises(RuntimeError, match="simulated crash"):
        Loader(LocalSource(data), crashing).load_once()
    crashing.close()

    with open_warehouse(path) as warehouse:
        assert count(warehouse, "raw.events") == 0  # inserted, then rolled back
        assert count(warehouse, "raw.dead_letters") == 0
        assert warehouse.checkpoints() == {}
        stats = Loader(LocalSource(data), warehouse).load_once()
        assert stats.rows_inserted == 6
        assert count(warehouse, "raw.events") == 5


def test_unparsable_records_become_dead_letters_and_the_load_goes_on(
    tmp_path: Path, warehouse: Warehouse
) -> None:
    data = tmp_path / "data"
    no_event_id = page_view("x")
    del no_event_id["event_id"]
    bad_bodies = [
        b"\xff not json",
        b"[1, 2]",
        orjson.dumps({"received_at": "2026-03-14T09:26:53.901Z", "gateway": {"origin": "crm"}}),
        event_body(no_event_id),
        event_body(page_view("bad-time", occurred_at="yesterday")),
        event_body(page_view("ok-2")),
    ]
    put(data / "streams" / "events", [event_body(page_view("ok-1")), *bad_bodies])
    put(
        data / "streams" / "dead_letters",
        [b"garbage", orjson.dumps({"message": "no reason"}), dead_letter_body()],
    )

    stats = Loader(LocalSource(data), warehouse, batch_records=100).load_once()

    assert stats.streams["events"].unparsable == 5
    assert stats.streams["dead_letters"].unparsable == 2
    assert [r[0] for r in warehouse.query("SELECT event_id FROM raw.events ORDER BY 1")] == [
        "ok-1",
        "ok-2",
    ]
    rows = warehouse.query(
        "SELECT stream, position, reason, message, origin, event_id, payload, payload_base64, "
        "payload_bytes FROM raw.dead_letters ORDER BY stream, position"
    )
    by_position = {(r[0], r[1]): r for r in rows}
    expect = {
        ("events", 1): "not JSON",
        ("events", 2): "the record is an array, expected an object",
        ("events", 3): "event is missing or null, expected an object",
        ("events", 4): "event.event_id is missing or null, expected a non-empty string",
        ("events", 5): "event.occurred_at 'yesterday' is not an ISO-8601 timestamp",
        ("dead_letters", 0): "not JSON",
        ("dead_letters", 1): "reason is missing or null, expected a non-empty string",
    }
    for (stream, offset), problem in expect.items():
        row = by_position[(stream, local_position(offset))]
        assert row[2] == UNPARSABLE
        assert row[3].startswith(f"{stream}/local/{local_position(offset)}: {problem}"), row[3]
    # Nothing lost: the whole record is kept, as JSON when it was JSON, else as base64.
    assert base64.b64decode(by_position[("events", local_position(1))][7]) == bad_bodies[0]
    assert json.loads(by_position[("events", local_position(2))][6]) == [1, 2]
    crm = by_position[("events", local_position(3))]
    assert crm[4] == "crm" and crm[8] == len(bad_bodies[2])
    assert by_position[("events", local_position(5))][5] == "bad-time"
    assert by_position[("dead_letters", local_position(2))][2] == "schema_violation"


def test_small_batches_and_an_offset_gap(tmp_path: Path, warehouse: Warehouse) -> None:
    directory = tmp_path / "data" / "streams" / "events"
    put(directory, [event_body(page_view(f"a{i}")) for i in range(7)])
    (directory / "CLEAN").unlink()  # as after a crash: the next writer leaves an offset gap
    put(directory, [event_body(page_view(f"b{i}")) for i in range(3)])
    source = LocalSource(tmp_path / "data")
    loader = Loader(source, warehouse, batch_records=3)

    first = loader.load_once()
    assert first.streams["events"].records_read == 3 and not first.caught_up
    assert loader.lag()[("events", "local")].records == 7 - 3 + (1 << 20) + 3  # offsets
    loads = loader.load_until_caught_up()

    assert sum(s.streams["events"].events_inserted for s in loads) == 7
    assert count(warehouse, "raw.events") == 10
    positions = [r[0] for r in warehouse.query("SELECT position FROM raw.events ORDER BY 1")]
    assert positions[7] == local_position(7 + (1 << 20))
    assert loader.lag()[("events", "local")].records == 0
    assert warehouse.checkpoints()[("events", "local")] == positions[-1]


def test_a_factory_opens_the_duckdb_file_only_during_a_load(tmp_path: Path) -> None:
    data = tmp_path / "data"
    put(data / "streams" / "events", [event_body(page_view("e1"))])
    path = tmp_path / "nested" / "dir" / "warehouse.duckdb"
    loader = Loader(LocalSource(data), lambda: open_warehouse(path))
    assert loader.load_once().rows_inserted == 1
    # Between loads another process (dbt) may write: the file is not held.
    other = duckdb.connect(str(path))
    assert other.execute("SELECT count(*) FROM raw.events").fetchone() == (1,)
    other.close()
    assert loader.lag() == {
        ("events", "local"): ShardLag(0),
        ("dead_letters", "local"): ShardLag(0),
    }


def test_prune_raw_deletes_by_received_at(warehouse: Warehouse) -> None:
    warehouse.ensure_raw()
    rows = [
        EventRow(
            "events",
            "local",
            local_position(i),
            "k",
            f"e{i}",
            "page_view",
            "page_view/2.0.0",
            None,
            "web",
            datetime(2026, 1, 1),
            datetime(2026, 1, 1 + i),
            "{}",
            "{}",
        )
        for i in range(5)
    ]
    warehouse.append_batches([ShardBatch("events", "local", rows, (), local_position(4))])
    result = warehouse.prune_raw(older_than_days=180, now=datetime(2026, 6, 30, 12))
    # 180 days before 2026-06-30 12:00 is 2026-01-01 12:00: only the row received on
    # 2026-01-01 00:00 is older.
    assert result.cutoff == datetime(2026, 1, 1, 12)
    assert (result.events_deleted, result.dead_letters_deleted) == (1, 0)
    assert count(warehouse, "raw.events") == 4
    assert warehouse.checkpoints() == {("events", "local"): local_position(4)}
    with pytest.raises(WarehouseError, match="older_than_days"):
        warehouse.prune_raw(older_than_days=-1)


def test_ensure_raw_is_idempotent_and_the_layout_is_the_spec(warehouse: Warehouse) -> None:
    warehouse.ensure_raw()
    warehouse.ensure_raw()
    columns = warehouse.query(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'raw' ORDER BY table_name, ordinal_position"
    )
    layout: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in columns:
        layout.setdefault(table, []).append((column, kind))
    assert layout["events"] == [
        ("stream", "VARCHAR"), ("shard_id", "VARCHAR"), ("position", "VARCHAR"),
        ("partition_key", "VARCHAR"), ("event_id", "VARCHAR"), ("event_name", "VARCHAR"),
        ("schema_ref", "VARCHAR"), ("dedup_key", "VARCHAR"), ("source", "VARCHAR"),
        ("occurred_at", "TIMESTAMP"), ("received_at", "TIMESTAMP"), ("payload", "JSON"),
        ("gateway", "JSON"), ("loaded_at", "TIMESTAMP"),
    ]  # fmt: skip
    assert [c for c, _ in layout["dead_letters"]] == [
        "stream", "shard_id", "position", "reason", "message", "origin", "producer_key_id",
        "producer_source", "producer_name", "event_id", "received_at", "payload",
        "payload_base64", "payload_bytes", "payload_truncated", "loaded_at",
    ]  # fmt: skip
    assert layout["load_checkpoints"] == [
        ("stream", "VARCHAR"), ("shard_id", "VARCHAR"), ("position", "VARCHAR"),
        ("updated_at", "TIMESTAMP"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("postgres://x/y", "expected a DuckDB file path or a snowflake:// URL"),
        ("snowflake://account", "expected snowflake://user:password@account/database"),
        ("snowflake://u:p@acct/db?colour=blue", "unknown parameter 'colour'"),
    ],
)
def test_bad_warehouse_targets_say_what_is_wrong(target: str, message: str) -> None:
    with pytest.raises(WarehouseError, match=message):
        open_warehouse(target)
