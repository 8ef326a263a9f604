"""Measure the loader on this machine: local stream -> DuckDB, rows per second.

    python3 -m uv run --frozen python -m pipeline.loader.bench --records 200000

Writes N gateway-shaped records (the page_view 2.0.0 contract example, ~1.9 KB each, unique
event ids) to a local stream in a temporary directory, then loads them with `Loader` into a
fresh DuckDB file and prints the rate (wall clock, and per CPU second of this process, which
is steadier on a shared machine), and the rates of reading and parsing alone.
A second pass replays the whole stream into the now full table (all duplicates), which is
the cost of a reset checkpoint.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import orjson

from pipeline.loader.loader import Loader, build_batch
from pipeline.loader.sources import LocalSource
from pipeline.loader.warehouse import open_warehouse
from pipeline.streams import LocalStream, Record

CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "events" / "page_view" / "2.0.0.json"


def write_stream(data_dir: Path, records: int) -> int:
    """N events-stream records shaped as the gateway writes them; returns bytes written."""
    event = orjson.loads(CONTRACT.read_bytes())["examples"][0]
    tail = orjson.dumps(
        {
            "received_at": "2026-03-14T09:26:53.901Z",
            "gateway": {
                "host": "bench",
                "version": "bench",
                "origin": "sdk",
                "producer": {"key_id": "k1", "source": "web", "name": "web-platform"},
                "upcast_from": None,
            },
        }
    )[1:]
    size = 0
    with LocalStream(data_dir / "streams" / "events") as stream:
        for start in range(0, records, 10_000):
            batch = []
            for index in range(start, min(records, start + 10_000)):
                event["event_id"] = f"00000000-0000-4000-8000-{index:012d}"
                event["user"] = {"anonymous_id": f"anon-{index % 5000}"}
                data = b'{"event":' + orjson.dumps(event) + b"," + tail
                size += len(data)
                batch.append(Record(f"anon-{index % 5000}", data))
            stream.put(batch)
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch-records", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="refract-bench-") as scratch:
        data = Path(scratch)
        size = write_stream(data, args.records)
        print(f"{args.records} records, {size / args.records:.0f} bytes each on average")

        source = LocalSource(data)
        started = time.perf_counter()
        reads = source.read({}, args.records)
        read_s = time.perf_counter() - started
        started = time.perf_counter()
        for read in reads:
            build_batch(read)
        parse_s = time.perf_counter() - started
        print(f"read only: {args.records / read_s:,.0f} records/s")
        print(f"parse only: {args.records / parse_s:,.0f} records/s")

        with open_warehouse(data / "warehouse.duckdb") as warehouse:
            loader = Loader(source, warehouse, batch_records=args.batch_records)
            started, cpu = time.perf_counter(), time.process_time()
            loads = loader.load_until_caught_up(max_loads=10**6)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            rows = sum(s.rows_inserted for s in loads)
            print(
                f"load into an empty table: {rows} rows in {elapsed:.2f} s = "
                f"{rows / elapsed:,.0f} rows/s ({len(loads)} loads of <= {args.batch_records}); "
                f"{cpu:.2f} CPU s = {rows / cpu:,.0f} rows per CPU second"
            )
            warehouse.query("DELETE FROM raw.load_checkpoints")
            started = time.perf_counter()
            loads = loader.load_until_caught_up(max_loads=10**6)
            elapsed = time.perf_counter() - started
            replayed = sum(s.records_read for s in loads)
            print(
                f"replay into the full table (all duplicates): {replayed} records in "
                f"{elapsed:.2f} s = {replayed / elapsed:,.0f} records/s, "
                f"{sum(s.rows_inserted for s in loads)} rows inserted"
            )


if __name__ == "__main__":
    main()
