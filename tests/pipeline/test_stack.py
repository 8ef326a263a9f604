"""LocalStack: a real `refract serve` process, keys, the runner; events from the real SDK over
HTTP become queryable; shutdown leaves no process behind, also when the body raises."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import httpx
import pytest
from refract_sdk import Emitter

from pipeline.stack import LocalStack, StackError
from tests.gateway.conftest import example


def alive(pid: int) -> bool:
    """Whether a process (or process group) with this id exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def test_events_sent_with_the_sdk_are_queryable_after_wait_until_loaded(tmp_path: Path) -> None:
    ids = []
    with LocalStack(tmp_path / "data", load_interval=0.5, build_interval=1) as stack:
        pid = stack.process.pid if stack.process else 0
        assert httpx.get(f"{stack.url}/readyz").status_code == 200
        key = stack.write_key("web", "web-platform")
        assert stack.write_key("web", "web-platform") == key  # one key per producer
        with Emitter(stack.url, key, team="web-platform", app="test") as emitter:
            for _ in range(20):
                event = example("page_view", "2.0.0")
                event["event_id"] = str(uuid.uuid4())
                event["page"]["view_id"] = str(uuid.uuid4())
                ids.append(event["event_id"])
                emitter.track(event)
            assert emitter.flush(timeout=30) == 0
            assert emitter.stats.delivered == 20
        status = stack.wait_until_loaded(timeout=240)
        assert status["rows_total"]["events"] == 20
        assert status["last_build"]["success"] is True
        # wait_until_loaded means a FULL build after the load: every model is current
        assert status["last_build"]["tier"] == "full"
        assert status["tiers"]["full"]["unbuilt_since"] is None
        assert status["checkpoints"]["events"]["local"] == f"{19:020d}"
    assert not alive(pid)
    assert group_members(pid) == []
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        found = con.execute(
            "select event_id, producer_name from conformed.referral_events"
        ).fetchall()
    assert {row[0] for row in found} == set(ids)
    assert {row[1] for row in found} == {"web-platform"}
    assert (tmp_path / "data" / "pipeline" / "status.json").is_file()


def test_the_server_is_stopped_when_the_body_raises(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="boom"),
        LocalStack(tmp_path, run_pipeline=False) as stack,
    ):
        pid = stack.process.pid if stack.process else 0
        assert alive(pid)
        raise RuntimeError("boom")
    assert not alive(pid)
    assert group_members(pid) == []
    assert stack.process is None
    stack.close()  # idempotent


def test_a_server_that_cannot_start_is_reported_with_its_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stack = LocalStack(tmp_path, port=port, run_pipeline=False, ready_timeout=60)
        with pytest.raises(StackError) as caught:
            stack.start()
    message = str(caught.value)
    assert "refract serve exited" in message and "address already in use" in message.lower()
    assert stack.process is None


def test_wait_until_loaded_needs_a_runner(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, run_pipeline=False)
    with pytest.raises(RuntimeError, match="runs no pipeline"):
        stack.wait_until_loaded(1)
    assert os.listdir(tmp_path) == []  # nothing started, nothing written


def test_the_server_dies_with_a_sigkilled_owner(tmp_path: Path) -> None:
    """A stack owner killed outright (no close(), no finalizer) leaves no gateway behind."""
    owner_code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from pipeline.stack import LocalStack\n"
        "stack = LocalStack(Path(sys.argv[1]), run_pipeline=False).start()\n"
        "print(stack.process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", owner_code, str(tmp_path)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert owner.stdout is not None
        server_pid = int(owner.stdout.readline())
        assert alive(server_pid)
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        deadline = time.monotonic() + 30
        while alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(server_pid), "the gateway outlived its SIGKILLed owner"
    finally:
        owner.kill()
        owner.wait(10)
