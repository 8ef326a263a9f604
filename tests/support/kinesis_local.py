"""The kinesis-local fixture, registered for the whole suite (tests/conftest.py): one emulator per
test session (per xdist worker), shared by the stream, gateway and pipeline tests.

kinesis-local (tools/kinesis-local, installed by `make setup`) is started on free ports with
its certificate path set (it cannot find it when started outside its package folder), and
stopped at the end. Without it the Kinesis tests skip with the reason, except in CI (CI=true)
where a missing emulator is a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "kinesis-local"
BINARY = TOOLS / "node_modules" / ".bin" / "kinesis-local"
CERTIFICATE = TOOLS / "node_modules" / "kinesis-local" / "server.json"
REGION = "us-east-1"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class KinesisLocal:
    """A running kinesis-local: its endpoint, clients for it and helpers to read it back."""

    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path
    _streams: list[str] = field(default_factory=list)

    def client(self, **config: Any) -> Any:
        return boto3.client(
            "kinesis",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": 1}, **config),
        )

    def create_stream(self, shards: int = 2, name: str | None = None) -> str:
        """A new, ACTIVE stream, by default with a unique name (tests never share stream
        contents)."""
        name = name or f"test-{uuid.uuid4().hex[:12]}"
        client = self.client()
        client.create_stream(StreamName=name, ShardCount=shards)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            summary = client.describe_stream_summary(StreamName=name)
            if summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
                return name
            time.sleep(0.05)
        raise AssertionError(f"stream {name} did not become ACTIVE in 30 s")

    def read_all(self, stream: str) -> list[tuple[str, bytes]]:
        """Every stream record of `stream` as (partition key, data), shard by shard in sequence
        order, as a consumer sees them: KPL aggregates are unpacked (in their order)."""
        from pipeline.streams.aggregation import deaggregate

        out: list[tuple[str, bytes]] = []
        for key, data in self.read_raw(stream):
            parts = deaggregate(data)
            out.extend(parts if parts is not None else [(key, data)])
        return out

    def read_raw(self, stream: str) -> list[tuple[str, bytes]]:
        """Every Kinesis record of `stream` as stored (aggregates not unpacked)."""
        client = self.client()
        out: list[tuple[str, bytes]] = []
        for shard in client.list_shards(StreamName=stream)["Shards"]:
            iterator = client.get_shard_iterator(
                StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                page = client.get_records(ShardIterator=iterator, Limit=10000)
                if not page["Records"]:
                    break
                out.extend((r["PartitionKey"], bytes(r["Data"])) for r in page["Records"])
                iterator = page.get("NextShardIterator")
        return out


def start_kinesis_local(tmp: Path) -> KinesisLocal:
    """Start kinesis-local on free ports under `tmp` (also used by benchmarks/kinesis_sink.py)."""
    plain, tls = _free_port(), _free_port()
    env = {
        **os.environ,
        "KINESIS_MOCK_CERT_PATH": str(CERTIFICATE),
        "KINESIS_MOCK_PLAIN_PORT": str(plain),
        "KINESIS_MOCK_TLS_PORT": str(tls),
        "INITIALIZE_STREAMS": "refract-events:2",
        "CREATE_STREAM_DURATION": "10ms",
        "LOG_LEVEL": "WARN",
    }
    log = tmp / f"kinesis-local-{plain}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(BINARY)], cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = KinesisLocal(f"http://127.0.0.1:{plain}", process, log)
    client = server.client(connect_timeout=1, read_timeout=2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"kinesis-local exited with {process.returncode}: {log.read_text()[-2000:]}"
            )
        try:
            client.describe_stream_summary(StreamName="refract-events")
            return server
        except Exception:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"kinesis-local not ready in 60 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def kinesis_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KinesisLocal]:
    if not BINARY.exists():
        reason = (
            f"kinesis-local is not installed ({BINARY} missing): run "
            "`npm ci --prefix tools/kinesis-local` (part of `make setup`)"
        )
        if in_ci():
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("kinesis-local")
    errors = []
    for _ in range(3):  # a free port can be taken between probing and binding
        try:
            server = start_kinesis_local(tmp)
            break
        except RuntimeError as error:
            errors.append(str(error))
    else:
        pytest.fail("kinesis-local did not start:\n" + "\n".join(errors))
    yield server
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
