"""The unauthenticated gzip bomb of issue 10: time to 401, and /healthz while it is sent.

The request: a 1,992-byte gzip body, ``{"events":[0,0,...]}`` with a million zeros, and no
write key. Before the fix it took 38 s to answer 401 and wrote a million dead letters while
``/healthz`` stalled for 28 s. The gateway now refuses it before reading the body; the unit
tests (tests/gateway/test_unauthenticated.py) prove that structurally (nothing written, the
counter incremented), this script measures it, since timing never belongs in unit tests.

Prints the 401 latency (median, p99, max over --requests sequential requests, one keep-alive
connection), beside the same-run baseline of ``GET /healthz`` on the same connection, and the
``/healthz`` latency measured from a second client while --concurrency clients send the bomb.
Target (issue 10): every 401 within 100 ms.

    uv run python benchmarks/unauthenticated_bomb.py     # --requests N, --concurrency C
"""

from __future__ import annotations

import argparse
import gzip
import logging
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

TARGET_MS = 100.0


def bomb() -> bytes:
    return gzip.compress(b'{"events":[' + b"0," * 999_999 + b"0]}", 9)


def serve(data_dir: Path) -> tuple[str, uvicorn.Server, threading.Thread]:
    from registry_service.app import create_app
    from registry_service.registry.bootstrap import open_registry
    from registry_service.settings import Settings

    settings = Settings(data_dir=data_dir, pii_key=b"bench")
    registry, keys = open_registry(settings)
    app = create_app(settings, registry=registry, keystore=keys)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return url, server, thread


def timed(client: httpx.Client, method: str, url: str, **kwargs: object) -> tuple[float, int]:
    start = time.perf_counter()
    response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
    return (time.perf_counter() - start) * 1000, response.status_code


def summary(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{label:<44} median {statistics.median(ordered):7.2f} ms  p99 {p99:7.2f} ms  "
        f"max {ordered[-1]:7.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    logging.getLogger("refract.gateway").setLevel(logging.ERROR)  # one 401 line per request
    body = bomb()
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    with tempfile.TemporaryDirectory() as tmp:
        url, server, thread = serve(Path(tmp))
        try:
            with httpx.Client(timeout=60) as client:
                bombs, health = [], []
                for _ in range(args.requests):
                    ms, status = timed(
                        client, "POST", f"{url}/v1/events", content=body, headers=headers
                    )
                    assert status == 401, status
                    bombs.append(ms)
                    health.append(timed(client, "GET", f"{url}/healthz")[0])
            stop = threading.Event()

            def attacker() -> None:
                with httpx.Client(timeout=60) as own:
                    while not stop.is_set():
                        own.post(f"{url}/v1/events", content=body, headers=headers)

            attackers = [threading.Thread(target=attacker) for _ in range(args.concurrency)]
            for worker in attackers:
                worker.start()
            under_attack = []
            with httpx.Client(timeout=60) as client:
                for _ in range(args.requests):
                    under_attack.append(timed(client, "GET", f"{url}/healthz")[0])
            stop.set()
            for worker in attackers:
                worker.join()
            written = list((Path(tmp) / "streams").rglob("*.seg"))
            sizes = sum(p.stat().st_size for p in written)
        finally:
            server.should_exit = True
            thread.join(5)
    print(f"gzip bomb: {len(body)} bytes on the wire, 1,000,000 items, no write key")
    print(summary("POST /v1/events (bomb, no key) -> 401", bombs))
    print(summary("GET /healthz (baseline, same connection)", health))
    print(summary(f"GET /healthz while {args.concurrency} clients send the bomb", under_attack))
    print(f"segment bytes on disk afterwards: {sizes} (segment headers only)")
    verdict = "meets" if max(bombs) <= TARGET_MS else "MISSES"
    print(f"target: every 401 within {TARGET_MS:.0f} ms -> {verdict} (max {max(bombs):.2f} ms)")


if __name__ == "__main__":
    main()
