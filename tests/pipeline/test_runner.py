"""PipelineRunner with real parts: the gateway core writing real local streams, the real loader,
the real dbt project built on a DuckDB file. Nothing is mocked; a failing build is a real one
(a table changed under dbt's feet, which its on_schema_change='fail' contract refuses)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.runner import PipelineConfigError, PipelineRunner, RunnerState
from pipeline.status import assess, local_lag, read_status, status_path
from pipeline.streams.local import StreamReader
from registry_service.model import Producer
from tests.gateway.conftest import Service, example

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
    assert runner.load_step() and runner.build_step()
    # someone changes a conformed table: the incremental model refuses the schema change
    with duckdb.connect(str(warehouse)) as con:
        con.execute("alter table conformed.referral_events add column surprise integer")
    send(loader_gateway, page_views(2))
    assert runner.load_step()
    assert runner.build_step() is False
    document = read_status(status_path(data_dir))
    assert document is not None
    assert document["last_build"]["success"] is False
    assert any("referral_events" in f for f in document["last_build"]["failures"])
    assert document["errors"][-1]["step"] == "build"
    assert document["unbuilt_since"] is not None  # rows wait for a good build
    verdict = assess(document, local_lag(data_dir, document["checkpoints"]), datetime.now(UTC))
    assert not verdict.healthy
    assert verdict.problems[0].startswith("last build failed: model referral_events")

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
