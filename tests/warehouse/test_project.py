"""The dbt project and its Python wrapper: builds on an empty warehouse, reports failures one
line each, enforces the model contracts, and keeps its AI referral seed equal to the newest
referral rules."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.dbt import PROJECT_DIR, DbtError, build_models, run_dbt
from pipeline.loader.warehouse import open_warehouse

RULES = Path(__file__).resolve().parents[2] / "contracts" / "referral_rules"
MODELS = {
    ("conformed", "referral_events"),
    ("conformed", "identities"),
    ("conformed", "session_events"),
    ("conformed", "sessions"),
    ("marts", "attribution_facts"),
    ("marts", "referral_kpis"),
    ("dq", "results"),
}


def empty_warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with open_warehouse(path) as warehouse:
        warehouse.ensure_raw()
    return path


def test_a_build_on_an_empty_warehouse_creates_every_relation(tmp_path: Path) -> None:
    path = empty_warehouse(tmp_path)
    result = build_models(path, full_refresh=True)
    assert result.success, result.failures
    assert result.elapsed_s > 0
    again = build_models(path)  # incremental on empty tables
    assert again.success, again.failures
    with duckdb.connect(str(path), read_only=True) as con:
        tables = set(
            con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema in ('conformed', 'marts', 'dq')"
            ).fetchall()
        )
    assert tables >= MODELS, MODELS - tables
    # dbt's files go next to the warehouse, not into the repository
    assert (tmp_path / "dbt" / "target" / "manifest.json").is_file()


def test_a_contract_catches_a_type_change(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "conformed" / "sessions.sql"
    text = model.read_text()
    assert "cast(event_count as bigint)" in text
    model.write_text(text.replace("cast(event_count as bigint)", "cast(event_count as varchar)"))
    path = empty_warehouse(tmp_path)
    result = run_dbt(["build"], warehouse_path=path, project_dir=project)
    assert not result.success
    [failure] = [f for f in result.failures if "sessions" in f]
    assert failure.startswith("model sessions:"), failure
    assert "contract" in failure.lower() and "event_count" in failure
    assert "\n" not in failure


def test_unknown_targets_and_projects_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DbtError, match="unknown dbt target 'oracle'"):
        run_dbt(["build"], target="oracle")
    with pytest.raises(DbtError, match=r"no dbt_project\.yml"):
        run_dbt(["build"], project_dir=tmp_path)


def test_the_ai_referral_seed_matches_the_newest_rules() -> None:
    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in path.stem.split("."))

    newest = max(
        (p for p in RULES.glob("*.json") if p.stem[0].isdigit()),
        key=version,
    )
    rules = json.loads(newest.read_text())
    expected = sorted(
        [
            ("host", host.lower(), name)
            for name, p in rules["ai_platforms"].items()
            for host in p["hosts"]
        ]
        + [
            ("app_referrer", app.lower(), name)
            for name, p in rules["ai_platforms"].items()
            for app in p.get("app_referrers", [])
        ]
    )
    with open(PROJECT_DIR / "seeds" / "ai_referral_signals.csv", newline="") as handle:
        seeded = sorted(
            (r["signal_kind"], r["signal"], r["ai_platform"]) for r in csv.DictReader(handle)
        )
    assert seeded == expected, f"regenerate warehouse/seeds/ai_referral_signals.csv from {newest}"
