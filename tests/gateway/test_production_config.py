"""`refract serve` in its production configuration, end to end, as real processes.

Everything is configured the way an operator does it (REFRACT_* environment plus flags): the
registry in PostgreSQL (a fresh schema of database `test` per test, put on the search path
through the DSN), the streams in Kinesis (kinesis-local, started once per session by the
stream tests' fixture, reached by boto3 PutRecords with dummy credentials), write keys created
with `refract keys create` against the same database, events sent with the real refract_sdk
Emitter. What reaches the streams is read back with boto3 GetRecords, shard by shard, and the
registry's tables are queried directly.

Without kinesis-local or PostgreSQL these tests skip locally and fail with CI=true (the
convention of tests/support/kinesis_local.py and tests/registry/conftest.py).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import httpx
import psycopg
import pytest
from botocore.config import Config  # type: ignore[import-untyped]
from psycopg import sql as pgsql
from refract_sdk import Emitter

from registry_service.settings import Settings, SettingsError
from tests.gateway.conftest import example
from tests.registry.conftest import PG_DSN, pg_schema_name, require_pg
from tests.support.kinesis_local import KinesisLocal

REFRACT = Path(sys.executable).parent / "refract"
ADMIN_TOKEN = "production-admin-token"
PII_KEY = "production-pii-key"
# Not the fixture's us-east-1: records only arrive if REFRACT_KINESIS_REGION is really used
# (kinesis-local keeps streams per region).
REGION = "eu-west-1"
CONTRACT_EVENTS = sorted(
    p.name for p in (Path(__file__).resolve().parents[2] / "contracts" / "events").iterdir()
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


# -- PostgreSQL -----------------------------------------------------------------------------------


@dataclass
class PgSchema:
    """A fresh schema in database `test` and a DSN that puts it first on the search path."""

    name: str
    dsn: str

    def query(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn) as connection:
            return connection.execute(statement, params).fetchall()


@pytest.fixture
def pg_schema() -> Iterator[PgSchema]:
    require_pg()
    name = pg_schema_name()
    with psycopg.connect(PG_DSN, autocommit=True) as connection:
        connection.execute(pgsql.SQL("CREATE SCHEMA {}").format(pgsql.Identifier(name)))
    separator = "&" if "?" in PG_DSN else "?"
    try:
        yield PgSchema(name, f"{PG_DSN}{separator}options=-csearch_path%3D{name}")
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as connection:
            connection.execute(
                pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(name))
            )


# -- Kinesis --------------------------------------------------------------------------------------


@dataclass
class Streams:
    """The events stream and its dead-letter stream, named as the settings expect."""

    kinesis: KinesisLocal
    events: str
    region: str = REGION

    @property
    def dead_letters(self) -> str:
        return f"{self.events}-dead-letters"  # Settings.dead_letter_stream_name's default

    def client(self) -> Any:
        return boto3.client(
            "kinesis",
            endpoint_url=self.kinesis.endpoint,
            region_name=self.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": 1}),
        )

    def read(self, stream: str) -> list[tuple[str, dict[str, Any]]]:
        """Every record of `stream` as (partition key, JSON body), over all shards."""
        client = self.client()
        found: list[tuple[str, dict[str, Any]]] = []
        shards = client.list_shards(StreamName=stream)["Shards"]
        for shard in shards:
            iterator = client.get_shard_iterator(
                StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                page = client.get_records(ShardIterator=iterator, Limit=10_000)
                if not page["Records"]:
                    break
                found.extend((r["PartitionKey"], json.loads(r["Data"])) for r in page["Records"])
                iterator = page.get("NextShardIterator")
        return found


def _create_stream(client: Any, name: str, shards: int) -> None:
    client.create_stream(StreamName=name, ShardCount=shards)
    wait_for(
        f"stream {name} ACTIVE",
        lambda: (
            client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
                "StreamStatus"
            ]
            == "ACTIVE"
        ),
        timeout=30,
    )


@pytest.fixture
def streams(kinesis_local: KinesisLocal) -> Iterator[Streams]:
    created = Streams(kinesis_local, f"refract-{uuid.uuid4().hex[:10]}")
    client = created.client()
    _create_stream(client, created.events, 2)
    _create_stream(client, created.dead_letters, 1)
    yield created
    for name in (created.events, created.dead_letters):
        client.delete_stream(StreamName=name, EnforceConsumerDeletion=True)


# -- refract serve as processes -------------------------------------------------------------------


def base_env(data_dir: Path, **variables: str) -> dict[str, str]:
    """The test runner's environment without REFRACT_*/AWS_* leftovers, plus `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFRACT_", "AWS_", "BOTO"))}
    env.update(
        REFRACT_DATA_DIR=str(data_dir),
        REFRACT_ADMIN_TOKEN=ADMIN_TOKEN,
        REFRACT_PII_KEY=PII_KEY,
        # dummy credentials, and nothing read from the developer's ~/.aws
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_CONFIG_FILE=str(data_dir / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(data_dir / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(variables)
    return env


def kinesis_env(streams: Streams, data_dir: Path, **variables: str) -> dict[str, str]:
    return base_env(
        data_dir,
        REFRACT_STREAM="kinesis",
        REFRACT_KINESIS_STREAM=streams.events,
        REFRACT_KINESIS_REGION=streams.region,
        REFRACT_KINESIS_ENDPOINT=streams.kinesis.endpoint,
        **variables,
    )


@dataclass
class Server:
    """One `refract serve` process on its own port; its stderr (JSON logs) goes to a file."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60.0, probe: str = "/readyz") -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"refract serve exited with {self.process.returncode}:\n{self.logs()[-3000:]}"
                )
            try:
                return httpx.get(f"{self.url}{probe}", timeout=3).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(f"{self.url}{probe}", ready, timeout)

    def wait_live(self, timeout: float = 60.0) -> None:
        """Serving requests, though possibly not ready (a stream may be down on purpose)."""
        self.wait_ready(timeout, probe="/healthz")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Fleet:
    """Starts `refract serve` processes and stops every one of them at teardown."""

    tmp: Path
    servers: list[Server] = field(default_factory=list)

    def start(self, env: dict[str, str], *flags: str) -> Server:
        port = _free_port()
        log = self.tmp / f"serve-{port}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [str(REFRACT), "serve", "--port", str(port), "--log-level", "info", *flags],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(f"http://127.0.0.1:{port}", process, log)
        self.servers.append(server)
        return server

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    started = Fleet(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def create_key(env: dict[str, str], producer: str, *flags: str) -> tuple[str, str]:
    """`refract keys create` as an operator runs it: (key id, raw key)."""
    done = subprocess.run(
        [str(REFRACT), "keys", "create", "--source", "web", "--producer", producer, *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    raw = done.stdout.strip()
    assert raw.startswith("rfk_"), done.stdout
    return raw.split("_")[1], raw


# -- events ---------------------------------------------------------------------------------------


def page_view(user_id: str | None = None) -> dict[str, Any]:
    """A fresh page_view/2.0.0 (new ids; the dedup key is left to the SDK or the gateway)."""
    event = example("page_view", "2.0.0")
    event["event_id"] = str(uuid.uuid4())
    event["page"]["view_id"] = str(uuid.uuid4())
    event["user"] = {"anonymous_id": f"anon-{uuid.uuid4().hex[:12]}"}
    if user_id is not None:
        event["user"]["user_id"] = user_id
    event.pop("dedup_key", None)
    return event


def legacy_page_view() -> dict[str, Any]:
    event = example("page_view", "1.1.0")
    event["event_id"] = str(uuid.uuid4())
    event["user_id"] = f"usr_{uuid.uuid4().hex[:16]}"
    return event


def post(url: str, key: str, *events: dict[str, Any], timeout: float = 20) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/events",
        json={"events": list(events)},
        headers={"Authorization": f"Bearer {key}"},
        timeout=timeout,
    )


class Errors:
    """An Emitter's on_error callback, collecting (event_id, reason, message)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[str, str, str]] = []

    def __call__(self, event: Any, reason: str, message: str) -> None:
        with self.lock:
            self.seen.append((event["event_id"], reason, message))

    def snapshot(self) -> list[tuple[str, str, str]]:
        with self.lock:
            return list(self.seen)


def expected_key(event: dict[str, Any]) -> str:
    """docs/streams.md: user id, else anonymous id (of the upcast event)."""
    user = event["user"]
    return str(user.get("user_id") or user["anonymous_id"])


# -- 0. the settings an operator gives ------------------------------------------------------------


def test_production_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "REFRACT_STREAM": "Kinesis",
            "REFRACT_KINESIS_STREAM": "refract-events",
            "REFRACT_KINESIS_REGION": "eu-west-1",
            "REFRACT_KINESIS_ENDPOINT": "http://127.0.0.1:4568",
            "REFRACT_KINESIS_MAX_RETRY_SECONDS": "2.5",
            "REFRACT_REGISTRY_DSN": "postgresql://refract@db:5432/refract",
            "REFRACT_ADMIN_TOKEN": ADMIN_TOKEN,
        }
    ).with_overrides(port=9000, host=None)
    assert settings.stream == "kinesis"
    assert settings.kinesis_stream == "refract-events"
    assert settings.dead_letter_stream_name == "refract-events-dead-letters"
    assert (settings.kinesis_region, settings.kinesis_endpoint) == (
        "eu-west-1",
        "http://127.0.0.1:4568",
    )
    assert settings.kinesis_max_retry_seconds == 2.5
    assert settings.registry_dsn == "postgresql://refract@db:5432/refract"
    assert (settings.port, settings.host) == (9000, "127.0.0.1"), "flags win, unset flags don't"
    assert ADMIN_TOKEN not in repr(settings) and settings.admin_token_matches(ADMIN_TOKEN)
    assert (
        Settings.from_env({}).kinesis_max_retry_seconds == 4.0
    )  # twice this stays under the SDK's 10 s request timeout
    with pytest.raises(SettingsError, match="REFRACT_KINESIS_MAX_RETRY_SECONDS"):
        Settings.from_env({"REFRACT_KINESIS_MAX_RETRY_SECONDS": "soon"})
    with pytest.raises(SettingsError, match="REFRACT_KINESIS_STREAM"):
        Settings.from_env({"REFRACT_STREAM": "kinesis"})


# -- 1. the production configuration, end to end ---------------------------------------------------


@pytest.mark.parametrize(
    ("store", "configured_by"), [("postgres", "flags"), ("sqlite", "environment")]
)
def test_kinesis_and_registry_store_end_to_end(
    store: str,
    configured_by: str,
    streams: Streams,
    fleet: Fleet,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    data_dir = tmp_path / "data"
    pg: PgSchema | None = request.getfixturevalue("pg_schema") if store == "postgres" else None
    flags: list[str] = []
    if configured_by == "environment":
        env = kinesis_env(streams, data_dir)
        if pg is not None:
            env["REFRACT_REGISTRY_DSN"] = pg.dsn
    else:
        # Flags win over the environment: these variables name nothing that exists.
        env = base_env(
            data_dir,
            REFRACT_STREAM="local",
            REFRACT_KINESIS_STREAM="not-this-stream",
            REFRACT_KINESIS_DEAD_LETTER_STREAM="not-these-dead-letters",
            REFRACT_KINESIS_REGION="us-east-1",
            REFRACT_REGISTRY_DSN="postgresql://nobody@127.0.0.1:1/nothing",
        )
        flags = [
            "--data-dir",
            str(data_dir),
            "--stream",
            "kinesis",
            "--kinesis-stream",
            streams.events,
            "--kinesis-dead-letter-stream",
            streams.dead_letters,
            "--kinesis-region",
            streams.region,
            "--kinesis-endpoint",
            streams.kinesis.endpoint,
        ]
        if pg is not None:
            flags += ["--registry-dsn", pg.dsn]
    server = fleet.start(env, *flags)
    server.wait_ready()
    key_flags = ["--dsn", pg.dsn] if pg is not None and configured_by == "flags" else []
    key_id, write_key = create_key(env, "web-platform", *key_flags)

    errors = Errors()
    emitter = Emitter(
        server.url,
        write_key,
        flush_interval=0.05,
        on_error=errors,
        team="web-platform",
        app="promptflow-web",
    )
    sent = []
    for i in range(30):
        event = legacy_page_view() if i % 5 == 0 else page_view(f"usr_{i}" if i % 3 else None)
        sent.append(event)
        emitter.track(event)
    invalid = page_view()
    invalid["page"]["url"] = "not a url"
    emitter.track(invalid)
    assert emitter.flush(timeout=30) == 0
    emitter.close()

    # Acknowledged means in the stream: read right after the flush, without waiting.
    records = streams.read(streams.events)
    by_id = {body["event"]["event_id"]: (key, body) for key, body in records}
    assert sorted(by_id) == sorted(e["event_id"] for e in sent), "every accepted event, once"
    assert len(records) == len(sent)
    for event in sent:
        key, body = by_id[event["event_id"]]
        stored = body["event"]
        assert stored["schema"] == "page_view/2.0.0"
        assert key == expected_key(stored)
        assert stored["referral"]["classification"]["channel"]
        assert body["received_at"].endswith("Z")
        gateway = body["gateway"]
        assert gateway["origin"] == "sdk"
        assert gateway["version"].startswith("refract-gateway/")
        assert gateway["host"]
        assert gateway["producer"] == {"key_id": key_id, "source": "web", "name": "web-platform"}
        legacy = event["schema"] == "page_view/1.1.0"
        assert gateway["upcast_from"] == ("page_view/1.1.0" if legacy else None)
        if legacy:
            assert key == event["user_id"], "a legacy event is keyed by its upcast user id"
        else:
            assert stored["privacy"]["ip_address"] == "203.0.113.0", "PII rules applied"
    assert {key for key, _ in records} >= {"usr_1", "usr_2"}

    assert [(e[0], e[1]) for e in errors.snapshot()] == [(invalid["event_id"], "schema_violation")]
    [(letter_key, letter)] = streams.read(streams.dead_letters)
    assert letter_key == invalid["event_id"]
    assert letter["reason"] == "schema_violation"
    assert "/page/url" in letter["message"]
    assert letter["payload"]["event_id"] == invalid["event_id"]
    assert letter["payload"]["page"]["url"] == "not a url", "the payload as sent"
    assert letter["producer"] == {"key_id": key_id, "source": "web", "name": "web-platform"}

    ready = httpx.get(f"{server.url}/readyz").json()
    assert ready["checks"]["registry"].startswith("ok (generation")
    secret = write_key.split("_", 2)[2]
    if pg is not None:
        # The registry lives in PostgreSQL, and only there.
        versions = pg.query(
            "SELECT semver FROM registry_versions WHERE subject = 'page_view' ORDER BY version"
        )
        assert [v for (v,) in versions] == ["1.0.0", "1.1.0", "2.0.0"]
        subjects = pg.query("SELECT name FROM registry_subjects WHERE name <> '' ORDER BY name")
        assert [s for (s,) in subjects] == CONTRACT_EVENTS
        [row] = pg.query("SELECT * FROM registry_keys")
        assert row[:3] == (key_id, "web", "web-platform")
        assert hashlib.sha256(secret.encode()).hexdigest() in row
        assert not any(secret in str(value) or write_key in str(value) for value in row)
        assert not (data_dir / "registry.db").exists(), "no SQLite fallback"
        assert not data_dir.exists() or not any(data_dir.iterdir()), "the replica is stateless"
    else:
        assert (data_dir / "registry.db").exists()
    assert not (data_dir / "streams").exists(), "no local streams with REFRACT_STREAM=kinesis"


# -- 2. Kinesis unavailable ------------------------------------------------------------------------


def test_kinesis_unreachable_answers_503_and_the_sdk_keeps_the_events(
    fleet: Fleet, tmp_path: Path, kinesis_local: KinesisLocal
) -> None:
    closed = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    data_dir = tmp_path / "data"
    env = base_env(
        data_dir,
        REFRACT_STREAM="kinesis",
        REFRACT_KINESIS_STREAM="refract-events",
        REFRACT_KINESIS_REGION=REGION,
        REFRACT_KINESIS_ENDPOINT=closed,
        REFRACT_KINESIS_MAX_RETRY_SECONDS="0.5",
    )
    server = fleet.start(env)
    server.wait_live()
    readiness = httpx.get(f"{server.url}/readyz", timeout=5)
    assert readiness.status_code == 503, readiness.text
    assert readiness.json()["checks"]["events"].startswith("unavailable")
    _, write_key = create_key(env, "web-platform", "--data-dir", str(data_dir))

    started = time.monotonic()
    # 10 s: the SDK's default request timeout; a later 503 would never reach a producer.
    response = post(server.url, write_key, page_view(), timeout=10)
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"] == "sink_unavailable"
    assert "results" not in response.json(), "nothing acknowledged"
    # Both streams are tried (the events, then the rescue into dead letters), each bounded
    # by REFRACT_KINESIS_MAX_RETRY_SECONDS: the answer does not wait for the 30 s default.
    assert elapsed < 8, f"503 took {elapsed:.1f} s"
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'refract_gateway_sink_failures_total{stream="events"}' in metrics
    assert "refract_gateway_events_accepted_total{" not in metrics

    # The SDK keeps the events while it retries (honouring Retry-After), then reports them.
    errors = Errors()
    emitter = Emitter(
        server.url,
        write_key,
        flush_interval=0.05,
        max_retry_time=3.0,
        backoff_base=0.1,
        on_error=errors,
        team="web-platform",
        app="promptflow-web",
    )
    events = [page_view() for _ in range(3)]
    for event in events:
        emitter.track(event)
    assert emitter.flush(timeout=1.0) == 3, "still pending: kept for another attempt"
    reported = wait_for("the SDK to give up", lambda: len(errors.snapshot()) == 3, 15)
    assert reported
    assert sorted((e[0], e[1]) for e in errors.snapshot()) == sorted(
        (e["event_id"], "retries_exhausted") for e in events
    )
    assert all("sink_unavailable" in e[2] or "503" in e[2] for e in errors.snapshot())
    emitter.close(timeout=1)


def test_a_missing_events_stream_answers_503_and_rescues_into_dead_letters(
    kinesis_local: KinesisLocal, fleet: Fleet, tmp_path: Path
) -> None:
    # Only the dead-letter stream exists: PutRecords on the events stream is refused at once
    # (ResourceNotFoundException is not retried) and the events are kept as dead letters.
    streams = Streams(kinesis_local, f"refract-missing-{uuid.uuid4().hex[:8]}")
    _create_stream(streams.client(), streams.dead_letters, 1)
    data_dir = tmp_path / "data"
    env = kinesis_env(streams, data_dir)
    server = fleet.start(env)
    server.wait_live()
    readiness = httpx.get(f"{server.url}/readyz", timeout=5).json()
    assert readiness["checks"]["events"].startswith("unavailable")
    assert readiness["checks"]["dead_letters"] == "ok"
    key_id, write_key = create_key(env, "web-platform", "--data-dir", str(data_dir))
    event = page_view()
    response = post(server.url, write_key, event)
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "2"
    [(key, letter)] = streams.read(streams.dead_letters)
    assert letter["reason"] == "sink_unavailable"
    assert letter["payload"]["event_id"] == event["event_id"]
    assert letter["producer"]["key_id"] == key_id
    assert key == event["event_id"], "dead letters are keyed by event_id (docs/dead-letters.md)"


# -- 3. two replicas, one registry, one stream ------------------------------------------------------


def minor_2_1_0(schema: dict[str, Any]) -> dict[str, Any]:
    """page_view 2.1.0: the bundled 2.0.0 plus one optional top-level field."""
    newer = copy.deepcopy(schema)
    newer["properties"]["schema"]["default"] = "page_view/2.1.0"
    newer["properties"]["experiment"] = {
        "description": "The A/B experiment arm the page was rendered for.",
        "type": "string",
        "maxLength": 64,
    }
    newer.pop("examples", None)
    return newer


def test_two_replicas_share_the_registry_and_the_stream(
    pg_schema: PgSchema, streams: Streams, fleet: Fleet, tmp_path: Path
) -> None:
    # Both replicas start together on an empty schema: both try the first-start load.
    envs = [
        kinesis_env(
            streams,
            tmp_path / f"replica-{name}",
            REFRACT_REGISTRY_DSN=pg_schema.dsn,
            REFRACT_SCHEMA_REFRESH_SECONDS="0.5",
            REFRACT_NEGATIVE_CACHE_SECONDS="0.5",
        )
        for name in ("a", "b")
    ]
    a, b = (fleet.start(env) for env in envs)
    a.wait_ready()
    b.wait_ready()
    versions = pg_schema.query(
        "SELECT semver FROM registry_versions WHERE subject = 'page_view' ORDER BY version"
    )
    assert [v for (v,) in versions] == ["1.0.0", "1.1.0", "2.0.0"], "loaded once"
    _, write_key = create_key(envs[0], "web-platform")

    # Both accept events into the one stream.
    first, second = page_view("usr_a"), page_view("usr_b")
    for server, event in ((a, first), (b, second)):
        response = post(server.url, write_key, event)
        assert response.status_code == 200, response.text
        assert response.json()["results"][0]["status"] == "accepted"

    # B does not know 2.1.0 yet.
    early = page_view("usr_c") | {"schema": "page_view/2.1.0", "experiment": "arm-b"}
    refused = post(b.url, write_key, early).json()["results"][0]
    assert refused["reason"] == "unknown_version", refused

    # Registered through A's registry API (admin token) ...
    schema = httpx.get(f"{a.url}/subjects/page_view/versions/latest/schema").json()
    body = {"schemaType": "JSON", "schema": json.dumps(minor_2_1_0(schema))}
    anonymous = httpx.post(f"{a.url}/subjects/page_view/versions", json=body)
    assert anonymous.status_code in (401, 403)
    registered = httpx.post(
        f"{a.url}/subjects/page_view/versions",
        json=body,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=60,
    )
    assert registered.status_code == 200, registered.text

    # ... B validates with it after its refresh: accepted, and a wrong type is refused.
    newer = page_view("usr_d") | {"schema": "page_view/2.1.0", "experiment": "arm-b"}

    def accepted_by_b() -> bool:
        result = post(b.url, write_key, newer | {"event_id": str(uuid.uuid4())})
        outcome = result.json()["results"][0]
        if outcome["status"] == "accepted":
            newer["event_id"] = outcome["event_id"]
            return True
        assert outcome["reason"] == "unknown_version", outcome
        return False

    wait_for("replica B to accept page_view/2.1.0", accepted_by_b, 10)
    wrong = newer | {"event_id": str(uuid.uuid4()), "experiment": 7}
    outcome = post(b.url, write_key, wrong).json()["results"][0]
    assert outcome["reason"] == "schema_violation", outcome
    assert "/experiment" in outcome["message"]

    records = {body["event"]["event_id"]: body for _, body in streams.read(streams.events)}
    assert first["event_id"] in records and second["event_id"] in records
    stored = records[newer["event_id"]]
    assert stored["event"]["schema"] == "page_view/2.1.0", "a newer minor passes through"
    assert stored["event"]["experiment"] == "arm-b"
    assert stored["gateway"]["upcast_from"] is None

    # Deleted through A: B drops its compiled validator when the registry generation moves.
    version = httpx.get(f"{a.url}/subjects/page_view/versions/latest").json()["version"]
    assert version == 4
    deleted = httpx.delete(
        f"{a.url}/subjects/page_view/versions/{version}",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert deleted.status_code == 200, deleted.text

    def refused_by_b() -> bool:
        result = post(b.url, write_key, newer | {"event_id": str(uuid.uuid4())})
        return bool(result.json()["results"][0].get("reason") == "unknown_version")

    wait_for("replica B to forget the deleted page_view/2.1.0", refused_by_b, 10)
