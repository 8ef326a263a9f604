"""Kinesis sink: PutRecords calls, caller CPU and PUT payload units per event, with and without
KPL aggregation, on kinesis-local (started here; tools/kinesis-local, `make setup-test`).

    uv run python benchmarks/kinesis_sink.py        # --batches N --size BYTES

Two traffic shapes of gateway-sized records (2.3 KB, the gateway benchmark's mean event):
  * one user per batch of 100 (an SDK in a browser or an app: the common case);
  * 100 users per batch of 100 (a backend or CRM producer).
Each is written by the sink with aggregation off (one record per key per call, the ordering
rule) and on (the default), in the same run. Figures: PutRecords calls per batch, the caller's
CPU per event (boto3 serialization and signing, our packing), wall time per batch against the
emulator (its latency is not AWS's: compare the two rows, not the absolute), Kinesis records
stored and PUT payload units (each record is billed in 25 KB units).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.streams.base import Record
from pipeline.streams.kinesis import KinesisSink, _make_client
from tests.support.kinesis_local import start_kinesis_local

PUT_UNIT = 25 * 1024


class CountingClient:
    """The boto3 client, counting PutRecords calls and the records they carried."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls = 0
        self.records = 0
        self.units = 0

    def put_records(self, **kwargs: Any) -> Any:
        self.calls += 1
        entries = kwargs["Records"]
        self.records += len(entries)
        self.units += sum(
            math.ceil((len(e["Data"]) + len(e["PartitionKey"])) / PUT_UNIT) for e in entries
        )
        return self._client.put_records(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def batches(count: int, users_per_batch: int, size: int) -> list[list[Record]]:
    out = []
    for b in range(count):
        batch = []
        for i in range(100):
            user = f"user-{b}-{i % users_per_batch}"
            head = f'{{"event":{{"n":{i},"user":"{user}"}},"pad":"'.encode()
            batch.append(Record(user, head + b"x" * (size - len(head) - 2) + b'"}'))
        out.append(batch)
    return out


def run(server: Any, label: str, work: list[list[Record]], aggregate: bool) -> dict[str, float]:
    stream = server.create_stream(shards=4)
    # the client the sink builds for itself (its retry and validation settings)
    client = CountingClient(_make_client("us-east-1", server.endpoint))
    sink = KinesisSink(stream, client=client, aggregate=aggregate)
    sink.put(work[0])  # warm the connection
    client.calls = client.records = client.units = 0
    cpu = time.process_time()
    wall = time.perf_counter()
    for batch in work[1:]:
        sink.put(batch)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    events = 100 * (len(work) - 1)
    figures = {
        "calls": client.calls / (len(work) - 1),
        "cpu": cpu / events * 1e6,
        "wall": wall / (len(work) - 1) * 1e3,
        "records": client.records / events,
        "units": client.units / events,
    }
    print(
        f"  {label:<22} aggregate={'on ' if aggregate else 'off'}  "
        f"{figures['calls']:6.1f} calls/batch  {figures['cpu']:7.1f} µs CPU/event  "
        f"{figures['wall']:8.1f} ms/batch  {figures['records']:.3f} Kinesis records/event  "
        f"{figures['units']:.3f} PUT units/event"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=21)
    parser.add_argument("--size", type=int, default=2_300)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")  # kinesis-local accepts any
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_kinesis_local(Path(tmp))
        try:
            for label, users in (("one user per batch", 1), ("100 users per batch", 100)):
                work = batches(args.batches, users, args.size)
                off = run(server, label, work, aggregate=False)
                on = run(server, label, work, aggregate=True)
                print(
                    f"    aggregation: calls {off['calls'] / on['calls']:.1f}x fewer, "
                    f"CPU {off['cpu'] / on['cpu']:.1f}x less, wall {off['wall'] / on['wall']:.1f}x "
                    f"less, PUT units {off['units'] / on['units']:.1f}x fewer"
                )
        finally:
            server.process.terminate()
            server.process.wait(10)


if __name__ == "__main__":
    main()
