"""The pipeline runner: load the stream into raw.* every few seconds, build the dbt models on a
schedule in two tiers, and say how it went in `<data-dir>/pipeline/status.json`.

Why one thread does both: a DuckDB file admits one writing process, and dbt (run in-process
through dbtRunner) and the loader would otherwise fight for it. So the loop is sequential: a
load step (`Loader.load_once` repeated while it returns full batches, bounded in time), then,
when a build is due, a load step right before it (so it covers what reached the stream up to
its start) and the build. The loader's connection is closed before dbt opens the file.

Why two build tiers: the 3-minute objective (and the 30 s local target) is about
`conformed.referral_events`, and a whole `dbt build` (every model and test) costs 5-15 s here,
most of it work nobody waits for. So:

- the **fresh** tier (`--build-interval`, default 5 s) runs only `dbt run --select
  referral_events` with `lookback_days: 0` (about 1 s): the model's loaded_at rule merges every
  row loaded since its previous build, so the result equals a normal build's;
- the **full** tier (`--full-build-interval`, default 60 s) runs `dbt build`: every model, the
  tests and dq.results, with the project's own vars (its 3-day lookback re-derives recent keys
  again, a safety net for a clock that went backwards).

Either tier runs only when rows arrived since its last successful build (the first full build
runs after the first load regardless, so the models exist). An event then waits about one load
interval plus one fresh interval and a fresh build, or a full build when one is in its way: well
under 30 s, far inside 3 minutes (docs/pipeline.md).

Retention (pipeline/retention.py) runs in the same loop, between loads, once at start and then
every `retention_interval` (default 24 h): raw.* older than 180 days by received_at, the curated
incremental tables older than 3 years by occurred_at; its last outcome is in the status.

A failing load or build is logged, recorded in the status and retried with exponential backoff
(capped); the loop never dies of it. `stop()` is prompt: every wait is on an Event.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pipeline.status import STATUS_VERSION, iso, status_path, utc_now, write_status

log = logging.getLogger("refract.pipeline")

Target = Literal["duckdb", "snowflake"]
Tier = Literal["fresh", "full"]
TIERS: tuple[Tier, ...] = ("fresh", "full")
DEFAULT_BUILD_INTERVAL_S = 5.0
"""Fresh tier: seconds between `dbt run --select referral_events` builds (when rows arrived)."""
DEFAULT_FULL_BUILD_INTERVAL_S = 60.0
"""Full tier: seconds between whole `dbt build`s (when rows arrived)."""
MAX_LOAD_BACKOFF_S = 30.0
MAX_BUILD_BACKOFF_S = 300.0
LOAD_STEP_BUDGET_S = 5.0
"""A load step repeats `load_once` while batches come back full, for at most this long, so a
backlog drains quickly without starving the builds."""
KEPT_ERRORS = 20
DEFAULT_RETENTION_INTERVAL_S = 24 * 3600.0
"""Seconds between applications of retention (the first runs at start)."""
RETENTION_RETRY_S = 60.0
"""A failed retention is tried again after this (doubling, capped at the retention interval)."""


class PipelineConfigError(ValueError):
    """The runner cannot be set up as asked (bad interval, target/warehouse mismatch, ...)."""


@dataclass(frozen=True)
class BuildOutcome:
    """What one dbt build reported (pipeline.dbt.DbtResult, or the exception it raised)."""

    success: bool
    elapsed_s: float
    failures: list[str]


@dataclass
class TierState:
    """One build tier's counters and last builds (status.json `tiers.<tier>`)."""

    builds: int = 0
    failures: int = 0
    seconds: float = 0.0
    last: dict[str, Any] | None = None
    last_successful: dict[str, Any] | None = None
    built_seq: int = -1
    """`load_seq` as it was when this tier's last successful build started (-1: none yet)."""
    unbuilt_since: datetime | None = None
    """When the first rows this tier has not built yet were loaded."""


