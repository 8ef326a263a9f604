"""Process-level guarantees, each in a subprocess talking to the in-test gateway: flush at
interpreter exit, fork safety, and a spool that survives SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.sdk.conftest import wait_until
from tests.sdk.server import WRITE_KEY, Fault, GatewayServer

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import json, os, sys, time, uuid
from refract_sdk import Emitter

def page_view(title):
    return {
        "event_id": str(uuid.uuid4()),
        "schema": "page_view/2.0.0",
        "event_name": "page_view",
        "source": "web",
        "user": {"anonymous_id": "anon"},
        "device": {"type": "desktop"},
        "referral": {},
        "privacy": {},
        "page": {"view_id": str(uuid.uuid4()), "url": "https://app.promptflow.io/", "path": "/", "title": title},
    }

URL, KEY = sys.argv[1], sys.argv[2]
OPTIONS = dict(team="web-platform", app="promptflow-web", backoff_base=0.01, backoff_max=0.05)
"""


def run(script: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def test_events_are_flushed_at_interpreter_exit(gateway: GatewayServer) -> None:
    result = run(
        """
        em = Emitter(URL, KEY, flush_interval=60, **OPTIONS)  # the interval never fires
        ids = []
        for i in range(25):
            event = page_view(f"p{i}")
            ids.append(event["event_id"])
            em.track(event)
        print(json.dumps(ids))
        # no flush(), no close(): the exit hook sends them
        """,
        gateway.url,
        WRITE_KEY,
    )
    assert result.returncode == 0, result.stderr
    ids = json.loads(result.stdout)
    accepted, _ = gateway.recorder.snapshot()
    assert set(accepted) == set(ids) and max(accepted.values()) == 1


def test_exit_flush_is_bounded_by_its_timeout(gateway: GatewayServer) -> None:
    gateway.recorder.script(*[Fault("status", 503)] * 10_000)
    started = time.monotonic()
    result = run(
        """
        reasons = []
        em = Emitter(URL, KEY, exit_timeout=0.5, max_retry_time=60,
                     on_error=lambda e, r, m: print(r, flush=True), **OPTIONS)
        em.track(page_view("p"))
        """,
        gateway.url,
        WRITE_KEY,
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 5  # interpreter start-up plus the 0.5 s bound
    assert result.stdout.split() == ["undelivered_at_close"]


def test_after_fork_nothing_is_sent_twice(gateway: GatewayServer, tmp_path: Path) -> None:
    result = run(
        """
        em = Emitter(URL, KEY, flush_interval=60, batch_max_events=1000, **OPTIONS)
        parent_ids = []
        for i in range(10):
            event = page_view("parent")
            parent_ids.append(event["event_id"])
            em.track(event)  # queued in the parent, not sent yet
        pid = os.fork()
        if pid == 0:
            child_ids = []
            for i in range(5):
                event = page_view("child")
                child_ids.append(event["event_id"])
                em.track(event)
            pending = em.flush(5)
            em.close()
            print(json.dumps({"child": child_ids, "pending": pending}), flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        assert em.flush(5) == 0
        em.close()
        print(json.dumps({"parent": parent_ids}), flush=True)
        """,
        gateway.url,
        WRITE_KEY,
    )
    assert result.returncode == 0, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    child = next(r for r in reports if "child" in r)
    parent = next(r for r in reports if "parent" in r)
    assert child["pending"] == 0
    accepted, _ = gateway.recorder.snapshot()
    assert set(accepted) == set(child["child"]) | set(parent["parent"])
    assert max(accepted.values()) == 1  # the child never re-sent the parent's queued events
    titles = {
        tuple(sorted({gateway.recorder.events[i]["page"]["title"] for i in r.event_ids}))
        for r in gateway.recorder.requests
    }
    assert titles == {("child",), ("parent",)}  # no batch mixed the two processes' events


def test_after_fork_with_a_spool_the_child_does_not_send_the_parents_spooled_events(
    gateway: GatewayServer, tmp_path: Path
) -> None:
    result = run(
        """
        em = Emitter(URL, KEY, flush_interval=60, batch_max_events=1000, spool_dir=sys.argv[3], **OPTIONS)
        ids = []
        for i in range(10):
            event = page_view("parent")
            ids.append(event["event_id"])
            em.track(event)
        pid = os.fork()
        if pid == 0:
            event = page_view("child")
            em.track(event)
            em.flush(5)
            em.close()
            print(json.dumps([event["event_id"]]), flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        assert em.flush(5) == 0
        em.close()
        print(json.dumps(ids), flush=True)
        """,
        gateway.url,
        WRITE_KEY,
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    child_ids, parent_ids = (json.loads(line) for line in result.stdout.splitlines())
    accepted, _ = gateway.recorder.snapshot()
    assert set(accepted) == set(child_ids) | set(parent_ids)
    assert max(accepted.values()) == 1
    assert list(tmp_path.iterdir()) == []  # both generations finished and cleaned up


def test_spool_survives_sigkill_and_is_delivered_by_the_next_process(
    gateway: GatewayServer, tmp_path: Path
) -> None:
    script = PRELUDE + textwrap.dedent(
        """
        em = Emitter(URL, KEY, flush_interval=60, batch_max_events=1000, spool_dir=sys.argv[3], **OPTIONS)
        delivered, spooled = [], []
        for i in range(10):
            event = page_view("sent")
            delivered.append(event["event_id"])
            em.track(event)
        assert em.flush(5) == 0  # delivered and acked
        for i in range(20):
            event = page_view("spooled")
            spooled.append(event["event_id"])
            em.track(event)  # on disk when track() returns; the interval never fires
        print(json.dumps({"delivered": delivered, "spooled": spooled}), flush=True)
        time.sleep(60)
        """
    )
    victim = subprocess.Popen(
        [sys.executable, "-c", script, gateway.url, WRITE_KEY, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert victim.stdout is not None
    ids = json.loads(victim.stdout.readline())
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    accepted, _ = gateway.recorder.snapshot()
    assert set(accepted) == set(ids["delivered"])

    result = run(
        """
        em = Emitter(URL, KEY, spool_dir=sys.argv[3], **OPTIONS)
        print(em.flush(10))
        em.close()
        """,
        gateway.url,
        WRITE_KEY,
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0"]
    accepted, _ = gateway.recorder.snapshot()
    assert set(accepted) == set(ids["delivered"]) | set(ids["spooled"])
    assert max(accepted.values()) == 1  # only the undelivered events were sent again
    assert wait_until(lambda: list(tmp_path.iterdir()) == [], timeout=2)
    assert os.path.isdir(tmp_path)
