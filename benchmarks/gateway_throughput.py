"""Gateway throughput: in-process processing per core, and over HTTP with uvicorn.

    uv run python benchmarks/gateway_throughput.py        # --events N --seconds S --skip-http

(a) In-process, one thread (= one core): request bodies of 100 realistic events
    (benchmarks/gateway_events.py: every source, 1.5-3 KB, 20% older versions, 5% invalid)
    go through exactly what ``POST /v1/events`` does after reading the body: orjson parse,
    then ``Gateway.process`` (validation with the compiled validators, upcast, dedup key
    verification, classification, PII, stream records serialized). Beside it, measured on the
    same bodies in the same run:
      * the JSON floor: orjson parse of the body and orjson serialization of every event;
      * the naive path: json.loads, jsonschema (Draft 2020-12, format checker, one cached
        validator per contract version) per event, json.dumps per event.
(b) Over HTTP: the whole application served by uvicorn (one process, one worker) on
    127.0.0.1, writing to the real local stream (fsync per request), or with
    ``--stream kinesis`` to Kinesis as in production (kinesis-local, started here, through
    the same boto3 sink); a client process posts gzip batches of 100 events over keep-alive
    connections. Events/s are divided by the CPU seconds the server process used (per core),
    and also shown against wall time.

Targets (issue 4): (a) >= 40,000 events/s per core, >= 10x the naive path, within 3x of the
floor; (b) >= 20,000 events/s per core. The fleet size for 120,000 events/s at peak follows
from (b), with 40% headroom.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway_events import Stamper, batches, make_events

PEAK = 120_000
HEADROOM = 1.4


def build_gateway(data_dir: Path) -> tuple[Any, Any, Any]:
    """The application's gateway on a real registry, with an in-memory sink (processing only)."""
    from registry_service.app import create_app
    from registry_service.registry.bootstrap import open_registry
    from registry_service.settings import Settings

    settings = Settings(data_dir=data_dir, pii_key=b"bench")
    registry, keys = open_registry(settings)
    app = create_app(settings, registry=registry, keystore=keys, with_adapters=False)
    _key_id, raw = keys.create("web", "web-platform")
    return app.state.gateway, keys.verify(raw), registry


def timed(
    label: str, func: Any, bodies: list[bytes], events: int, seconds: float, stamper: Stamper
) -> float:
    """Events/s of ``func(body)`` over ``bodies``, repeated for at least ``seconds`` CPU.

    Before every pass, outside the timed region, the visit tokens of every URL are rewritten to
    values never used before (gateway_events.Stamper), so no pass replays a landing URL, query
    string or referrer URL that an earlier pass (or the warm-up) has seen.
    """
    for body in bodies[:5]:
        func(stamper.stamp(body))  # warm caches
    done = 0
    elapsed = 0.0
    while elapsed < seconds:
        fresh = [stamper.stamp(body) for body in bodies]  # not timed
        start = time.process_time()
        for body in fresh:
            func(body)
        elapsed += time.process_time() - start
        done += events
    rate = done / elapsed
    print(f"  {label:<44} {rate:>10,.0f} events/s   ({1e6 / rate:6.1f} µs/event)")
    return rate