@dataclass
class RunnerState:
    """What the runner knows, mirrored into status.json after every step."""

    started_at: datetime = field(default_factory=utc_now)
    loads: int = 0
    builds: int = 0
    build_failures: int = 0
    load_failures: int = 0
    rows_total: dict[str, int] = field(default_factory=dict)
    load_seconds: float = 0.0
    """Time spent in load steps since start (with build_seconds: the loop's duty cycle)."""
    build_seconds: float = 0.0
    last_load: dict[str, Any] | None = None
    last_build: dict[str, Any] | None = None
    last_successful_build: dict[str, Any] | None = None
    checkpoints: dict[str, dict[str, str]] = field(default_factory=dict)
    max_received_at: dict[str, str] = field(default_factory=dict)
    stream_lag: dict[str, dict[str, Any]] = field(default_factory=dict)
    unbuilt_since: datetime | None = None
    """When the first rows not yet covered by a successful build were loaded."""
    load_seq: int = 0
    """Increments on every load that inserted rows."""
    built_seq: int = -1
    """`load_seq` as it was when the last successful build of either tier started (-1: none
    yet): every row loaded up to then is queryable in conformed.referral_events."""
    errors: list[dict[str, str]] = field(default_factory=list)
    retentions: int = 0
    retention_failures: int = 0
    last_retention: dict[str, Any] | None = None
    """The last application of retention (RetentionResult.to_json(), or the error)."""
    fresh: TierState = field(default_factory=TierState)
    full: TierState = field(default_factory=TierState)

    def tier(self, name: Tier) -> TierState:
        return self.fresh if name == "fresh" else self.full


