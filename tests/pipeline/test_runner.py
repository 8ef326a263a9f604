"""PipelineRunner with real parts: the gateway core writing real local streams, the real loader,
the real dbt project built on a DuckDB file. Nothing is mocked; a failing build is a real one
(a table changed under dbt's feet, which its on_schema_change='fail' contract refuses).

The two build tiers: fresh builds (referral_events only, lookback_days 0) between full builds
leave the warehouse exactly as a full refresh would build it, and the loop runs fresh builds on
their own interval while the full tier waits for its own."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.dbt import build_models
from pipeline.runner import PipelineConfigError, PipelineRunner, RunnerState
from pipeline.status import assess, local_lag, read_status, status_path
from pipeline.streams.local import StreamReader
from registry_service.model import Producer
from tests.gateway.conftest import Service, example
from tests.warehouse import events as ev
from tests.warehouse.conftest import BACKEND
from tests.warehouse.conftest import WEB as PROMPTFLOW_WEB
from tests.warehouse.traffic import traffic

WEB = Producer("key-web", "web", "web-platform")


def page_views(count: int) -> list[dict[str, Any]]:
    """Distinct valid page_view events (contract example with fresh ids)."""
    out = []
    for _ in range(count):
        event = example("page_view", "2.0.0")
        event["event_id"] = str(uuid.uuid4())
        event["page"]["view_id"] = str(uuid.uuid4())
        out.append(event)
    return out


def send(service: Service, events: list[dict[str, Any]]) -> None:
    outcomes = service.gateway.ingest(events, WEB, "sdk")
    assert all(o.status == "accepted" for o in outcomes), outcomes


def end(service: Service, stream: str = "events") -> int:
    return StreamReader(service.data_dir / "streams" / stream).end_offset()


def conformed_ids(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            r[0] for r in con.execute("select event_id from conformed.referral_events").fetchall()
        }


def caught_up(events_end: int) -> Any:
    def predicate(state: RunnerState) -> bool:
        position = state.checkpoints.get("events", {}).get("local")
        return (
            position is not None
            and int(position) + 1 >= events_end
            and state.built_seq >= state.load_seq
            and state.last_build is not None
            and bool(state.last_build["success"])
        )

    return predicate


def test_events_on_the_stream_end_up_in_conformed_and_status_says_so(
    loader_gateway: Service,
) -> None:
    data_dir = loader_gateway.data_dir
    first = page_views(5)
    send(loader_gateway, first)
    bad = loader_gateway.gateway.ingest([{"event_name": "nope"}], WEB, "sdk")
    assert bad[0].status != "accepted"  # one dead letter on the other stream
    runner = PipelineRunner(data_dir, load_interval=0.2, build_interval=0.5)
    runner.start()
    try:
        assert runner.wait_for(caught_up(end(loader_gateway)), 180), runner.status_document()
        # the loop goes on: later events are loaded and built without a restart
        second = page_views(3)
        send(loader_gateway, second)
        assert runner.wait_for(caught_up(end(loader_gateway)), 180), runner.status_document()
    finally:
        runner.stop()
    warehouse = data_dir / "warehouse.duckdb"
    ids = conformed_ids(warehouse)
    assert {e["event_id"] for e in first + second} <= ids

    document = read_status(status_path(data_dir))
    assert document is not None
    assert document["state"] == "stopped"
    assert document["stream"] == "local" and document["target"] == "duckdb"
    assert document["warehouse"] == str(warehouse.resolve())
    assert document["rows_total"] == {"events": 8, "dead_letters": 1}
    assert document["checkpoints"] == {
        "events": {"local": f"{end(loader_gateway) - 1:020d}"},
        "dead_letters": {"local": f"{end(loader_gateway, 'dead_letters') - 1:020d}"},
    }
    assert document["builds"] >= 2 and document["build_failures"] == 0
    assert document["last_build"]["success"] is True and document["last_build"]["failures"] == []
    assert document["last_successful_build"] == document["last_build"]
    assert document["last_load"]["error"] is None and document["errors"] == []
    assert document["unbuilt_since"] is None
    fresh, full = document["tiers"]["fresh"], document["tiers"]["full"]
    assert full["builds"] >= 1 and full["last_successful"]["tier"] == "full"
    assert fresh["builds"] + full["builds"] == document["builds"]
    assert document["build_interval_s"] == 0.5 and document["full_build_interval_s"] == 60
    newest = datetime.fromisoformat(document["max_received_at"]["web"].replace("Z", "+00:00"))
    assert 0 <= (datetime.now(UTC) - newest).total_seconds() < 300
    assert document["freshness"]["web"]["age_s"] >= 0
    # what `refract pipeline status` concludes from it: healthy, nothing behind
    lags = local_lag(data_dir, document["checkpoints"])
    assert [lag.records for lag in lags] == [0, 0]
    assert assess(document, lags, datetime.now(UTC)).healthy


def test_a_failing_build_is_reported_and_the_loop_keeps_loading(
    loader_gateway: Service,
) -> None:
    data_dir = loader_gateway.data_dir
    warehouse = data_dir / "warehouse.duckdb"
    send(loader_gateway, page_views(2))
    runner = PipelineRunner(data_dir, load_interval=0.2, build_interval=0.5)
    assert runner.load_step() and runner.build_step("full")
    # someone changes a conformed table: the incremental model refuses the schema change
    with duckdb.connect(str(warehouse)) as con:
        con.execute("alter table conformed.referral_events add column surprise integer")
    send(loader_gateway, page_views(2))
    assert runner.load_step()
    assert runner.build_step("fresh") is False  # the fresh tier fails as the full one would
    document = read_status(status_path(data_dir))
    assert document is not None
    assert document["last_build"]["success"] is False
    assert document["last_build"]["tier"] == "fresh"
    assert any("referral_events" in f for f in document["last_build"]["failures"])
    assert document["errors"][-1]["step"] == "fresh build"
    assert document["unbuilt_since"] is not None  # rows wait for a good build
    assert document["tiers"]["full"]["last"]["success"] is True
    verdict = assess(document, local_lag(data_dir, document["checkpoints"]), datetime.now(UTC))
    assert not verdict.healthy
    assert verdict.problems[0].startswith("last fresh build failed: model referral_events")

    # in the loop: builds keep failing (with backoff) while loads go on
    runner.start()
    try:
        send(loader_gateway, page_views(2))
        target = end(loader_gateway)
        assert runner.wait_for(
            lambda s: s.build_failures >= 2 and int(s.checkpoints["events"]["local"]) + 1 >= target,
            240,
        ), runner.status_document()
    finally:
        runner.stop()
    assert runner.state.builds == runner.state.build_failures + 1
    # repaired: the next runner (a restart) builds everything that waited
    with duckdb.connect(str(warehouse)) as con:
        con.execute("alter table conformed.referral_events drop column surprise")
    again = PipelineRunner(data_dir)
    assert again.run_once()
    assert len(conformed_ids(warehouse)) == 6
    document = read_status(status_path(data_dir))
    assert document is not None and document["last_build"]["success"] is True


def test_stop_is_prompt_between_steps(loader_gateway: Service) -> None:
    runner = PipelineRunner(loader_gateway.data_dir, load_interval=30, build_interval=60)
    runner.start()
    assert runner.wait_for(lambda s: s.last_build is not None, 180)
    started = time.monotonic()
    runner.stop()
    assert time.monotonic() - started < 2
    document = json.loads(status_path(loader_gateway.data_dir).read_text())
    assert document["state"] == "stopped"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"load_interval": 0}, "load interval 0 s: must be above 0"),
        ({"build_interval": -1}, "build interval -1 s: must be above 0"),
        ({"full_build_interval": 0}, "full build interval 0 s: must be above 0"),
        ({"target": "bigquery"}, "target 'bigquery': expected duckdb or snowflake"),
        ({"target": "snowflake"}, "--target snowflake needs --warehouse snowflake://"),
        ({"warehouse": "snowflake://u:p@acct/db"}, "needs --target snowflake"),
        ({"stream": "kinesis"}, "--stream kinesis needs the events stream name"),
    ],
)
def test_bad_configuration_is_refused_with_one_line(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(PipelineConfigError) as caught:
        PipelineRunner(tmp_path, **options)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


REFERRAL_EVENTS = "select * exclude (queryable_at) from conformed.referral_events"
TABLES = {
    "conformed.referral_events": REFERRAL_EVENTS,
    "conformed.identities": "select * from conformed.identities",
    "conformed.session_events": "select * from conformed.session_events",
    "conformed.sessions": "select * from conformed.sessions",
    "marts.attribution_facts": "select * from marts.attribution_facts",
    "marts.referral_kpis": "select * from marts.referral_kpis",
    "dq.results": "select * exclude (measured_at) from dq.results where check_name <> 'freshness'",
}


def table(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return sorted((tuple(row) for row in con.execute(sql).fetchall()), key=repr)


def full_refresh_of(warehouse: Path, copy: Path) -> Path:
    """The same raw data rebuilt from scratch (`dbt build --full-refresh`) in a copy."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(warehouse, copy)
    result = build_models(copy, full_refresh=True)
    assert result.success, result.failures
    return copy