def in_process(count: int, seconds: float) -> float:
    print(f"(a) in-process, one core: {count} events in bodies of 100, >= {seconds:.0f} s CPU each")
    events = make_events(count)
    bodies = batches(events, 100)
    sizes = [len(orjson.dumps(e)) for e in events]
    print(
        f"    events: mean {sum(sizes) / len(sizes):,.0f} B (min {min(sizes):,}, max {max(sizes):,}); "
        f"{sum(e['schema'] not in LATEST_REFS for e in events) / len(events):.0%} older versions"
    )
    with tempfile.TemporaryDirectory() as tmp:
        gateway, producer, registry = build_gateway(Path(tmp))

        outcome_counts: dict[str, int] = {}

        def gateway_path(body: bytes) -> None:
            parsed = orjson.loads(body)
            batch = gateway.process(parsed["events"], producer, "sdk", check_sizes=True)
            for o in batch.outcomes:
                outcome_counts[o.reason or o.status] = (
                    outcome_counts.get(o.reason or o.status, 0) + 1
                )

        def floor(body: bytes) -> None:
            parsed = orjson.loads(body)
            for event in parsed["events"]:
                orjson.dumps(event)

        import jsonschema

        validators: dict[str, Any] = {}

        def naive(body: bytes) -> None:
            parsed = json.loads(body)
            for event in parsed["events"]:
                ref = event.get("schema")
                validator = validators.get(ref)
                if validator is None:
                    name, _, version = ref.partition("/")
                    schema = registry.contract(name, version)
                    validator = jsonschema.Draft202012Validator(
                        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
                    )
                    validators[ref] = validator
                if validator.is_valid(event):
                    json.dumps(event)

        stamper = Stamper()
        cache_before = _cache_counts(gateway)
        rate = timed(
            "gateway (parse + Gateway.process)", gateway_path, bodies, count, seconds, stamper
        )
        total = sum(outcome_counts.values())
        shares = ", ".join(f"{k} {v / total:.1%}" for k, v in sorted(outcome_counts.items()))
        print(f"    verdicts: {shares}")
        print(f"    {_cache_report(cache_before, _cache_counts(gateway))}")
        floor_rate = timed(
            "JSON floor (orjson parse + serialize)", floor, bodies, count, seconds, stamper
        )
        naive_rate = timed(
            "naive (json + jsonschema + json.dumps)", naive, bodies, count, min(seconds, 3), stamper
        )
        print(
            f"    gateway = {rate / naive_rate:.1f}x the naive path (target >= 10x); "
            f"floor / gateway = {floor_rate / rate:.2f}x (target <= 3x); "
            f"{rate:,.0f} events/s per core (target >= 40,000)"
        )
    return rate


def _cache_counts(gateway: Any) -> tuple[int, int] | None:
    """(hits, misses) of the classifier's verdict cache so far, None when it has none."""
    info = getattr(gateway.classifier, "cache_info", None)
    if info is None:
        return None
    stats = info()
    return stats.hits, stats.misses


def _cache_report(before: tuple[int, int] | None, after: tuple[int, int] | None) -> str:
    if before is None or after is None:
        return "classification cache: not reported by this classifier"
    hits, misses = after[0] - before[0], after[1] - before[1]
    lookups = hits + misses
    rate = hits / lookups if lookups else 0.0
    return (
        f"classification cache (keyed by referral signals, every landing URL unique): "
        f"{rate:.1%} hits ({hits:,} of {lookups:,} classifications)"
    )


LATEST_REFS: set[str] = set()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(
    url: str, key: str, bodies: list[bytes], seconds: float, connections: int, out: Any
) -> None:
    """Post gzip bodies on ``connections`` keep-alive connections for ``seconds``."""
    import asyncio

    import httpx

    async def worker(
        client: httpx.AsyncClient, offset: int, stop: float, counts: list[int]
    ) -> None:
        i = offset
        while time.monotonic() < stop:
            body = bodies[i % len(bodies)]
            if i >= len(bodies):
                counts[2] += 1  # every unique body was sent: this one repeats
            i += connections
            response = await client.post(
                "/v1/events",
                content=body,
                headers={
                    "Authorization": f"Bearer {key}",
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                },
            )
            if response.status_code != 200:
                counts[1] += 1
            else:
                counts[0] += len(response.json()["results"])

    async def main() -> None:
        counts = [0, 0, 0]
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            start = time.monotonic()
            await asyncio.gather(
                *(worker(client, i, start + seconds, counts) for i in range(connections))
            )
            out.put((counts[0], counts[1], time.monotonic() - start, counts[2]))

    asyncio.run(main())


