"""Retention with real parts: records written to real local streams with controlled
received_at / occurred_at, loaded by the real loader into a DuckDB file, the real dbt project
built on it; Snowflake SQL against fakesnow; the runner and `refract pipeline prune|status` as
operators run them. For every table: a row just older than its cutoff goes, one just newer
stays."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.dbt import build_models
from pipeline.loader.loader import Loader
from pipeline.loader.sources import LocalSource
from pipeline.loader.warehouse import SnowflakeWarehouse, Warehouse, open_warehouse
from pipeline.retention import RetentionError, apply_retention
from pipeline.runner import PipelineConfigError, PipelineRunner
from pipeline.status import read_status, status_path
from pipeline.streams import LocalStream, Record
from tests.pipeline.conftest import dead_letter_body, event_body, loader_snowflake_url, page_view

NOW = datetime(2026, 11, 1, 12, 0, 0)
RAW_CUT = NOW - timedelta(days=180)
CURATED_CUT = NOW - timedelta(days=1095)
SECOND = timedelta(seconds=1)

# event_id: (occurred_at, received_at)
EVENTS: dict[str, tuple[datetime, datetime]] = {
    # occurred just before the curated cutoff: gone from curated (and raw: received long ago)
    "curated-old": (CURATED_CUT - SECOND, CURATED_CUT),
    # occurred just after it: stays in curated (raw row gone: received > 180 days ago)
    "curated-new": (CURATED_CUT + SECOND, CURATED_CUT + 2 * SECOND),
    # received just before the raw cutoff: raw row gone, curated row stays
    "raw-old": (RAW_CUT - 10 * SECOND, RAW_CUT - SECOND),
    # received just after it: raw row stays
    "raw-new": (RAW_CUT - 10 * SECOND, RAW_CUT + SECOND),
}
CURATED = ("conformed.referral_events", "conformed.session_events")


def z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def fill(data_dir: Path, events: dict[str, tuple[datetime, datetime]] = EVENTS) -> None:
    """Write the events (and two dead letters either side of the raw cutoff) to local streams."""
    records = []
    for event_id, (occurred, received) in events.items():
        event = page_view(event_id, dedup_key=f"dk-{event_id}", occurred_at=z(occurred))
        event["sent_at"] = z(occurred)
        records.append(Record(event_id, event_body(event, received_at=z(received))))
    with LocalStream(data_dir / "streams" / "events") as stream:
        stream.put(records)
    with LocalStream(data_dir / "streams" / "dead_letters") as stream:
        stream.put(
            [
                Record("dl-old", dead_letter_body(received_at=z(RAW_CUT - SECOND))),
                Record("dl-new", dead_letter_body(received_at=z(RAW_CUT + SECOND))),
            ]
        )


def load(data_dir: Path, warehouse: Path | str) -> None:
    with open_warehouse(warehouse) as opened:
        opened.ensure_raw()
        Loader(LocalSource(data_dir), opened).load_until_caught_up()


def ids(path: Path, table: str) -> set[str]:
    """The test event ids in a table (by dedup key `dk-<event id>`, which every table has)."""
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(f"select dedup_key from {table}").fetchall()
    return {str(r[0]).removeprefix("dk-") for r in rows}


@pytest.fixture
def loaded(tmp_path: Path) -> tuple[Path, Path]:
    data_dir = tmp_path / "data"
    fill(data_dir)
    warehouse = data_dir / "warehouse.duckdb"
    load(data_dir, warehouse)
    return data_dir, warehouse


def test_rows_either_side_of_each_cutoff_on_duckdb_with_a_real_build(
    loaded: tuple[Path, Path],
) -> None:
    _, path = loaded
    built = build_models(path)
    assert built.success, built.failures
    everything = set(EVENTS)
    for table in CURATED:
        assert ids(path, table) == everything, table

    with open_warehouse(path) as warehouse:
        result = apply_retention(warehouse, now=NOW)
    assert result.raw.cutoff == RAW_CUT and result.curated.cutoff == CURATED_CUT
    assert result.curated.skipped == ()
    assert result.deleted == {
        "raw.events": 3,
        "raw.dead_letters": 1,
        "conformed.referral_events": 1,
        "conformed.session_events": 1,
    }
    assert ids(path, "raw.events") == {"raw-new"}
    for table in CURATED:
        assert ids(path, table) == everything - {"curated-old"}, table
    with duckdb.connect(str(path), read_only=True) as con:
        (dead,) = con.execute("select count(*) from raw.dead_letters").fetchone() or (None,)
        (checkpoints,) = con.execute("select count(*) from raw.load_checkpoints").fetchone() or (
            None,
        )
    assert dead == 1 and checkpoints == 2  # checkpoints are never pruned

    # the next (incremental) build neither brings the pruned row back nor keeps it downstream:
    # sessions and the marts are rebuilt from what the incremental tables still hold
    again = build_models(path)
    assert again.success, again.failures
    for table in CURATED:
        assert ids(path, table) == everything - {"curated-old"}, table
    with duckdb.connect(str(path), read_only=True) as con:
        (oldest,) = con.execute("select min(started_at) from conformed.sessions").fetchone() or (
            None,
        )
    assert oldest is not None and oldest >= CURATED_CUT

    # applied again at the same moment: nothing left to delete
    with open_warehouse(path) as warehouse:
        assert set(apply_retention(warehouse, now=NOW).deleted.values()) == {0}


def test_nothing_curated_is_touched_before_the_first_build(
    loaded: tuple[Path, Path], tmp_path: Path
) -> None:
    _, path = loaded
    with open_warehouse(path) as warehouse:
        result = apply_retention(warehouse, now=NOW)
    assert result.curated.skipped == CURATED and result.curated.pruned == ()
    assert result.deleted == {"raw.events": 3, "raw.dead_letters": 1}
    # a warehouse nobody has written yet: the raw tables are created, nothing deleted
    with open_warehouse(tmp_path / "empty.duckdb") as empty:
        fresh = apply_retention(empty, now=NOW)
    assert fresh.deleted == {"raw.events": 0, "raw.dead_letters": 0}
    assert fresh.curated.skipped == CURATED


@pytest.mark.parametrize(
    ("raw_days", "curated_days", "message"),
    [
        (0, 1095, "retention raw_days 0: must be at least 1 day"),
        (180, -5, "retention curated_days -5: must be at least 1 day"),
        (180.5, 1095, "retention raw_days 180.5: expected a whole number of days"),
        (True, 1095, "retention raw_days True: expected a whole number of days"),
    ],
)
def test_bad_retention_arguments_are_one_line_errors(
    tmp_path: Path, raw_days: Any, curated_days: Any, message: str
) -> None:
    with open_warehouse(tmp_path / "w.duckdb") as warehouse, pytest.raises(RetentionError) as e:
        apply_retention(warehouse, raw_days, curated_days, now=NOW)
    caught = e
    assert str(caught.value) == message


def test_curated_may_be_shorter_than_raw(loaded: tuple[Path, Path]) -> None:
    _, path = loaded
    assert build_models(path).success
    with open_warehouse(path) as warehouse:
        result = apply_retention(warehouse, raw_days=180, curated_days=30, now=NOW)
    # everything occurred more than 30 days before NOW
    assert result.deleted["conformed.referral_events"] == len(EVENTS)
    assert result.deleted["raw.events"] == 3


# -- Snowflake SQL (fakesnow) ---------------------------------------------------------------------


def sf_count(warehouse: Warehouse, table: str) -> int:
    return int(warehouse.query(f"SELECT count(*) FROM {table}")[0][0])


def test_prune_curated_and_raw_on_snowflake(
    tmp_path: Path, loader_fakesnow: dict[str, Any]
) -> None:
    fill(tmp_path)
    with open_warehouse(loader_snowflake_url(loader_fakesnow)) as warehouse:
        assert isinstance(warehouse, SnowflakeWarehouse)
        warehouse.ensure_raw()
        Loader(LocalSource(tmp_path), warehouse).load_until_caught_up()
        # before any build: no conformed tables, nothing curated deleted
        first = warehouse.prune_curated(now=NOW)
        assert first.skipped == CURATED and first.deleted == {}

        # the two incremental tables as dbt-snowflake creates them (occurred_at TIMESTAMP_NTZ)
        warehouse.query("CREATE SCHEMA IF NOT EXISTS conformed")
        warehouse.query(
            "CREATE TABLE conformed.referral_events "
            "(dedup_key VARCHAR, event_id VARCHAR, occurred_at TIMESTAMP_NTZ)"
        )
        rows = ", ".join(
            f"('dk-{event_id}', '{event_id}', TO_TIMESTAMP_NTZ('{occurred.isoformat(sep=' ')}'))"
            for event_id, (occurred, _) in EVENTS.items()
        )
        warehouse.query(f"INSERT INTO conformed.referral_events VALUES {rows}")
        # only one of the two exists yet: that one is pruned, the other named as skipped
        partial = warehouse.prune_curated(now=NOW)
        assert partial.deleted == {"conformed.referral_events": 1}
        assert partial.skipped == ("conformed.session_events",)

        warehouse.query(
            "CREATE TABLE conformed.session_events AS SELECT * FROM conformed.referral_events"
        )
        warehouse.query(
            "INSERT INTO conformed.session_events VALUES "
            f"('dk-x', 'x-old', TO_TIMESTAMP_NTZ('{(CURATED_CUT - SECOND).isoformat(sep=' ')}'))"
        )
        result = apply_retention(warehouse, now=NOW)
        assert result.deleted == {
            "raw.events": 3,
            "raw.dead_letters": 1,
            "conformed.referral_events": 0,
            "conformed.session_events": 1,
        }
        assert result.curated.skipped == ()
        remaining = {r[0] for r in warehouse.query("SELECT event_id FROM conformed.session_events")}
        assert remaining == set(EVENTS) - {"curated-old"}
        assert [r[0] for r in warehouse.query("SELECT event_id FROM raw.events")] == ["raw-new"]
        assert sf_count(warehouse, "raw.dead_letters") == 1


# -- the runner and the commands -----------------------------------------------------------------


def test_the_runner_applies_retention_at_start_and_records_it(
    loaded: tuple[Path, Path],
) -> None:
    data_dir, path = loaded
    # a previous run loaded rows received long ago; this runner prunes them at start, before
    # its first load (the cutoffs are relative to the real clock: every test row was received
    # more than 180 days ago; the curated history is kept 10000 days)
    runner = PipelineRunner(
        data_dir, load_interval=0.2, build_interval=0.5, curated_retention_days=10_000
    )
    runner.start()
    try:
        assert runner.wait_for(lambda s: s.retentions >= 1 and s.last_build is not None, 180), (
            runner.status_document()
        )
    finally:
        runner.stop()
    document = read_status(status_path(data_dir))
    assert document is not None
    retention = document["retention"]
    assert retention["raw_days"] == 180 and retention["curated_days"] == 10_000
    assert retention["interval_s"] == 24 * 3600 and retention["failures"] == 0
    assert retention["applied"] == 1 and retention["last"]["error"] is None
    assert retention["last"]["deleted"] == {"raw.events": 4, "raw.dead_letters": 2}
    assert retention["last"]["skipped"] == list(CURATED)  # no build had run yet
    assert not ids(path, "raw.events")
    # the first build came after it: built from an empty raw layer
    assert ids(path, "conformed.referral_events") == set()

    status = refract("pipeline", "status", "--data-dir", str(data_dir))
    line = next(x for x in status.stdout.splitlines() if x.startswith("retention"))
    assert "deleted raw.dead_letters 2, raw.events 4" in line, line
    assert "(raw 180 d, curated 10000 d, every 24 h)" in line, line

    # and again every --retention-interval, on the tables the build has created since
    again = PipelineRunner(data_dir, load_interval=0.2, retention_interval=0.3)
    again.start()
    try:
        assert again.wait_for(lambda s: s.retentions >= 3, 60), again.status_document()
    finally:
        again.stop()
    last = again.state.last_retention
    assert last is not None and last["skipped"] == []
    assert set(last["deleted"]) == {"raw.events", "raw.dead_letters", *CURATED}


def test_the_first_retention_deletes_and_says_how_much(loaded: tuple[Path, Path]) -> None:
    data_dir, _ = loaded
    runner = PipelineRunner(data_dir, curated_retention_days=10_000)
    assert runner.retention_step()
    last = runner.state.last_retention
    assert last is not None and last["error"] is None
    assert last["deleted"] == {"raw.events": 4, "raw.dead_letters": 2}
    assert last["skipped"] == list(CURATED)
    document = read_status(status_path(data_dir))
    assert document is not None and document["retention"]["last"] == last


def test_a_failing_retention_is_recorded(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    runner = PipelineRunner(tmp_path, warehouse=blocker / "w.duckdb")
    assert runner.retention_step() is False
    last = runner.state.last_retention
    assert last is not None and last["error"] and "\n" not in last["error"]
    assert runner.state.errors[-1]["step"] == "retention"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retention_interval": 0}, "retention interval 0 s: must be above 0"),
        ({"raw_retention_days": 0}, "retention raw_days 0: must be at least 1 day"),
        ({"curated_retention_days": -1}, "retention curated_days -1: must be at least 1 day"),
    ],
)
def test_bad_runner_retention_is_refused(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(PipelineConfigError) as caught:
        PipelineRunner(tmp_path, **options)
    assert str(caught.value) == message


def refract(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "refract", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )


def test_refract_pipeline_prune(loaded: tuple[Path, Path], tmp_path: Path) -> None:
    data_dir, path = loaded
    assert build_models(path).success
    data = str(data_dir)

    bad = refract("pipeline", "prune", "--data-dir", data, "--raw-days", "0")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "--raw-days" in bad.stderr, bad.stderr
    missing = refract("pipeline", "prune", "--warehouse", str(tmp_path / "nope.duckdb"))
    assert missing.returncode == 2 and "no DuckDB warehouse here" in missing.stderr
    assert missing.stderr.count("\n") == 1

    # a process holding the file (as a running runner does): said clearly, exit 2
    with duckdb.connect(str(path)):
        locked = refract("pipeline", "prune", "--data-dir", data)
    assert locked.returncode == 2, locked.stderr
    assert "locked by another process" in locked.stderr and "refract pipeline run" in locked.stderr
    assert locked.stderr.count("\n") == 1

    # the real clock: every test row was received > 180 days ago; curated kept (10000 days)
    done = refract(
        "pipeline", "prune", "--data-dir", data, "--curated-days", "10000", "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["deleted"] == {
        "raw.events": 4,
        "raw.dead_letters": 2,
        "conformed.referral_events": 0,
        "conformed.session_events": 0,
    }
    assert report["raw_days"] == 180 and report["curated_days"] == 10000
    assert report["skipped"] == [] and report["warehouse"] == str(path)

    text = refract("pipeline", "prune", "--warehouse", str(path), "--curated-days", "1")
    assert text.returncode == 0, text.stderr
    assert "deleted     conformed.referral_events    4" in text.stdout, text.stdout
    assert "raw older than 180 d" in text.stdout


def test_run_once_applies_retention_with_its_flags(loaded: tuple[Path, Path]) -> None:
    data_dir, path = loaded
    data = str(data_dir)
    bad = refract("pipeline", "run", "--once", "--data-dir", data, "--raw-retention-days", "0")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
    assert "--raw-retention-days" in bad.stderr
    assert len(ids(path, "raw.events")) == 4  # nothing happened

    done = refract(
        "pipeline", "run", "--once", "--data-dir", data, "--curated-retention-days", "10000"
    )
    assert done.returncode == 0, done.stderr
    assert "retention deleted raw.events 4, raw.dead_letters 2" in done.stdout, done.stdout
    document = read_status(status_path(data_dir))
    assert document is not None and document["retention"]["curated_days"] == 10000
