"""The loader into Snowflake, emulated by a fakesnow server (Snowflake SQL over the real
snowflake-connector-python): the raw layer with VARIANT columns, a full load from a local
stream, an idempotent reload, a rolled-back failure, and prune_raw.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.loader.loader import Loader
from pipeline.loader.records import UNPARSABLE
from pipeline.loader.sources import LocalSource, local_position
from pipeline.loader.warehouse import (
    SnowflakeTarget,
    SnowflakeWarehouse,
    Warehouse,
    open_warehouse,
)
from pipeline.streams import LocalStream, Record
from tests.pipeline.conftest import dead_letter_body, event_body, loader_snowflake_url, page_view


def fill(data: Path) -> None:
    with LocalStream(data / "streams" / "events") as stream:
        stream.put(
            [
                Record(f"user-{i % 3}", event_body(page_view(f"e{i}", dedup_key=f"dk-{i}")))
                for i in range(25)
            ]
            + [Record("bad", b"not json")]
        )
    with LocalStream(data / "streams" / "dead_letters") as stream:
        stream.put(
            [
                Record("k1", dead_letter_body()),
                Record("k2", dead_letter_body("malformed_json", payload=None)),
            ]
        )


@pytest.fixture
def snowflake(loader_fakesnow: dict[str, Any]) -> Any:
    with open_warehouse(loader_snowflake_url(loader_fakesnow)) as warehouse:
        assert isinstance(warehouse, SnowflakeWarehouse)
        yield warehouse


def count(warehouse: Warehouse, table: str) -> int:
    return int(warehouse.query(f"SELECT count(*) FROM {table}")[0][0])


def test_full_load_and_idempotent_reload(tmp_path: Path, snowflake: Warehouse) -> None:
    fill(tmp_path)
    snowflake.ensure_raw()
    snowflake.ensure_raw()  # idempotent
    stats = Loader(LocalSource(tmp_path), snowflake, batch_records=10).load_until_caught_up()
    assert sum(s.streams["events"].events_inserted for s in stats) == 25
    assert count(snowflake, "raw.events") == 25
    assert count(snowflake, "raw.dead_letters") == 3

    row = snowflake.query(
        "SELECT position, event_id, dedup_key, occurred_at, payload:event_id::string, "
        "payload:page.url::string, gateway:origin::string FROM raw.events "
        "WHERE event_id = 'e7'"
    )[0]
    assert row[0] == local_position(7) and row[1:3] == ("e7", "dk-7")
    assert row[3] == datetime(2026, 3, 14, 9, 26, 53, 589000)
    assert row[4] == "e7" and row[5].startswith("https://") and row[6] == "sdk"
    dead = snowflake.query(
        "SELECT stream, reason, producer_name, event_id, payload:schema::string, message "
        "FROM raw.dead_letters ORDER BY stream, position"
    )
    assert dead[0][:5] == (
        "dead_letters",
        "schema_violation",
        "web-platform",
        "dl-1",
        "page_view/2.0.0",
    )
    assert dead[1][1] == "malformed_json" and dead[1][4] is None
    assert dead[2][:2] == ("events", UNPARSABLE) and "events/local/" in dead[2][5]
    assert snowflake.checkpoints() == {
        ("events", "local"): local_position(25),
        ("dead_letters", "local"): local_position(1),
    }

    snowflake.query("DELETE FROM raw.load_checkpoints")
    again = Loader(LocalSource(tmp_path), snowflake, batch_records=100).load_once()
    assert again.records_read == 28 and again.rows_inserted == 0
    assert again.duplicates_skipped == 28
    assert count(snowflake, "raw.events") == 25
    assert count(snowflake, "raw.dead_letters") == 3


class FailingSnowflake(SnowflakeWarehouse):
    def _insert(self, table: str, *args: Any, **kwargs: Any) -> int:
        if table == "raw.dead_letters":
            raise RuntimeError("simulated crash between insert and commit")
        return super()._insert(table, *args, **kwargs)


def test_a_failure_inside_the_transaction_rolls_everything_back(
    tmp_path: Path, loader_fakesnow: dict[str, Any]
) -> None:
    fill(tmp_path)
    url = loader_snowflake_url(loader_fakesnow)
    plain = open_warehouse(url)
    assert isinstance(plain, SnowflakeWarehouse)
    failing = FailingSnowflake(plain.target)
    with pytest.raises(RuntimeError, match="simulated crash"):
        Loader(LocalSource(tmp_path), failing).load_once()
    failing.close()
    assert count(plain, "raw.events") == 0
    assert plain.checkpoints() == {}
    assert Loader(LocalSource(tmp_path), plain).load_once().rows_inserted == 28
    plain.close()


def test_prune_raw_on_snowflake(tmp_path: Path, snowflake: Warehouse) -> None:
    fill(tmp_path)
    Loader(LocalSource(tmp_path), snowflake).load_once()
    kept = snowflake.prune_raw(now=datetime(2026, 9, 10))  # received 2026-03-14: 180 days ago
    assert (kept.events_deleted, kept.dead_letters_deleted) == (0, 0)
    pruned = snowflake.prune_raw(now=datetime(2026, 9, 11))
    # 25 events; the unparsable record got the loader's clock (no received_at in it): kept.
    assert (pruned.events_deleted, pruned.dead_letters_deleted) == (25, 2)
    assert count(snowflake, "raw.events") == 0
    assert snowflake.checkpoints()[("events", "local")] == local_position(25)


def test_explicit_connection_kwargs_work_too(  # with fakesnow's own session_parameters
    tmp_path: Path, loader_fakesnow: dict[str, Any]
) -> None:
    fill(tmp_path)
    target = SnowflakeTarget("loader_kwargs", loader_fakesnow, create_database=True)
    with open_warehouse(target) as warehouse:
        assert Loader(LocalSource(tmp_path), warehouse).load_once().rows_inserted == 28
        assert count(warehouse, "raw.events") == 25