def test_fresh_builds_between_full_builds_equal_a_full_refresh(
    loader_gateway: Service, tmp_path: Path
) -> None:
    """Chunks of seeded traffic, each loaded and built by the FRESH tier only (referral_events
    with lookback_days 0), after one full build. Chunk 2 holds a server copy of a chunk-0 page
    view received 10 days ago, so only the loaded_at rule can merge it (without that rule this
    test fails), and a late identify that re-keys older events. referral_events must equal a
    full refresh of the same raw rows after the fresh builds, and every table after the next
    full build; queryable_at must be the fresh tier's, kept by the full build."""
    data_dir = loader_gateway.data_dir
    warehouse = data_dir / "warehouse.duckdb"
    sends = traffic(seed=11, users=25)
    shared = [
        ev.page_view(ev.at(days=1, minutes=60), "anon-z"),
        ev.page_view(ev.at(days=1, minutes=70), "anon-w", user_id="usr_shared"),
        ev.identify(ev.at(days=1, minutes=80), "usr_shared", "anon-z"),
    ]
    runner = PipelineRunner(data_dir)
    for send_ in [s for s in sends if s.chunk == 0]:
        outcomes = loader_gateway.gateway.ingest([send_.event], send_.producer, "sdk")
        assert outcomes[0].status == "accepted", outcomes
    loader_gateway.gateway.ingest(shared, PROMPTFLOW_WEB, "sdk")
    assert runner.load_step() and runner.build_step("full")
    first_view = next(
        s.event for s in sends if s.chunk == 0 and s.event["event_name"] == "page_view"
    )
    late_copy = ev.server_page_view(first_view, user_id="usr_late")
    for chunk in (1, 2):
        batch = [s for s in sends if s.chunk == chunk]
        for send_ in batch:
            outcomes = loader_gateway.gateway.ingest([send_.event], send_.producer, "sdk")
            assert outcomes[0].status == "accepted", outcomes
        if chunk == 2:
            late_identify = ev.identify(ev.at(days=1, minutes=50), "usr_other", "anon-z")
            loader_gateway.gateway.ingest([late_identify], PROMPTFLOW_WEB, "sdk")
            loader_gateway.gateway.ingest([late_copy], BACKEND, "sdk")
        assert runner.load_step()
        if chunk == 2:  # a copy held up for 10 days: outside any received_at lookback
            with duckdb.connect(str(warehouse)) as con:
                con.execute(
                    "update raw.events set received_at = received_at - interval 10 days "
                    "where event_id = ?",
                    [late_copy["event_id"]],
                )
        assert runner.build_step("fresh")
    assert runner.state.fresh.builds == 2 and runner.state.full.builds == 1
    assert runner.state.built_seq == runner.state.load_seq > runner.state.full.built_seq
    assert runner.state.full.unbuilt_since is not None and runner.state.unbuilt_since is None

    merged = table(
        warehouse,
        f"select user_id, emitters from conformed.referral_events "
        f"where event_id in ('{first_view['event_id']}', '{late_copy['event_id']}')",
    )
    assert merged == [("usr_late", "server,web")], "the fresh tier did not merge the late copy"
    reference = full_refresh_of(warehouse, tmp_path / "after-fresh" / "warehouse.duckdb")
    fresh_rows = table(warehouse, REFERRAL_EVENTS)
    assert len(fresh_rows) > 50
    assert fresh_rows == table(reference, REFERRAL_EVENTS)
    queryable = dict(
        table(warehouse, "select dedup_key, queryable_at from conformed.referral_events")
    )

    assert runner.build_step("full")
    assert runner.state.full.built_seq == runner.state.load_seq
    assert runner.state.full.unbuilt_since is None
    reference = full_refresh_of(warehouse, tmp_path / "after-full" / "warehouse.duckdb")
    for name, sql in TABLES.items():
        rows = table(warehouse, sql)
        assert rows, f"{name} is empty: the comparison would prove nothing"
        assert rows == table(reference, sql), f"{name} differs from a full refresh"
    # queryable_at: when the fresh tier first made the row visible, kept by the full build
    assert (
        dict(table(warehouse, "select dedup_key, queryable_at from conformed.referral_events"))
        == queryable
    )


