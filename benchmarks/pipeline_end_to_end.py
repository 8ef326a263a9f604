"""End to end through the local stack: SDK -> gateway -> local stream -> loader -> dbt.

    python3 -m uv run --frozen python benchmarks/pipeline_end_to_end.py   # --events N

One command, three measurements on this machine, each in a fresh data directory:

(1) baseline, gateway only: `refract serve` (pipeline/stack.py LocalStack without a runner)
    takes the N events from SDK emitters in sender processes; events/s accepted.
(2) end to end: the same N events into a LocalStack with its PipelineRunner on the default
    schedule (load every 2 s; fresh tier `dbt run --select referral_events` every 5 s; full
    tier `dbt build` every 60 s; each only when rows arrived), while a latency probe (producer
    `refract-latency-probe`, as the demo's) tracks a page_view every 0.5 s with its real
    wall-clock occurred_at. Throughput = events accepted / (first send -> everything sent is
    queryable, waiting on the runner's own schedule: no hurrying; the run ends with the
    scheduled full build after the last load). Latency per probe = queryable_at - occurred_at
    in conformed.referral_events; p50 / p99 / max.
(3) baseline, loader only: a fresh Loader reads the streams of (2) into a new DuckDB file
    (records/s), then one dbt build of that warehouse (raw rows/s through dbt).

Ratios: (2) / (1) says whether the pipeline keeps up with what the gateway can take; (2) / (3)
how much of the loader's own rate survives scheduling and dbt. Target (issue 5): probe latency
p99 <= 30 s, far inside the 3-minute objective.

Traffic: realistic 1.5-3 KB events of every source and several contract versions, 5% invalid
(benchmarks/gateway_events.py); a pool of 1,000 generated events is cloned with fresh ids
(event, view, request, user ids and the dedup key) up to N, so every event is distinct.
"""

from __future__ import annotations

import argparse
import copy
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway_events import _fresh_ids, make_events

PROBE = "refract-latency-probe"
PRODUCERS = {
    "web": "web-platform",
    "mobile": "mobile-app",
    "backend": "backend-api",
    "crm": "crm-sync",
}


def traffic(count: int, seed: int = 5) -> list[dict[str, Any]]:
    """`count` distinct realistic events (see the module docstring)."""
    from refract_sdk import dedup_key

    pool = make_events(min(count, 1000), seed=seed)
    rng = random.Random(seed)
    events = list(pool)
    while len(events) < count:
        event = copy.deepcopy(rng.choice(pool))
        _fresh_ids(event, rng)
        if "dedup_key" in event:
            event["dedup_key"] = dedup_key(event)
        events.append(event)
    return events


def _sender(
    url: str, keys: dict[str, str], events: list[dict[str, Any]], rate: float, go: Any, out: Any
) -> None:
    """One producer process: an Emitter per source; on `go`, track everything and flush."""
    import logging

    from refract_sdk import Emitter

    logging.getLogger("refract_sdk").setLevel(logging.ERROR)  # rejections are expected (5%)

    emitters = {
        source: Emitter(
            url,
            key,
            team=PRODUCERS[source],
            app=f"bench-{source}",
            max_queue_size=100_000,
            overflow="block",
            block_timeout=30,
            max_retry_time=300,
        )
        for source, key in keys.items()
    }
    out.put("ready")
    go.wait()
    start = time.monotonic()
    for index, event in enumerate(events):
        if rate:  # paced: event `index` is due at start + index / rate
            ahead = start + index / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        source = event.get("source")
        emitter = emitters.get(source if isinstance(source, str) else "web", emitters["web"])
        emitter.track(event)
    left = sum(emitter.flush(timeout=600) for emitter in emitters.values())
    elapsed = time.monotonic() - start
    delivered = sum(e.stats.delivered for e in emitters.values())
    rejected = sum(e.stats.rejected for e in emitters.values())
    failed = sum(e.stats.failed + e.stats.dropped for e in emitters.values())
    for emitter in emitters.values():
        emitter.close(timeout=10)
    out.put((delivered, rejected, failed, left, elapsed))