class PipelineRunner:
    """Loader + dbt builds on a schedule, for one data directory.

    `data_dir` holds the local streams (read in local mode), the default DuckDB warehouse
    (`<data-dir>/warehouse.duckdb`) and the status file. `stream="kinesis"` reads the Kinesis
    streams named by `settings` (the same REFRACT_STREAM / REFRACT_KINESIS_* configuration as
    `refract serve`). `target="snowflake"` needs `warehouse` to be a `snowflake://` URL.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        load_interval: float = 2.0,
        build_interval: float = DEFAULT_BUILD_INTERVAL_S,
        full_build_interval: float = DEFAULT_FULL_BUILD_INTERVAL_S,
        target: Target = "duckdb",
        warehouse: str | Path | None = None,
        stream: Literal["local", "kinesis"] = "local",
        kinesis_stream: str | None = None,
        kinesis_dead_letter_stream: str | None = None,
        kinesis_region: str | None = None,
        kinesis_endpoint: str | None = None,
        kinesis_client: Any = None,
        batch_records: int = 5000,
        dbt_vars: Mapping[str, Any] | None = None,
        retention_interval: float = DEFAULT_RETENTION_INTERVAL_S,
        raw_retention_days: int = 180,
        curated_retention_days: int = 1095,
    ) -> None:
        if not load_interval > 0:
            raise PipelineConfigError(f"load interval {load_interval} s: must be above 0")
        if not build_interval > 0:
            raise PipelineConfigError(f"build interval {build_interval} s: must be above 0")
        if not full_build_interval > 0:
            raise PipelineConfigError(
                f"full build interval {full_build_interval} s: must be above 0"
            )
        if not retention_interval > 0:
            raise PipelineConfigError(f"retention interval {retention_interval} s: must be above 0")
        from pipeline.retention import RetentionError, check_days

        try:
            check_days(raw_retention_days, curated_retention_days)
        except RetentionError as exc:
            raise PipelineConfigError(str(exc)) from None
        if target not in ("duckdb", "snowflake"):
            raise PipelineConfigError(f"target {target!r}: expected duckdb or snowflake")
        self.data_dir = Path(data_dir)
        self.load_interval = float(load_interval)
        self.build_interval = float(build_interval)
        self.full_build_interval = float(full_build_interval)
        self.retention_interval = float(retention_interval)
        self.raw_retention_days = raw_retention_days
        self.curated_retention_days = curated_retention_days
        self.target: Target = target
        self.warehouse = _warehouse_location(self.data_dir, warehouse, target)
        self.stream = stream
        if stream == "kinesis":
            if not kinesis_stream:
                raise PipelineConfigError(
                    "--stream kinesis needs the events stream name (REFRACT_KINESIS_STREAM)"
                )
            self.kinesis_streams: tuple[str, str] | None = (
                kinesis_stream,
                kinesis_dead_letter_stream or f"{kinesis_stream}-dead-letters",
            )
        elif stream == "local":
            self.kinesis_streams = None
        else:
            raise PipelineConfigError(f"stream {stream!r}: expected local or kinesis")
        self._kinesis = (kinesis_client, kinesis_region, kinesis_endpoint)
        self.batch_records = batch_records
        self.dbt_vars = dict(dbt_vars) if dbt_vars else None
        self.status_file = status_path(self.data_dir)
        self.state = RunnerState()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._hurry = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._source: Any = None
        self._warehouse: Any = None
        self._running = False

    # -- the loop --------------------------------------------------------------------------------

    def run(self) -> None:
        """Loop until `stop()`: load every load interval; a fresh build every build interval and
        a full build every full build interval, each only when rows arrived since its last
        successful build, each right after a load."""
        self._running = True
        now = time.monotonic()
        next_load = next_fresh = next_full = now  # the first (full) build follows the first load
        next_retention = now  # retention first: it owns the warehouse before the first load
        failed = {"load": 0, "fresh": 0, "full": 0, "retention": 0}
        try:
            self._write_status()
            while not self._stop.is_set():
                if time.monotonic() >= next_retention:
                    ok = self.retention_step()
                    failed["retention"] = 0 if ok else failed["retention"] + 1
                    next_retention = time.monotonic() + self._retention_delay(failed["retention"])
                    if self._stop.is_set():
                        break
                hurry = self._take_hurry()
                due = self._due_tier(hurry, next_fresh, next_full)
                if hurry or due or time.monotonic() >= next_load:
                    ok = self.load_step()
                    failed["load"] = 0 if ok else failed["load"] + 1
                    next_load = time.monotonic() + _backoff(
                        self.load_interval, failed["load"], MAX_LOAD_BACKOFF_S
                    )
                if self._stop.is_set():
                    break
                tier = self._due_tier(hurry, next_fresh, next_full)
                if tier is not None:
                    # fixed rate from the build's start: a build that takes longer than the
                    # interval is followed (after one load) by the next, not by a pause
                    build_started = time.monotonic()
                    ok = self.build_step(tier)
                    failed[tier] = 0 if ok else failed[tier] + 1
                    interval = self.build_interval if tier == "fresh" else self.full_build_interval
                    following = build_started + _backoff(
                        interval, failed[tier], MAX_BUILD_BACKOFF_S
                    )
                    if tier == "fresh":
                        next_fresh = following
                    else:
                        next_full = following
                moments = [next_load, next_retention]
                if self._tier_due("full"):
                    moments.append(next_full)
                if self._tier_due("fresh"):
                    moments.append(next_fresh)
                wait = min(moments) - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    self._wake.clear()
        finally:
            self._running = False
            self._close_loader()
            self._write_status()

    def _due_tier(self, hurry: bool, next_fresh: float, next_full: float) -> Tier | None:
        """The build to run now, if any: full before fresh (a full build covers both)."""
        now = time.monotonic()
        if (hurry or now >= next_full) and self._tier_due("full"):
            return "full"
        if now >= next_fresh and self._tier_due("fresh"):
            return "fresh"
        return None

    def run_once(self) -> bool:
        """Apply retention, drain the stream (load until nothing is left), then build; True when
        all three succeeded."""
        self._running = True
        try:
            retained = self.retention_step()
            loaded = True
            while not self._stop.is_set():
                before = self.state.load_seq
                loaded = self.load_step(budget_s=float("inf"))
                if not loaded or self.state.load_seq == before:
                    break
            built = self.build_step("full")
            return retained and loaded and built
        finally:
            self._running = False
            self._close_loader()
            self._write_status()

    def start(self) -> None:
        """Run the loop in a background thread (for LocalStack, the demo, tests)."""
        if self._thread is not None:
            raise RuntimeError("the runner is already started")
        self._thread = threading.Thread(target=self.run, name="refract-pipeline", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 60.0) -> None:
        """Stop the loop (a step in progress finishes first: dbt cannot be interrupted safely)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def hurry(self) -> None:
        """Load now, and run a full build (if rows arrived since the last one) without waiting
        for the intervals."""
        self._hurry = True
        self._wake.set()

    def _take_hurry(self) -> bool:
        hurry, self._hurry = self._hurry, False
        return hurry

    def _tier_due(self, tier: Tier) -> bool:
        """A tier's build is due when rows arrived since its last successful build (the fresh
        tier: since the last successful build of either tier, which both build referral_events).
        The first full build is due even with nothing loaded, so the models exist."""
        state = self.state
        if tier == "fresh":
            return state.built_seq < state.load_seq
        return state.full.built_seq < state.load_seq or state.full.last is None

    # -- waiting for the data --------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[RunnerState], bool], timeout: float) -> bool:
        """Block until `predicate(state)` holds after some step (True) or `timeout` (False)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.state):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 1.0))
        return True

    # -- steps -----------------------------------------------------------------------------------

    def load_step(self, budget_s: float = LOAD_STEP_BUDGET_S) -> bool:
        """`load_once` until the source is caught up or the budget is spent; True if no error."""
        started, begun = time.monotonic(), utc_now()
        rows: dict[str, int] = {}
        read: dict[str, int] = {}
        error: str | None = None
        facts: tuple[dict[str, dict[str, str]], dict[str, dict[str, Any]]] | None = None
        try:
            warehouse = self._open_warehouse()
            try:
                from pipeline.loader.loader import Loader

                loader = Loader(self._open_source(), warehouse, batch_records=self.batch_records)
                while True:
                    stats = loader.load_once()
                    for name, counts in stats.streams.items():
                        key = _stream_key(name, self.kinesis_streams)
                        rows[key] = rows.get(key, 0) + counts.rows_inserted
                        read[key] = read.get(key, 0) + counts.records_read
                    facts = self._facts(stats)
                    if stats.caught_up or self._stop.is_set():
                        break
                    if time.monotonic() - started > budget_s:
                        break
                if sum(rows.values()) or not self.state.max_received_at:
                    self._refresh_freshness(warehouse, begun)
            finally:
                self._release_warehouse(warehouse)
        except Exception as exc:
            error = _one_line(exc)
            log.error("load failed: %s", error)
            log.debug("load failure", exc_info=True)
            self._close_loader()  # a broken connection or source is not reused
        duration = time.monotonic() - started
        with self._changed:
            # checkpoints and load_seq change together: a waiter that sees the checkpoints
            # reach the stream's end must also see the load_seq a later build has to cover
            state = self.state
            if facts is not None:
                state.checkpoints, state.stream_lag = facts
            state.loads += 1
            state.load_seconds += duration
            inserted = sum(rows.values())
            if inserted:
                state.load_seq += 1
                if state.unbuilt_since is None:
                    state.unbuilt_since = begun
                if state.full.unbuilt_since is None:
                    state.full.unbuilt_since = begun
                for name, count in rows.items():
                    state.rows_total[name] = state.rows_total.get(name, 0) + count
            state.last_load = {
                "at": iso(begun),
                "duration_s": round(duration, 3),
                "rows": rows,
                "records_read": read,
                "error": error,
            }
            if error:
                state.load_failures += 1
                self._record_error("load", error)
            elif inserted:
                log.info(
                    "loaded", extra={"rows": rows, "duration_s": state.last_load["duration_s"]}
                )
            self._write_status()
            self._changed.notify_all()
        return error is None

    def build_step(self, tier: Tier = "full") -> bool:
        """One build of `tier`; True when it succeeded. full: `dbt build` (models, tests, dq);
        fresh: `dbt run --select referral_events` with lookback_days 0."""
        self._close_loader()  # dbt opens the DuckDB file itself: one writer at a time
        begun = utc_now()
        seq = self.state.load_seq
        outcome = self._build(tier)
        with self._changed:
            state = self.state
            tiered = state.tier(tier)
            state.builds += 1
            tiered.builds += 1
            state.build_seconds += outcome.elapsed_s
            tiered.seconds += outcome.elapsed_s
            record = {
                "tier": tier,
                "at": iso(begun),
                "finished_at": iso(utc_now()),
                "success": outcome.success,
                "duration_s": round(outcome.elapsed_s, 3),
                "failures": outcome.failures,
            }
            state.last_build = tiered.last = record
            if outcome.success:
                log.info("built", extra={"tier": tier, "duration_s": record["duration_s"]})
                state.built_seq = max(state.built_seq, seq)
                tiered.built_seq = max(tiered.built_seq, seq)
                state.last_successful_build = tiered.last_successful = record
                if state.built_seq >= state.load_seq:
                    state.unbuilt_since = None
                if state.full.built_seq >= state.load_seq:
                    state.full.unbuilt_since = None
            else:
                state.build_failures += 1
                tiered.failures += 1
                self._record_error(f"{tier} build", "; ".join(outcome.failures[:3]) or "failed")
                log.error("dbt %s build failed: %s", tier, "; ".join(outcome.failures[:5]))
            self._write_status()
            self._changed.notify_all()
        return outcome.success

    def retention_step(self) -> bool:
        """Apply retention (pipeline/retention.py) with the runner's days; True if no error.
        Between loads and builds, so the runner owns the DuckDB file while it runs."""
        from pipeline.retention import apply_retention

        begun = utc_now()
        started = time.monotonic()
        record: dict[str, Any]
        try:
            warehouse = self._open_warehouse()
            try:
                result = apply_retention(
                    warehouse, self.raw_retention_days, self.curated_retention_days
                )
            finally:
                self._release_warehouse(warehouse)
            record = result.to_json()
            record["at"] = iso(begun)
        except Exception as exc:
            error = _one_line(exc)
            log.error("retention failed: %s", error)
            log.debug("retention failure", exc_info=True)
            self._close_loader()
            record = {
                "at": iso(begun),
                "raw_days": self.raw_retention_days,
                "curated_days": self.curated_retention_days,
                "deleted": {},
                "skipped": [],
                "duration_s": round(time.monotonic() - started, 3),
                "error": error,
            }
        with self._changed:
            state = self.state
            state.retentions += 1
            state.last_retention = record
            if record["error"]:
                state.retention_failures += 1
                self._record_error("retention", record["error"])
            else:
                log.info("retention applied", extra={"deleted": record["deleted"]})
            self._write_status()
            self._changed.notify_all()
        return record["error"] is None

    def _retention_delay(self, failures: int) -> float:
        """The interval after a success; after failures 60 s, 120 s, ... up to the interval."""
        if failures == 0:
            return self.retention_interval
        return min(self.retention_interval, RETENTION_RETRY_S * 2.0 ** min(failures - 1, 16))

    def _build(self, tier: Tier) -> BuildOutcome:
        started = time.monotonic()
        try:
            from pipeline.dbt import build_models, run_fresh

            path = Path(self.warehouse) if self.target == "duckdb" else None
            if tier == "fresh":
                result = run_fresh(path, target=self.target, vars=self.dbt_vars)
            else:
                result = build_models(path, target=self.target, vars=self.dbt_vars)
        except Exception as exc:
            log.debug("dbt raised", exc_info=True)
            return BuildOutcome(False, time.monotonic() - started, [_one_line(exc)])
        return BuildOutcome(result.success, result.elapsed_s, list(result.failures))

    # -- the loader --------------------------------------------------------------------------------

    def _open_warehouse(self) -> Any:
        """DuckDB: a connection for this load step only (dbt needs the file between steps).
        Snowflake: one connection kept across steps (logging in costs about a second)."""
        from pipeline.loader.warehouse import open_warehouse

        if self._warehouse is not None:
            return self._warehouse
        warehouse = open_warehouse(self.warehouse)
        try:
            warehouse.ensure_raw()
        except BaseException:
            with contextlib.suppress(Exception):
                warehouse.close()
            raise
        if self.target == "snowflake":
            self._warehouse = warehouse
        return warehouse

    def _release_warehouse(self, warehouse: Any) -> None:
        if warehouse is not self._warehouse:
            warehouse.close()

    def _open_source(self) -> Any:
        """The stream source, kept across steps (Kinesis shard iterators live in it)."""
        if self._source is None:
            from pipeline.loader.sources import KinesisSource, LocalSource

            if self.kinesis_streams is None:
                self._source = LocalSource(self.data_dir)
            else:
                client, region, endpoint = self._kinesis
                if client is None:
                    client = kinesis_client(region, endpoint)
                self._source = KinesisSource(client, *self.kinesis_streams)
        return self._source

    def _close_loader(self) -> None:
        source, self._source = self._source, None
        warehouse, self._warehouse = self._warehouse, None
        for closable in (source, warehouse):
            if closable is not None:
                with contextlib.suppress(Exception):
                    closable.close()

    def _facts(self, stats: Any) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, Any]]]:
        """Checkpoints and lag from one LoadStats, keyed by events / dead_letters."""
        checkpoints: dict[str, dict[str, str]] = {}
        for (stream, shard), position in sorted(stats.checkpoints.items()):
            checkpoints.setdefault(_stream_key(stream, self.kinesis_streams), {})[shard] = position
        lag: dict[str, dict[str, Any]] = {}
        for (stream, shard), shard_lag in sorted(stats.lag.items()):
            lag.setdefault(_stream_key(stream, self.kinesis_streams), {})[shard] = {
                "records": shard_lag.records,
                "millis_behind": shard_lag.millis_behind,
            }
        return checkpoints, lag

    def _refresh_freshness(self, warehouse: Any, since: datetime) -> None:
        """Newest received_at per source among rows loaded in this step (all rows on the
        runner's first step), merged into what the runner knew."""
        query = "select source, max(received_at) from raw.events"
        params: list[Any] = []
        if self.state.max_received_at:
            query += " where loaded_at >= ?"
            params.append((since - timedelta(seconds=5)).astimezone(UTC).replace(tzinfo=None))
        newest = dict(self.state.max_received_at)
        for source, moment in warehouse.query(query + " group by source", params):
            if moment is None:
                continue
            text = iso(_as_utc(moment)) or ""
            if text > newest.get(str(source), ""):
                newest[str(source)] = text
        with self._changed:
            self.state.max_received_at = newest

    # -- status ----------------------------------------------------------------------------------

    def _record_error(self, step: str, message: str) -> None:
        self.state.errors.append({"at": iso(utc_now()) or "", "step": step, "message": message})
        del self.state.errors[:-KEPT_ERRORS]

    def status_document(self) -> dict[str, Any]:
        """The status as written to status.json (see docs/pipeline.md for each field)."""
        state, now = self.state, utc_now()
        freshness = {}
        for source, newest in state.max_received_at.items():
            from pipeline.status import parse_time

            moment = parse_time(newest)
            age = (now - moment).total_seconds() if moment else None
            freshness[source] = {
                "max_received_at": newest,
                "age_s": None if age is None else round(age, 3),
            }
        return {
            "version": STATUS_VERSION,
            "state": "running" if self._running else "stopped",
            "pid": os.getpid(),
            "data_dir": str(self.data_dir.resolve()),
            "stream": self.stream,
            "kinesis_streams": list(self.kinesis_streams) if self.kinesis_streams else None,
            "target": self.target,
            "warehouse": _redacted(str(self.warehouse)),
            "load_interval_s": self.load_interval,
            "build_interval_s": self.build_interval,
            "full_build_interval_s": self.full_build_interval,
            "started_at": iso(state.started_at),
            "updated_at": iso(now),
            "loads": state.loads,
            "load_failures": state.load_failures,
            "builds": state.builds,
            "build_failures": state.build_failures,
            "rows_total": state.rows_total,
            "load_seconds_total": round(state.load_seconds, 3),
            "build_seconds_total": round(state.build_seconds, 3),
            "last_load": state.last_load,
            "last_build": state.last_build,
            "last_successful_build": state.last_successful_build,
            "checkpoints": state.checkpoints,
            "stream_lag": state.stream_lag,
            "max_received_at": state.max_received_at,
            "freshness": freshness,
            "unbuilt_since": iso(state.unbuilt_since),
            "tiers": {name: self._tier_document(name) for name in TIERS},
            "retention": {
                "interval_s": self.retention_interval,
                "raw_days": self.raw_retention_days,
                "curated_days": self.curated_retention_days,
                "applied": state.retentions,
                "failures": state.retention_failures,
                "last": state.last_retention,
            },
            "errors": state.errors,
        }

    def _tier_document(self, tier: Tier) -> dict[str, Any]:
        tiered = self.state.tier(tier)
        return {
            "what": (
                "dbt run --select referral_events (lookback_days 0)"
                if tier == "fresh"
                else "dbt build (all models, tests, dq)"
            ),
            "interval_s": self.build_interval if tier == "fresh" else self.full_build_interval,
            "builds": tiered.builds,
            "failures": tiered.failures,
            "seconds_total": round(tiered.seconds, 3),
            "last": tiered.last,
            "last_successful": tiered.last_successful,
            "unbuilt_since": iso(
                self.state.unbuilt_since if tier == "fresh" else tiered.unbuilt_since
            ),
        }

    def _write_status(self) -> None:
        try:
            write_status(self.status_file, self.status_document())
        except OSError as exc:  # the loop goes on; the next step tries again
            log.error("cannot write %s: %s", self.status_file, exc)


def kinesis_client(region: str | None, endpoint: str | None) -> Any:
    """A boto3 Kinesis client configured like the gateway's (region, endpoint, timeouts)."""
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    session = boto3.session.Session()
    return session.client(
        "kinesis",
        region_name=region or session.region_name or "us-east-1",
        endpoint_url=endpoint,
        config=Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=15),
    )