def test_the_loop_runs_fresh_builds_between_full_builds(loader_gateway: Service) -> None:
    """With a long full interval, new rows become queryable through fresh builds alone (the
    downstream models stay as the first full build left them), the full tier reports the rows
    as waiting without calling the pipeline unhealthy, and the next full build catches up."""
    data_dir = loader_gateway.data_dir
    warehouse = data_dir / "warehouse.duckdb"
    send(loader_gateway, page_views(3))
    runner = PipelineRunner(
        data_dir, load_interval=0.2, build_interval=0.3, full_build_interval=600
    )
    runner.start()
    try:
        assert runner.wait_for(caught_up(end(loader_gateway)), 180), runner.status_document()
        assert runner.state.full.builds == 1 and runner.state.fresh.builds == 0
        second = page_views(4)
        send(loader_gateway, second)
        assert runner.wait_for(caught_up(end(loader_gateway)), 180), runner.status_document()
    finally:
        runner.stop()
    document = read_status(status_path(data_dir))
    assert document is not None
    assert document["tiers"]["fresh"]["builds"] >= 1
    assert document["tiers"]["full"]["builds"] == 1
    assert document["last_build"]["tier"] == "fresh"
    assert document["unbuilt_since"] is None
    assert document["tiers"]["full"]["unbuilt_since"] is not None
    verdict = assess(document, local_lag(data_dir, document["checkpoints"]), datetime.now(UTC))
    assert verdict.healthy, verdict.problems  # the marts wait within their own schedule
    assert {e["event_id"] for e in second} <= conformed_ids(warehouse)

    def visit_events() -> int:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            (count,) = con.execute("select count(*) from conformed.session_events").fetchone() or (
                0,
            )
        return int(count)

    assert visit_events() == 3  # the fresh tier left the downstream models alone
    assert runner.build_step("full")
    assert visit_events() == 7
    assert runner.status_document()["tiers"]["full"]["unbuilt_since"] is None
