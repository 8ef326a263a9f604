"""Benchmark of refract-sdk's Emitter: caller-thread cost of ``track()`` and sustained
throughput of one emitter into a local server, each beside a baseline from the same run.

    uv run python benchmarks/sdk_emitter.py [--events N]

Targets (issue 3): ``track()`` median <= 15 us for a typical page_view; >= 20,000 events/s
sustained from one emitter. The server is the tests' gateway (uvicorn + FastAPI, count-only)
in a separate process, so it does not compete with the emitter for the GIL.
"""

from __future__ import annotations

import argparse
import gzip
import json
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from refract_sdk import Emitter
from refract_sdk.events import PageView

ROOT = Path(__file__).resolve().parents[1]
WRITE_KEY = "wk_test"


def page_view(i: int) -> PageView:
    """A typical server-side page_view: referral signals, device, privacy, page."""
    return PageView(
        user={"anonymous_id": str(uuid.uuid4())},
        session={"session_id": "ses_9c2f4a71e3b8"},
        device={
            "type": "desktop",
            "os": "macOS",
            "os_version": "14.5",
            "browser": "Chrome",
            "browser_version": "126.0.6478.127",
            "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
            "locale": "en-US",
        },
        referral={
            "referrer_url": "https://chatgpt.com/",
            "landing_url": "https://app.promptflow.io/pricing?utm_source=chatgpt.com",
            "utm_source": "chatgpt.com",
        },
        privacy={"consent": {"analytics": True, "marketing": False}, "gdpr_applies": True},
        page={
            "view_id": str(uuid.uuid4()),
            "url": f"https://app.promptflow.io/pricing?utm_source=chatgpt.com&n={i}",
            "path": "/pricing",
            "title": "Pricing | PromptFlow",
            "search": "utm_source=chatgpt.com",
        },
    )


def per_call_ns(fn: Callable[[Any], object], items: list[Any]) -> list[int]:
    clock = time.perf_counter_ns
    samples = []
    for item in items:
        start = clock()
        fn(item)
        samples.append(clock() - start)
    return samples


def summary(samples: list[int]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) / 1000, ordered[int(len(ordered) * 0.99)] / 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.sdk.server", str(port)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/docs", timeout=0.5)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("benchmark server did not start")


def bench_track(url: str, count: int) -> None:
    print(f"track() in the caller's thread, {count} typical page_view models, sender running:")
    models = [page_view(i) for i in range(count)]
    null = per_call_ns(lambda _: None, models)
    simple: queue.SimpleQueue[Any] = queue.SimpleQueue()
    put = per_call_ns(simple.put, models)
    dump = per_call_ns(lambda m: m.model_dump_json(by_alias=True, exclude_none=True), models)
    with Emitter(url, WRITE_KEY, team="web-platform", app="promptflow-web",
                 max_queue_size=count + 1) as em:  # fmt: skip
        tracked = per_call_ns(em.track, models)
        em.flush()
    with tempfile.TemporaryDirectory() as spool_dir:
        spool_models = [page_view(i) for i in range(count // 4)]
        with Emitter(url, WRITE_KEY, team="web-platform", app="promptflow-web",
                     max_queue_size=count + 1, spool_dir=spool_dir) as em:  # fmt: skip
            spooled = per_call_ns(em.track, spool_models)
            em.flush()
    put_median = summary(put)[0]
    rows = [
        ("empty call (timer overhead)", null),
        ("baseline: SimpleQueue.put(model)", put),
        ("baseline: model.model_dump_json()", dump),
        ("Emitter.track(model)", tracked),
        ("Emitter.track(model), spool_dir set", spooled),
    ]
    print(f"  {'':40} {'median us':>10} {'p99 us':>10} {'x put':>8}")
    for name, samples in rows:
        median, p99 = summary(samples)
        print(f"  {name:40} {median:10.2f} {p99:10.2f} {median / put_median:8.1f}")
    median = summary(tracked)[0]
    verdict = "meets" if median <= 15 else "MISSES"
    print(f"  target: track() median <= 15 us -> {median:.2f} us ({verdict})")


def bench_throughput(url: str, count: int) -> None:
    print(f"\nsustained throughput, one emitter, {count} page_view models into the local server:")
    models = [page_view(i) for i in range(count)]
    with Emitter(url, WRITE_KEY, team="web-platform", app="promptflow-web",
                 overflow="block", block_timeout=30, max_queue_size=20_000,
                 flush_interval=0.05) as em:  # fmt: skip
        start = time.perf_counter()
        for model in models:
            em.track(model)
        pending = em.flush(timeout=120)
        elapsed = time.perf_counter() - start
        stats = em.stats
    assert pending == 0 and stats.delivered == count, (pending, stats)
    rate = count / elapsed
    print(f"  Emitter (track -> delivered, {stats.batches} batches): {rate:10,.0f} events/s")

    # Baseline: the same server fed pre-serialized, pre-gzipped 500-event batches by raw httpx.
    events = [m.model_dump(mode="json", by_alias=True, exclude_none=True) for m in models]
    bodies = [
        gzip.compress(
            json.dumps(
                {"sent_at": "2026-03-14T09:26:53.802Z", "events": events[i : i + 500]}
            ).encode()
        )
        for i in range(0, len(events), 500)
    ]
    headers = {"Authorization": f"Bearer {WRITE_KEY}", "Content-Encoding": "gzip",
               "Content-Type": "application/json"}  # fmt: skip
    with httpx.Client(headers=headers) as client:
        start = time.perf_counter()
        for body in bodies:
            client.post(url + "/v1/events", content=body).raise_for_status()
        elapsed = time.perf_counter() - start
    base = count / elapsed
    print(f"  baseline: raw httpx, pre-serialized gzipped batches: {base:10,.0f} events/s")
    print(f"  emitter / baseline: {rate / base:.2f}")
    verdict = "meets" if rate >= 20_000 else "MISSES"
    print(f"  target: >= 20,000 events/s -> {rate:,.0f} events/s ({verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events for the throughput run")
    parser.add_argument("--track-samples", type=int, default=20_000)
    args = parser.parse_args()
    server, url = start_server()
    try:
        bench_track(url, args.track_samples)
        bench_throughput(url, args.events)
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
