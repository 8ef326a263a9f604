"""Run the warehouse's dbt project (warehouse/) in this process.

The runner builds the models between loads in the same process that holds the DuckDB file, so
dbt runs through its programmatic `dbtRunner` rather than a subprocess: no second writer on the
file, no interpreter start-up per build. The warehouse path reaches profiles.yml through
REFRACT_WAREHOUSE_PATH (profiles only read the environment), set for the duration of one
invocation under a lock. dbt's target/ and logs/ go next to the warehouse file when a path is
given, so builds of different warehouses never share partial-parse state.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1] / "warehouse"
TARGETS = ("duckdb", "snowflake", "fakesnow")

# dbt keeps process-wide state (flags, adapters, the event manager): one invocation at a time.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class DbtResult:
    """What one dbt invocation did: overall success, wall time, and one line per failure."""

    success: bool
    elapsed_s: float
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class DbtError(RuntimeError):
    """dbt cannot be invoked as asked (unknown target, missing project)."""


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _node_name(result: Any) -> str:
    node = getattr(result, "node", None)
    if node is None:
        return "dbt"
    resource = getattr(node, "resource_type", "")
    kind = str(getattr(resource, "value", resource) or "node")
    return f"{kind} {getattr(node, 'name', '?')}"


def _outcomes(result: Any) -> tuple[list[str], list[str]]:
    """(failures, warnings) of a dbt RunExecutionResult, one line each."""
    failures: list[str] = []
    warnings: list[str] = []
    for item in getattr(result, "results", None) or []:
        status = str(getattr(getattr(item, "status", ""), "value", getattr(item, "status", "")))
        message = _one_line(getattr(item, "message", "") or status)
        line = f"{_node_name(item)}: {message}"
        if status in ("error", "fail", "runtime error"):
            failures.append(line)
        elif status == "warn":
            warnings.append(line)
    return failures, warnings


def _release_duckdb() -> None:
    """Close the DuckDB connection dbt-duckdb keeps in a class attribute after an invocation:
    the file admits one writing process, and the loader opens it right after a build. (Its own
    close_all_connections only drops the reference and leaves the close to the collector.)"""
    try:
        connections: Any = importlib.import_module("dbt.adapters.duckdb.connections")
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    manager = connections.DuckDBConnectionManager
    with manager._LOCK:
        environment = manager._ENV
        manager._ENV = None
    if environment is not None:
        environment.close()


def run_dbt(
    args: list[str],
    *,
    target: str = "duckdb",
    warehouse_path: Path | None = None,
    vars: dict[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    project_dir: Path | None = None,
    state_name: str | None = None,
) -> DbtResult:
    """Invoke `dbt <args>` on warehouse/ (or `project_dir`) against `target`; never raises for
    dbt's own errors (they come back in `failures`). `warehouse_path` is the DuckDB file.
    `state_name` gives the invocation its own target directory (`target/<state_name>`): dbt
    re-parses the whole project when the vars differ from the saved partial-parse state, so
    invocations that always pass other vars (the runner's fresh tier) keep a state of their own."""
    if target not in TARGETS:
        raise DbtError(f"unknown dbt target {target!r}: expected one of {', '.join(TARGETS)}")
    project = Path(project_dir or PROJECT_DIR)
    if not (project / "dbt_project.yml").is_file():
        raise DbtError(f"{project}: no dbt_project.yml")
    from dbt.cli.main import dbtRunner

    values: dict[str, str] = dict(env or {})
    work_dir = project
    if warehouse_path is not None:
        warehouse_path = Path(warehouse_path).resolve()
        values["REFRACT_WAREHOUSE_PATH"] = str(warehouse_path)
        work_dir = warehouse_path.parent / "dbt"
    command = [
        *args,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target",
        target,
        "--target-path",
        str(work_dir / "target" / state_name if state_name else work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
    ]
    if vars:
        command += ["--vars", json.dumps(vars)]
    started = time.monotonic()
    with _LOCK, _environment(values):
        try:
            outcome = dbtRunner().invoke(command)
        finally:
            if target == "duckdb":
                _release_duckdb()
    elapsed = time.monotonic() - started
    failures, warnings = _outcomes(outcome.result)
    if outcome.exception is not None:
        failures.append(f"dbt: {_one_line(str(outcome.exception))}")
    if not outcome.success and not failures:
        failures.append(f"dbt: {' '.join(args)} failed (see {work_dir / 'logs'})")
    return DbtResult(
        success=bool(outcome.success), elapsed_s=elapsed, failures=failures, warnings=warnings
    )


def build_models(
    warehouse_path: Path | None,
    full_refresh: bool = False,
    *,
    target: str = "duckdb",
    vars: dict[str, Any] | None = None,
) -> DbtResult:
    """`dbt build` (seeds, models and their tests) — incremental unless `full_refresh`."""
    args = ["build", "--quiet", "--no-use-colors"]
    if full_refresh:
        args.append("--full-refresh")
    return run_dbt(args, target=target, warehouse_path=warehouse_path, vars=vars)


FRESH_SELECT = ("referral_events",)
"""What the runner's fresh tier builds: the table the 3-minute objective is about."""
FRESH_VARS: dict[str, Any] = {"lookback_days": 0}
"""The fresh tier's vars: the loaded_at rule alone picks up every row loaded since the previous
build (docs/warehouse.md), so the received_at lookback only costs time there."""


def run_fresh(
    warehouse_path: Path | None,
    *,
    target: str = "duckdb",
    vars: dict[str, Any] | None = None,
    select: tuple[str, ...] = FRESH_SELECT,
) -> DbtResult:
    """`dbt run --select referral_events` with `lookback_days: 0` (over `vars`): no tests, no
    downstream models. Its own partial-parse state (`target/fresh`), so alternating with
    `build_models` never forces a full re-parse."""
    args = ["run", "--quiet", "--no-use-colors", "--select", *select]
    return run_dbt(
        args,
        target=target,
        warehouse_path=warehouse_path,
        vars={**(vars or {}), **FRESH_VARS},
        state_name="fresh",
    )