SERVER = """
import json, sys, uvicorn
from pathlib import Path
from registry_service.app import create_app
from registry_service.registry.bootstrap import open_registry
from registry_service.settings import Settings
settings = Settings(data_dir=Path(sys.argv[1]), pii_key=b"bench", **json.loads(sys.argv[3]))
registry, keys = open_registry(settings)
key_id, raw = keys.create("web", "web-platform")
Path(sys.argv[1], "key").write_text(raw)
app = create_app(settings, registry=registry, keystore=keys)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def over_http(count: int, seconds: float, connections: int, stream: str) -> float:
    if stream == "kinesis":
        with tempfile.TemporaryDirectory() as tmp:
            from tests.support.kinesis_local import start_kinesis_local

            kinesis = start_kinesis_local(Path(tmp))
            try:
                name = kinesis.create_stream(shards=4)
                kinesis.create_stream(shards=1, name=f"{name}-dead-letters")
                settings = {
                    "stream": "kinesis",
                    "kinesis_stream": name,
                    "kinesis_endpoint": kinesis.endpoint,
                    "kinesis_region": "us-east-1",
                }
                os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")  # kinesis-local takes any
                os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
                label = "Kinesis (kinesis-local, same machine) through the boto3 sink"
                return _over_http(count, seconds, connections, settings, label)
            finally:
                kinesis.process.terminate()
                kinesis.process.wait(10)
    return _over_http(count, seconds, connections, {}, "local stream with fsync")


def _over_http(
    count: int, seconds: float, connections: int, settings: dict[str, str], label: str
) -> float:
    print(
        f"(b) over HTTP: uvicorn (1 process), {label}, gzip batches of 100, "
        f"{connections} connections, {seconds:.0f} s"
    )
    events = make_events(count, seed=11)
    stamper = Stamper()
    plain = batches(events, 100)
    # Unique visit tokens in every body of the run (not only per pass, as in (a)): enough
    # passes for ~30,000 events/s; a body sent twice is counted and reported.
    passes = max(1, math.ceil(30_000 * seconds / count))
    bodies = [
        gzip.compress(stamper.stamp(b), compresslevel=1) for _ in range(passes) for b in plain
    ]
    warm_up = [gzip.compress(stamper.stamp(b), compresslevel=1) for b in plain[:20]]
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        root = Path(__file__).resolve().parents[1]
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, tmp, str(port), json.dumps(settings)],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        try:
            deadline = time.monotonic() + 60
            import httpx

            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start")
                time.sleep(0.2)
            key = Path(tmp, "key").read_text()
            # Warm-up (validator compilation), then the measured run.
            queue: Any = multiprocessing.Queue()
            _client(f"http://127.0.0.1:{port}", key, warm_up, 1.0, 4, queue)
            queue.get()
            cpu_before = _cpu_seconds(server.pid)
            process = multiprocessing.Process(
                target=_client,
                args=(f"http://127.0.0.1:{port}", key, bodies, seconds, connections, queue),
            )
            process.start()
            accepted_or_rejected, failures, wall, repeated = queue.get()
            process.join()
            cpu = _cpu_seconds(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait(10)
    per_core = accepted_or_rejected / cpu if cpu else 0.0
    print(
        f"  {accepted_or_rejected:,} events answered in {wall:.1f} s wall "
        f"({accepted_or_rejected / wall:,.0f} events/s), server CPU {cpu:.1f} s "
        f"=> {per_core:,.0f} events/s per core (target >= 20,000); non-200 responses: {failures}"
    )
    print(f"    {len(bodies):,} distinct bodies prepared; bodies sent a second time: {repeated:,}")
    return per_core


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument(
        "--stream",
        choices=["local", "kinesis"],
        default="local",
        help="the gateway's stream in (b): local segment files (default) or kinesis-local",
    )
    args = parser.parse_args()
    from refract_sdk import _catalogue

    LATEST_REFS.update(f"{n}/{v}" for n, v in _catalogue.LATEST.items())
    print(f"cores visible: {os.cpu_count()}; python {sys.version.split()[0]}")
    if not args.skip_in_process:
        in_process(args.events, args.seconds)
    if not args.skip_http:
        per_core = over_http(args.events, args.seconds * 2, args.connections, args.stream)
        if per_core:
            fleet = math.ceil(PEAK * HEADROOM / per_core)
            print(
                f"fleet for {PEAK:,} events/s at peak: {PEAK / per_core:.1f} cores at 100% "
                f"=> {fleet} gateway cores (single-worker processes) with 40% headroom"
            )


if __name__ == "__main__":
    main()
