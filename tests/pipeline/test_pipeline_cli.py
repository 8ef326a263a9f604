"""`refract pipeline run|status` as operators run them: real processes, real streams (local and
kinesis-local), the real loader and dbt; exit codes and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.status import Assessment, StreamLag, assess, iso
from pipeline.streams.base import Record
from pipeline.streams.kinesis import KinesisSink
from registry_service.model import Producer
from tests.gateway.conftest import Service
from tests.pipeline.conftest import event_body, page_view
from tests.support.kinesis_local import KinesisLocal

WEB = Producer("key-web", "web", "web-platform")


def refract(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "refract", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def views(count: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(count):
        event = page_view(str(uuid.uuid4()))
        event["page"]["view_id"] = str(uuid.uuid4())
        out.append(event)
    return out


def test_run_once_then_status(loader_gateway: Service) -> None:
    data = str(loader_gateway.data_dir)
    loader_gateway.gateway.ingest(views(3), WEB, "sdk")
    loader_gateway.gateway.ingest(["not an event"], WEB, "sdk")  # a dead letter
    never = refract("pipeline", "status", "--data-dir", data)
    assert never.returncode == 1, never.stderr
    assert "the pipeline has not run here" in never.stdout

    done = refract("pipeline", "run", "--once", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert "loaded 1 dead_letters, 3 events" in done.stdout
    assert "dbt build ok" in done.stdout

    status = refract("pipeline", "status", "--data-dir", data, "--format", "json")
    assert status.returncode == 0, status.stdout
    report = json.loads(status.stdout)
    assert report["healthy"] is True and report["problems"] == []
    assert [(lag["stream"], lag["records_behind"]) for lag in report["stream_lag"]] == [
        ("events", 0),
        ("dead_letters", 0),
    ]
    assert report["status"]["state"] == "stopped"
    assert report["status"]["last_build"]["success"] is True
    assert report["status"]["last_build"]["tier"] == "full"  # --once builds everything
    assert report["status"]["tiers"]["full"]["builds"] == 1
    assert report["status"]["tiers"]["fresh"]["builds"] == 0
    assert report["freshness"]["web"]["within_target"] is True
    assert report["freshness_target_s"] == 180

    # new events on the stream: lag is measured live, still within the objective
    loader_gateway.gateway.ingest(views(2), WEB, "sdk")
    text = refract("pipeline", "status", "--data-dir", data)
    assert text.returncode == 0, text.stdout
    assert "events 2 records behind" in text.stdout
    assert "dead_letters 0 records behind" in text.stdout
    assert "fresh build (referral_events) every 5.0 s, full build every 60.0 s" in text.stdout
    assert "last full" in text.stdout and "ok" in text.stdout
    assert "last fresh  never" in text.stdout
    assert "health      OK" in text.stdout


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_stops_cleanly_on_a_signal(loader_gateway: Service, signum: int) -> None:
    data_dir = loader_gateway.data_dir
    loader_gateway.gateway.ingest(views(2), WEB, "sdk")
    command = ["pipeline", "run", "--data-dir", str(data_dir), "--load-interval", "0.5"]
    process = subprocess.Popen(
        [sys.executable, "-m", "refract", *command, "--build-interval", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    status_file = data_dir / "pipeline" / "status.json"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no build reported in time"
            if status_file.exists():
                document = json.loads(status_file.read_text())
                if document.get("last_build") and document["state"] == "running":
                    break
            time.sleep(0.2)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    document = json.loads(status_file.read_text())
    assert document["state"] == "stopped"
    assert document["rows_total"]["events"] == 2
    logs = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(line["msg"] == "built" for line in logs), stderr


def test_kinesis_mode_from_the_same_environment_as_refract_serve(
    kinesis_local: KinesisLocal, tmp_path: Path
) -> None:
    events, dead = kinesis_local.create_stream(2), kinesis_local.create_stream(1)
    received = iso(datetime.now(UTC)) or ""
    KinesisSink(events, client=kinesis_local.client()).put(
        [Record(f"k{i}", event_body(e, received_at=received)) for i, e in enumerate(views(6))]
    )
    env = {
        "REFRACT_STREAM": "kinesis",
        "REFRACT_KINESIS_STREAM": events,
        "REFRACT_KINESIS_DEAD_LETTER_STREAM": dead,
        "REFRACT_KINESIS_ENDPOINT": kinesis_local.endpoint,
        "REFRACT_KINESIS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    data = tmp_path / "runner"
    done = refract("pipeline", "run", "--once", "--data-dir", str(data), env=env)
    assert done.returncode == 0, done.stderr
    assert "loaded 6 events" in done.stdout
    status = refract("pipeline", "status", "--data-dir", str(data), "--format", "json")
    assert status.returncode == 0, status.stdout
    report = json.loads(status.stdout)
    document = report["status"]
    assert document["stream"] == "kinesis"
    assert document["kinesis_streams"] == [events, dead]
    assert len(document["checkpoints"]["events"]) == 2  # one per shard
    assert report["stream_lag"] is None  # Kinesis: as the runner last saw it
    shards = document["stream_lag"]["events"]
    assert all(lag["millis_behind"] is not None for lag in shards.values())
    text = refract("pipeline", "status", "--data-dir", str(data))
    assert f"kinesis {events}, {dead} stream" in text.stdout


def test_a_killed_runner_is_reported_at_once(loader_gateway: Service) -> None:
    data_dir = loader_gateway.data_dir
    loader_gateway.gateway.ingest(views(1), WEB, "sdk")
    process = subprocess.Popen(
        [sys.executable, "-m", "refract", "pipeline", "run", "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    status_file = data_dir / "pipeline" / "status.json"
    try:
        deadline = time.monotonic() + 120
        while not status_file.exists():
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.1)
    finally:
        process.kill()  # no chance to write "stopped"
        process.wait()
    assert json.loads(status_file.read_text())["state"] == "running"
    status = refract("pipeline", "status", "--data-dir", str(data_dir))
    assert status.returncode == 1, status.stdout
    assert f"the runner (pid {process.pid}) is gone without stopping" in status.stdout


def _one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0], lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["status", "--data-dir", "{missing}"], {}, "no such directory (--data-dir)"),
        (["status", "--data-dir", "{file}"], {}, "not a directory (--data-dir)"),
        (["status", "--data-dir", "{corrupt}"], {}, "not a pipeline status file"),
        (["status", "--data-dir", "{streams}", "--format", "xml"], {}, "'xml' is not one of"),
        (["run", "--data-dir", "{missing}"], {}, "no such directory (--data-dir)"),
        (["run", "--data-dir", "{empty}"], {}, "no local streams here"),
        (["run", "--data-dir", "{streams}", "--load-interval", "0"], {}, "--load-interval"),
        (["run", "--data-dir", "{streams}", "--build-interval", "soon"], {}, "--build-interval"),
        (
            ["run", "--data-dir", "{streams}", "--full-build-interval", "0"],
            {},
            "--full-build-interval",
        ),
        (["run", "--data-dir", "{streams}", "--target", "snowflake"], {}, "needs --warehouse"),
        (
            ["run", "--data-dir", "{streams}", "--warehouse", "{missing}/w.duckdb"],
            {},
            "does not exist (--warehouse)",
        ),
        (
            ["run", "--data-dir", "{streams}", "--warehouse", "snowflake://u:p@a/db"],
            {},
            "needs --target snowflake",
        ),
        (
            ["run", "--data-dir", "{streams}", "--stream", "kinesis"],
            {},
            "REFRACT_STREAM=kinesis needs REFRACT_KINESIS_STREAM",
        ),
        (["run", "--data-dir", "{streams}"], {"REFRACT_STREAM": "pigeon"}, "REFRACT_STREAM="),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], env: dict[str, str], expected: str
) -> None:
    places = {
        "missing": tmp_path / "missing",
        "file": tmp_path / "file",
        "corrupt": tmp_path / "corrupt",
        "empty": tmp_path / "empty",
        "streams": tmp_path / "streams-here",
    }
    places["file"].write_text("x")
    (places["corrupt"] / "pipeline").mkdir(parents=True)
    (places["corrupt"] / "pipeline" / "status.json").write_text("{not json")
    places["empty"].mkdir()
    (places["streams"] / "streams").mkdir(parents=True)
    filled = [a.format(**{k: str(v) for k, v in places.items()}) for a in args]
    _one_line_error(refract("pipeline", *filled, env=env), expected)


# -- the health rules (pipeline/status.py), on documents the runner writes ---------------------------

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def document(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "version": 1,
        "state": "running",
        "pid": 1,
        "updated_at": iso(NOW - timedelta(seconds=1)),
        "last_load": {"at": iso(NOW), "duration_s": 0.1, "rows": {}, "error": None},
        "last_build": {"at": iso(NOW), "success": True, "duration_s": 5, "failures": []},
        "unbuilt_since": None,
    }
    base.update(changes)
    return base


def tiers(fresh: dict[str, Any] | None = None, **full: Any) -> dict[str, Any]:
    """The `tiers` part of a status document: last builds ok unless given, full every 60 s."""
    ok = {"at": iso(NOW), "success": True, "duration_s": 1, "failures": []}
    return {
        "fresh": {"interval_s": 5, "last": fresh or ok, "unbuilt_since": None},
        "full": {"interval_s": 60, "last": ok, "unbuilt_since": None, **full},
    }


FAILED = {"at": iso(NOW), "success": False, "duration_s": 1, "failures": ["model x: y"]}


def lag(age_s: float | None) -> list[StreamLag]:
    oldest = None if age_s is None else NOW - timedelta(seconds=age_s)
    return [StreamLag("events", 10, 5 if oldest else 10, 5 if oldest else 0, False, oldest)]


@pytest.mark.parametrize(
    ("doc", "lags", "problem"),
    [
        (document(), lag(None), None),
        (document(), lag(170), None),
        (document(), lag(181), "stale: the oldest event not yet queryable is 181 s old"),
        (document(unbuilt_since=iso(NOW - timedelta(seconds=200))), lag(None), "stale"),
        (document(updated_at=iso(NOW - timedelta(seconds=600))), lag(None), "has not reported"),
        (document(state="stopped", updated_at=iso(NOW - timedelta(days=1))), lag(None), None),
        (
            document(last_build={"at": iso(NOW), "success": False, "failures": ["model x: y"]}),
            lag(None),
            "last build failed: model x: y",
        ),
        (
            document(last_load={"at": iso(NOW), "error": "IOException: lock"}),
            lag(None),
            "last load failed: IOException: lock",
        ),
        (None, lag(None), "has not run here"),
        (document(tiers=tiers()), lag(None), None),
        (document(tiers=tiers(FAILED)), lag(None), "last fresh build failed: model x: y"),
        (document(tiers=tiers(last=FAILED)), lag(None), "last full build failed: model x: y"),
        # rows waiting for a full build: fine within its interval + the target, then behind
        (
            document(tiers=tiers(unbuilt_since=iso(NOW - timedelta(seconds=230)))),
            lag(None),
            None,
        ),
        (
            document(tiers=tiers(unbuilt_since=iso(NOW - timedelta(seconds=250)))),
            lag(None),
            "behind: rows loaded 250 s ago are not in a full build yet",
        ),
        (
            document(stream_lag={"events": {"shardId-0": {"millis_behind": 240_000}}}),
            None,
            "stale",
        ),
    ],
)
def test_health_rules(
    doc: dict[str, Any] | None, lags: list[StreamLag] | None, problem: str | None
) -> None:
    verdict: Assessment = assess(doc, lags, NOW)
    if problem is None:
        assert verdict.healthy, verdict.problems
    else:
        assert any(problem in p for p in verdict.problems), verdict.problems