def send(
    url: str,
    keys: dict[str, str],
    events: list[dict[str, Any]],
    processes: int,
    on_start: Any = None,
    rate: float = 0.0,
) -> dict[str, Any]:
    """Send `events` from `processes` sender processes (started and connected first, then
    released together; `on_start` runs just before); counts and wall time of the sending."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    go = context.Event()
    shares = [events[i::processes] for i in range(processes)]
    workers = [
        context.Process(target=_sender, args=(url, keys, share, rate / processes, go, queue))
        for share in shares
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        assert queue.get() == "ready"
    if on_start is not None:
        on_start()
    start = time.monotonic()
    go.set()
    results = [queue.get() for _ in workers]
    wall = time.monotonic() - start
    for worker in workers:
        worker.join()
    return {
        "delivered": sum(r[0] for r in results),
        "rejected": sum(r[1] for r in results),
        "failed": sum(r[2] for r in results),
        "left": sum(r[3] for r in results),
        "wall": wall,
        "sending": max(r[4] for r in results),
    }


class Probe(threading.Thread):
    """A page_view every `every` seconds with the real time as occurred_at (the SDK stamps it)."""

    def __init__(self, url: str, key: str, every: float = 0.5) -> None:
        super().__init__(name="latency-probe", daemon=True)
        from refract_sdk import Emitter

        self.emitter = Emitter(url, key, team=PROBE, app=PROBE)
        self.every = every
        self.ids: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        template = _probe_template()
        while not self.halt.is_set():
            event = copy.deepcopy(template)
            event["event_id"] = str(uuid.uuid4())
            event["user"] = {"anonymous_id": str(uuid.uuid4())}
            event["page"]["view_id"] = str(uuid.uuid4())
            url = (
                f"https://app.promptflow.io/pricing?utm_source=chatgpt.com&probe={uuid.uuid4().hex}"
            )
            event["page"]["url"] = event["referral"]["landing_url"] = url
            self.emitter.track(event)  # occurred_at: stamped now by the SDK
            self.ids.append(event["event_id"])
            self.halt.wait(self.every)

    def stop(self) -> None:
        self.halt.set()
        self.join(5)
        self.emitter.flush(timeout=30)
        self.emitter.close(timeout=5)


def _probe_template() -> dict[str, Any]:
    """The page_view 2.0.0 contract example without what the SDK stamps itself."""
    import orjson

    path = Path(__file__).resolve().parents[1] / "contracts" / "events" / "page_view" / "2.0.0.json"
    event: dict[str, Any] = orjson.loads(path.read_bytes())["examples"][0]
    for stamped in ("occurred_at", "sent_at", "producer", "dedup_key"):
        event.pop(stamped, None)
    event["referral"].pop("classification", None)  # the gateway classifies
    return event


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def gateway_only(events: list[dict[str, Any]], processes: int) -> float:
    from pipeline.stack import LocalStack

    print(f"(1) baseline, gateway only: {len(events):,} events, {processes} sender processes")
    with tempfile.TemporaryDirectory() as tmp, LocalStack(Path(tmp), run_pipeline=False) as stack:
        keys = {source: stack.write_key(source, name) for source, name in PRODUCERS.items()}
        sent = send(stack.url, keys, events, processes)
    rate = sent["delivered"] / sent["wall"]
    print(
        f"    {sent['delivered']:,} accepted, {sent['rejected']:,} rejected (invalid events, "
        f"dead-lettered), {sent['failed']:,} failed, in {sent['wall']:.1f} s "
        f"=> {rate:,.0f} events/s accepted"
    )
    return rate


def end_to_end(
    events: list[dict[str, Any]],
    processes: int,
    data_dir: Path,
    load: float,
    build: float,
    full_build: float,
    offered: float,
) -> tuple[float, list[float]]:
    import duckdb

    from pipeline.stack import LocalStack

    print(
        f"(2) end to end: {len(events):,} events, {processes} sender processes, load every "
        f"{load:g} s, fresh build every {build:g} s, full build every {full_build:g} s, "
        "latency probe every 0.5 s, offered "
        + (f"{offered:,.0f} events/s" if offered else "as fast as the gateway takes them")
    )
    with LocalStack(
        data_dir, load_interval=load, build_interval=build, full_build_interval=full_build
    ) as stack:
        keys = {source: stack.write_key(source, name) for source, name in PRODUCERS.items()}
        probe = Probe(stack.url, stack.write_key("web", PROBE))
        first: list[datetime] = []

        before: list[float] = []

        def begin() -> None:
            first.append(datetime.now(UTC))
            state = stack.runner.state if stack.runner else None
            if state:
                before.extend([state.load_seconds, state.fresh.seconds, state.full.seconds])
            else:
                before.extend([0.0, 0.0, 0.0])
            probe.start()

        sent = send(stack.url, keys, events, processes, on_start=begin, rate=offered)
        probe.stop()
        sending_ended = datetime.now(UTC)
        status = stack.wait_until_loaded(timeout=900, hurry=False)
    connection = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        probes = connection.execute(
            "select occurred_at, queryable_at from conformed.referral_events "
            "where event_id in (select unnest(?))",
            [probe.ids],
        ).fetchall()
        count, last = connection.execute(
            "select count(*), max(queryable_at) from conformed.referral_events"
        ).fetchone() or (0, None)
    finally:
        connection.close()
    start = first[0].replace(tzinfo=None)
    elapsed = (last - start).total_seconds() if last else float("inf")
    rate = sent["delivered"] / elapsed
    print(
        f"    {sent['delivered']:,} accepted + {sent['rejected']:,} dead-lettered in "
        f"{sent['wall']:.1f} s of sending ({sent['delivered'] / sent['wall']:,.0f} events/s "
        f"while the pipeline ran); the last became queryable {elapsed:.1f} s after the first "
        f"send ({(last - sending_ended.replace(tzinfo=None)).total_seconds():.1f} s after the "
        "sending ended)"
        if last
        else "    nothing became queryable"
    )
    fresh, full = status["tiers"]["fresh"], status["tiers"]["full"]

    def tier(name: str, facts: dict[str, Any]) -> str:
        average = facts["seconds_total"] / facts["builds"] if facts["builds"] else 0.0
        return (
            f"{facts['builds']} {name} builds ({facts['failures']} failed, {average:.1f} s "
            "each on average)"
        )

    print(
        f"    runner: {status['loads']} load steps, {tier('fresh', fresh)}, "
        f"{tier('full', full)}; raw rows {status['rows_total']}; "
        f"conformed.referral_events {count:,} rows; probes {len(probe.ids)} sent, "
        f"{len(probes)} queryable"
    )
    loads = status["load_seconds_total"] - before[0]
    fresh_s = fresh["seconds_total"] - before[1]
    full_s = full["seconds_total"] - before[2]
    busy = loads + fresh_s + full_s
    rows = sum(status["rows_total"].values())
    print(
        f"    runner busy {busy:.1f} s from the first send to the final full build (loads "
        f"{loads:.1f} s, fresh builds {fresh_s:.1f} s, full builds {full_s:.1f} s) => at 100% "
        f"duty the sequential loop would take about {rows / busy:,.0f} rows/s at this batch size"
    )
    print(
        f"    => {rate:,.0f} events/s end to end (accepted events / first send -> last queryable)"
    )
    latencies = [(queryable - occurred).total_seconds() for occurred, queryable in probes]
    return rate, latencies


def loader_only(data_dir: Path) -> tuple[float, float, int]:
    from pipeline.dbt import build_models
    from pipeline.loader.loader import Loader
    from pipeline.loader.sources import LocalSource
    from pipeline.loader.warehouse import open_warehouse

    print("(3) baseline, loader only: the streams of (2) into a new DuckDB file, then one build")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "warehouse.duckdb"
        warehouse = open_warehouse(path)
        warehouse.ensure_raw()
        loader = Loader(LocalSource(data_dir), warehouse)
        start, records = time.monotonic(), 0
        while True:
            stats = loader.load_once()
            records += stats.records_read
            if stats.caught_up:
                break
        loading = time.monotonic() - start
        warehouse.close()
        result = build_models(path)
        if not result.success:
            print(f"    dbt build FAILED: {result.failures[:3]}")
    rate = records / loading if loading else 0.0
    print(
        f"    {records:,} records loaded in {loading:.2f} s => {rate:,.0f} records/s; dbt build "
        f"of all of them {result.elapsed_s:.1f} s => {records / result.elapsed_s:,.0f} rows/s"
    )
    return rate, result.elapsed_s, records


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--senders", type=int, default=2, help="sender processes")
    parser.add_argument("--load-interval", type=float, default=2.0)
    parser.add_argument("--build-interval", type=float, default=5.0, help="fresh tier")
    parser.add_argument("--full-build-interval", type=float, default=60.0, help="full tier")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="offered events/s in (2); 0: as fast as possible"
    )
    args = parser.parse_args()
    if args.events < 1 or args.senders < 1 or args.rate < 0:
        parser.error("--events and --senders must be at least 1, --rate at least 0")
    print(
        f"cores visible: {os.cpu_count()}; python {sys.version.split()[0]}; load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    events = traffic(args.events)
    gateway_rate = gateway_only(events, args.senders)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        rate, latencies = end_to_end(
            events,
            args.senders,
            data_dir,
            args.load_interval,
            args.build_interval,
            args.full_build_interval,
            args.rate,
        )
        loader_rate, _build_s, _records_loaded = loader_only(data_dir)
    if latencies:
        p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
        print(
            f"latency occurred_at -> queryable_at ({len(latencies)} probes): p50 {p50:.1f} s, "
            f"p99 {p99:.1f} s, max {max(latencies):.1f} s, mean {statistics.fmean(latencies):.1f} s "
            f"(target p99 <= 30 s: {'met' if p99 <= 30 else 'NOT met'})"
        )
        if len(latencies) < 100:
            print(
                f"    only {len(latencies)} probes: p99 is about the max of a short window; for a "
                "sustained load run e.g. --events 120000 --rate 1500 (80 s, 160 probes)"
            )
    else:
        print("latency: no probe became queryable (see the runner's status above)")
    print(
        f"end to end {rate:,.0f} events/s = {rate / gateway_rate:.2f}x the gateway alone "
        f"({gateway_rate:,.0f}/s), {rate / loader_rate:.2f}x the loader alone "
        f"({loader_rate:,.0f} records/s)"
    )
    print("load average at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