def _warehouse_location(data_dir: Path, warehouse: str | Path | None, target: Target) -> str:
    if warehouse is None:
        if target == "snowflake":
            raise PipelineConfigError(
                "--target snowflake needs --warehouse snowflake://... (the loader's connection)"
            )
        return str((data_dir / "warehouse.duckdb").resolve())
    text = str(warehouse)
    is_snowflake = text.startswith("snowflake://")
    if target == "snowflake" and not is_snowflake:
        raise PipelineConfigError(
            f"--target snowflake loads into Snowflake: --warehouse must be a snowflake:// URL, "
            f"not {text!r}"
        )
    if target == "duckdb" and is_snowflake:
        raise PipelineConfigError("--warehouse snowflake://... needs --target snowflake")
    return text if is_snowflake else str(Path(text).resolve())


def _stream_key(name: str, kinesis: tuple[str, str] | None) -> str:
    """`events` / `dead_letters` for a Kinesis stream name (checkpoints keyed like local)."""
    if kinesis is not None:
        if name == kinesis[0]:
            return "events"
        if name == kinesis[1]:
            return "dead_letters"
    return name


def _as_utc(moment: Any) -> datetime:
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    from pipeline.status import parse_time

    parsed = parse_time(str(moment))
    if parsed is None:
        raise ValueError(f"not a timestamp: {moment!r}")
    return parsed


def _backoff(interval: float, failures: int, cap: float) -> float:
    if failures == 0:
        return interval
    return min(cap, interval * 2.0 ** min(failures, 16))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:500]


def _redacted(location: str) -> str:
    """A warehouse URL without its password (status.json is readable by operators)."""
    if "://" in location and "@" in location:
        scheme, rest = location.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return location


__all__ = ["PipelineConfigError", "PipelineRunner", "RunnerState", "kinesis_client"]
