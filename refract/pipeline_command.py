"""`refract pipeline run` and `refract pipeline status`: the loader and dbt on a schedule.

Registered on the `refract` group in refract/cli.py. `run` loops in the foreground until
SIGINT/SIGTERM (a step in progress finishes first), or with `--once` drains the stream, builds
everything and exits (0 when both succeeded, 1 otherwise). Builds come in two tiers
(pipeline/runner.py): a fresh one that keeps conformed.referral_events current every
`--build-interval`, and a full `dbt build` every `--full-build-interval`. Stream selection is the same as `refract serve`
(flags, else REFRACT_STREAM / REFRACT_KINESIS_*), so a runner beside a gateway reads what the
gateway writes.

Retention (pipeline/retention.py): `run` applies it at start and every `--retention-interval`;
`prune` applies it once, for operators, on a warehouse no runner holds (a running runner owns
the DuckDB file: `prune` says so and exits 2 instead of waiting).

`status` exits 0 when the pipeline is healthy and 1 when it is failing or stale (the rules are
in pipeline/status.py and docs/pipeline.md), so it can serve as a cron or CI probe. Bad input
(a missing data directory, an unreadable status file, bad flags) is one line on stderr, exit 2.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from types import FrameType
from typing import Any

import click

from compat.source import InvalidInput
from refract.stream_options import resolve_settings, stream_options

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Local streams, default warehouse and status file (REFRACT_DATA_DIR, default ./.refract).",
)


@click.group("pipeline")
def pipeline_group() -> None:
    """Load the stream into the warehouse and build the dbt models on a schedule."""


@pipeline_group.command("run")
@_DATA_DIR
@click.option(
    "--load-interval",
    type=click.FloatRange(0, min_open=True),
    default=2.0,
    show_default=True,
    help="Seconds between loads of the stream into raw.*.",
)
@click.option(
    "--build-interval",
    type=click.FloatRange(0, min_open=True),
    default=5.0,
    show_default=True,
    help="Fresh tier: seconds between `dbt run --select referral_events` builds "
    "(only when rows arrived since the last build).",
)
@click.option(
    "--full-build-interval",
    type=click.FloatRange(0, min_open=True),
    default=60.0,
    show_default=True,
    help="Full tier: seconds between whole `dbt build`s: every model, the tests and "
    "dq.results (only when rows arrived since the last one).",
)
@click.option(
    "--retention-interval",
    type=click.FloatRange(0, min_open=True),
    default=24 * 3600.0,
    show_default=True,
    help="Seconds between applications of retention (the first runs at start).",
)
@click.option(
    "--raw-retention-days",
    type=click.IntRange(min=1),
    default=180,
    show_default=True,
    help="raw.events / raw.dead_letters rows received longer ago than this are deleted.",
)
@click.option(
    "--curated-retention-days",
    type=click.IntRange(min=1),
    default=1095,
    show_default=True,
    help="conformed.referral_events / session_events rows that occurred longer ago are deleted.",
)
@click.option("--once", is_flag=True, help="Load everything on the stream, build once, exit.")
@click.option(
    "--warehouse",
    default=None,
    help="DuckDB file (default <data-dir>/warehouse.duckdb) or snowflake://user:pass@account/db.",
)
@click.option(
    "--target",
    type=click.Choice(["duckdb", "snowflake"]),
    default="duckdb",
    show_default=True,
    help="dbt target the models are built on.",
)
@stream_options
def run_command(
    data_dir: Path | None,
    load_interval: float,
    build_interval: float,
    full_build_interval: float,
    retention_interval: float,
    raw_retention_days: int,
    curated_retention_days: int,
    once: bool,
    warehouse: str | None,
    target: str,
    stream: str | None,
    kinesis_stream: str | None,
    kinesis_dead_letter_stream: str | None,
    kinesis_region: str | None,
    kinesis_endpoint: str | None,
    log_level: str,
) -> int:
    """Run the loader and dbt builds until stopped (SIGINT/SIGTERM), or once with --once."""
    from pipeline.runner import PipelineConfigError, PipelineRunner
    from registry_service.gateway.logs import configure_logging

    settings = resolve_settings(
        data_dir=data_dir,
        stream=stream,
        kinesis_stream=kinesis_stream,
        kinesis_dead_letter_stream=kinesis_dead_letter_stream,
        kinesis_region=kinesis_region,
        kinesis_endpoint=kinesis_endpoint,
    )
    directory = settings.data_dir
    if settings.stream == "local":
        _existing_dir(directory)
        if not (directory / "streams").is_dir():
            raise InvalidInput(
                f"{directory}: no local streams here (no streams/ directory); start "
                f"`refract serve --data-dir {directory}` first or pass the gateway's --data-dir"
            )
    elif directory.exists() and not directory.is_dir():
        raise InvalidInput(f"{directory}: not a directory (--data-dir)")
    if warehouse is not None and not warehouse.startswith("snowflake://"):
        parent = Path(warehouse).parent
        if not parent.is_dir():
            raise InvalidInput(f"{warehouse}: directory {parent} does not exist (--warehouse)")
    try:
        runner = PipelineRunner(
            directory,
            load_interval=load_interval,
            build_interval=build_interval,
            full_build_interval=full_build_interval,
            retention_interval=retention_interval,
            raw_retention_days=raw_retention_days,
            curated_retention_days=curated_retention_days,
            target=target,  # type: ignore[arg-type]
            warehouse=warehouse,
            stream=settings.stream,
            kinesis_stream=settings.kinesis_stream,
            kinesis_dead_letter_stream=settings.dead_letter_stream_name,
            kinesis_region=settings.kinesis_region,
            kinesis_endpoint=settings.kinesis_endpoint,
        )
    except PipelineConfigError as exc:
        raise click.UsageError(str(exc)) from None
    configure_logging(log_level)

    def stop(signum: int, _frame: FrameType | None) -> None:
        runner.stop(timeout=0)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if once:
            ok = runner.run_once()
            _emit(_summary(runner.status_document()))
            return EXIT_OK if ok else EXIT_FINDINGS
        runner.run()
        return EXIT_OK
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@pipeline_group.command("status")
@_DATA_DIR
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def status_command(data_dir: Path | None, fmt: str) -> int:
    """Stream lag, last load, last build and freshness; exit 1 when failing or stale."""
    from pipeline.status import (
        FRESHNESS_TARGET_S,
        assess,
        freshness,
        local_lag,
        pid_alive,
        read_status,
        status_path,
        utc_now,
    )
    from registry_service.settings import Settings, SettingsError

    if data_dir is None:
        try:
            data_dir = Settings.from_env().data_dir
        except SettingsError as exc:
            raise click.UsageError(str(exc)) from None
    _existing_dir(data_dir)
    document = read_status(status_path(data_dir))
    now = utc_now()
    lags = None
    if document is None or document.get("stream") == "local":
        checkpoints = (document or {}).get("checkpoints") or {}
        lags = local_lag(data_dir, checkpoints)
    verdict = assess(document, lags, now, alive=pid_alive)
    report: dict[str, Any] = {
        "data_dir": str(data_dir),
        "healthy": verdict.healthy,
        "problems": verdict.problems,
        "freshness_target_s": FRESHNESS_TARGET_S,
        "staleness_s": None if verdict.staleness_s is None else round(verdict.staleness_s, 3),
        "stream_lag": [lag.to_json(now) for lag in lags] if lags is not None else None,
        "freshness": freshness(document, now) if document else {},
        "status": document,
    }
    if fmt == "json":
        _emit(json.dumps(report, indent=2, sort_keys=True))
    else:
        _emit(_status_text(report))
    return EXIT_OK if verdict.healthy else EXIT_FINDINGS


@pipeline_group.command("prune")
@_DATA_DIR
@click.option(
    "--warehouse",
    default=None,
    help="DuckDB file (default <data-dir>/warehouse.duckdb) or snowflake://user:pass@account/db.",
)
@click.option(
    "--raw-days",
    type=click.IntRange(min=1),
    default=180,
    show_default=True,
    help="Delete raw.events / raw.dead_letters rows received longer ago than this.",
)
@click.option(
    "--curated-days",
    type=click.IntRange(min=1),
    default=1095,
    show_default=True,
    help="Delete conformed.referral_events / session_events rows that occurred longer ago.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def prune_command(
    data_dir: Path | None, warehouse: str | None, raw_days: int, curated_days: int, fmt: str
) -> int:
    """Apply retention once: raw rows by received_at, curated history by occurred_at."""
    from pipeline.loader.warehouse import WarehouseError, open_warehouse
    from pipeline.retention import RetentionError, apply_retention
    from registry_service.settings import Settings, SettingsError

    if warehouse is None or not warehouse.startswith("snowflake://"):
        if data_dir is None:
            try:
                data_dir = Settings.from_env().data_dir
            except SettingsError as exc:
                raise click.UsageError(str(exc)) from None
        location = Path(warehouse) if warehouse else data_dir / "warehouse.duckdb"
        if warehouse is None:
            _existing_dir(data_dir)
        if not location.is_file():
            raise InvalidInput(
                f"{location}: no DuckDB warehouse here (--warehouse; the loader creates it)"
            )
        target: str = str(location)
    else:
        target = warehouse
    try:
        with open_warehouse(target) as opened:
            result = apply_retention(opened, raw_days, curated_days)
    except WarehouseError as exc:
        if "lock" in str(exc).lower():
            raise InvalidInput(
                f"{target}: the DuckDB file is locked by another process, most likely a running "
                "`refract pipeline run` (it applies retention itself every "
                "--retention-interval); stop it first, or let it prune"
            ) from None
        raise InvalidInput(" ".join(str(exc).split())) from None
    except RetentionError as exc:
        raise InvalidInput(str(exc)) from None
    report = {"warehouse": opened.description, **result.to_json()}
    if fmt == "json":
        _emit(json.dumps(report, indent=2, sort_keys=True))
    else:
        _emit(_prune_text(report))
    return EXIT_OK


def _prune_text(report: dict[str, Any]) -> str:
    lines = [
        f"retention   {report['warehouse']}: raw older than {report['raw_days']} d "
        f"(received_at < {report['raw_cutoff']}), curated older than {report['curated_days']} d "
        f"(occurred_at < {report['curated_cutoff']})"
    ]
    lines += [f"deleted     {table:<28} {count:,}" for table, count in report["deleted"].items()]
    lines += [
        f"skipped     {table:<28} does not exist yet (no dbt build so far)"
        for table in report["skipped"]
    ]
    return "\n".join(lines)


def _existing_dir(directory: Path) -> None:
    if not directory.exists():
        raise InvalidInput(f"{directory}: no such directory (--data-dir)")
    if not directory.is_dir():
        raise InvalidInput(f"{directory}: not a directory (--data-dir)")


def _summary(document: dict[str, Any]) -> str:
    """One paragraph after `run --once`: what was loaded and built."""
    load = document.get("last_load") or {}
    build = document.get("last_build") or {}
    rows = document.get("rows_total") or {}
    lines = [
        f"loaded {_rows(rows)} in {document.get('loads', 0)} load step(s)"
        + (f"; last load FAILED: {load['error']}" if load.get("error") else ""),
    ]
    retention = (document.get("retention") or {}).get("last")
    if isinstance(retention, dict):
        if retention.get("error"):
            lines.append(f"retention FAILED: {retention['error']}")
        else:
            deleted = ", ".join(f"{t} {n:,}" for t, n in retention.get("deleted", {}).items())
            lines.append(f"retention deleted {deleted or 'nothing'}")
    if build:
        verdict = "ok" if build.get("success") else "FAILED"
        lines.append(f"dbt build {verdict} in {build.get('duration_s', 0):.1f} s")
        lines += [f"  {failure}" for failure in build.get("failures") or []][:20]
    return "\n".join(lines)


def _rows(rows: dict[str, Any]) -> str:
    counted = {stream: int(count) for stream, count in rows.items() if count}
    if not counted:
        return "no new records"
    return ", ".join(f"{count:,} {stream}" for stream, count in sorted(counted.items()))


def _status_text(report: dict[str, Any]) -> str:
    from pipeline.status import parse_time, utc_now

    now = utc_now()
    document = report["status"]

    def ago(text: object) -> str:
        moment = parse_time(text)
        return f"{(now - moment).total_seconds():.0f} s ago" if moment else "never"

    lines: list[str] = []
    if document is None:
        lines.append(f"pipeline    never ran in {report['data_dir']} (no pipeline/status.json)")
    else:
        source = document.get("stream")
        if source == "kinesis":
            source = "kinesis " + ", ".join(document.get("kinesis_streams") or [])
        lines.append(
            f"pipeline    {document.get('state')} (pid {document.get('pid')}), {source} stream "
            f"-> {document.get('target')} {document.get('warehouse')}; "
            f"updated {ago(document.get('updated_at'))}"
        )
        schedule = (
            f"schedule    load every {document.get('load_interval_s')} s, fresh build "
            f"(referral_events) every {document.get('build_interval_s')} s"
        )
        if document.get("full_build_interval_s") is not None:
            schedule += f", full build every {document['full_build_interval_s']} s"
        lines.append(schedule)
    if report["stream_lag"] is not None:
        parts = []
        for lag in report["stream_lag"]:
            behind = f"{lag['records_behind']:,}{'+' if lag['records_behind_capped'] else ''}"
            oldest = lag["oldest_unloaded_age_s"]
            parts.append(
                f"{lag['stream']} {behind} records behind"
                + (f" (oldest {oldest:.0f} s old)" if oldest is not None else "")
            )
        lines.append("stream lag  " + "; ".join(parts))
    elif document is not None:
        shown = ", ".join(
            f"{stream}/{shard} {lag['millis_behind'] / 1000:.1f} s"
            for stream, shards in sorted((document.get("stream_lag") or {}).items())
            for shard, lag in sorted(shards.items())
            if lag.get("millis_behind") is not None
        )
        lines.append(f"stream lag  {shown or 'not reported yet'} (as last reported by the runner)")
    if document is not None:
        load = document.get("last_load")
        if load:
            outcome = f"FAILED: {load['error']}" if load.get("error") else _rows(load["rows"])
            lines.append(
                f"last load   {load['at']} ({ago(load['at'])}), {outcome}, "
                f"{load['duration_s']:.2f} s"
            )
        else:
            lines.append("last load   never")
        tiers = document.get("tiers")
        builds: list[tuple[str, dict[str, Any] | None]] = (
            [(f"last {name}", (tier or {}).get("last")) for name, tier in sorted(tiers.items())]
            if isinstance(tiers, dict)
            else [("last build", document.get("last_build"))]
        )
        for label, build in builds:
            if build:
                outcome = "ok" if build.get("success") else "FAILED"
                lines.append(
                    f"{label:<11} {build['at']} ({ago(build['at'])}), {outcome}, "
                    f"{build['duration_s']:.1f} s"
                )
                lines += [f"            {f}" for f in (build.get("failures") or [])[:5]]
            else:
                lines.append(f"{label:<11} never")
        lines.append(_retention_line(document.get("retention"), ago))
        full = (tiers or {}).get("full") if isinstance(tiers, dict) else None
        if full and full.get("unbuilt_since"):
            lines.append(
                f"full tier   rows waiting for a full build since {ago(full['unbuilt_since'])}"
            )
    target = report["freshness_target_s"]
    for source, fresh in report["freshness"].items():
        age = fresh["age_s"]
        mark = "ok" if fresh["within_target"] else "older than target (quiet source or late)"
        lines.append(f"freshness   {source:<10} newest received {age:,.0f} s ago: {mark}")
    staleness = report["staleness_s"]
    if report["healthy"]:
        lines.append(
            f"health      OK: oldest event not yet queryable {staleness:.0f} s old "
            f"(target {target:.0f} s)"
        )
    else:
        lines += [f"health      PROBLEM: {problem}" for problem in report["problems"]]
    return "\n".join(lines)


def _interval(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "?"
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"


def _retention_line(retention: object, ago: Any) -> str:
    """`retention   <at> (<age>), deleted ...` from status.json's `retention` block."""
    if not isinstance(retention, dict):
        return "retention   not reported by this runner"
    policy = (
        f"raw {retention.get('raw_days')} d, curated {retention.get('curated_days')} d, "
        f"every {_interval(retention.get('interval_s'))}"
    )
    last = retention.get("last")
    if not isinstance(last, dict):
        return f"retention   never applied yet ({policy})"
    if last.get("error"):
        return f"retention   {last.get('at')} ({ago(last.get('at'))}), FAILED: {last['error']}"
    deleted = ", ".join(
        f"{table} {count:,}" for table, count in (last.get("deleted") or {}).items()
    )
    return (
        f"retention   {last.get('at')} ({ago(last.get('at'))}), deleted {deleted or 'nothing'} "
        f"({policy})"
    )


def _emit(text: str) -> None:
    from refract.cli import emit

    emit(text)
