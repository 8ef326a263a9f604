"""`refract demo` end to end, as a user runs it: a real `refract serve` process, the real
loader and dbt builds (LocalStack), the seeded traffic over HTTP, the report.

Two small runs with the same seed must agree on every deterministic figure; the warehouse must
show exactly the duplicates and dead letters the generator injected. Nothing here is skipped:
the stack needs no external service (DuckDB and dbt are libraries).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.demo.report import ReportError, build_report

REPO = Path(__file__).resolve().parents[2]
EVENTS = "300"
SEED = "4"


def refract(*args: str, cwd: Path = REPO, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "refract", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> list[tuple[Path, subprocess.CompletedProcess[str]]]:
    """Two demo runs with the same seed, in their own data directories."""
    done = []
    for name in ("first", "second"):
        directory = tmp_path_factory.mktemp("demo") / name
        result = refract("demo", "--events", EVENTS, "--seed", SEED, "--data-dir", str(directory))
        assert result.returncode == 0, (
            f"{name} run:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
        done.append((directory, result))
    return done


def report_json(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "report.json").read_text())  # type: ignore[no-any-return]


def section_rows(document: dict[str, Any], key: str) -> dict[str, list[Any]]:
    return {str(row[0]).strip(): row[1:] for row in document["sections"][key]["rows"]}


def test_the_warehouse_holds_exactly_what_was_injected(runs: list[Any]) -> None:
    directory, result = runs[0]
    expected = json.loads((directory / "demo.json").read_text())["expected"]
    document = report_json(directory)
    assert document["mismatches"] == []
    duplicates = section_rows(document, "duplicates")
    assert duplicates["raw events (raw.events)"][:2] == [expected["emissions"]] * 2
    assert duplicates["duplicate events removed"][:2] == [expected["duplicates"]] * 2
    assert expected["duplicates"] > 0
    kinds = expected["duplicates_by_kind"]
    assert duplicates["retried requests (same event_id)"][0] == kinds["retried_request"]
    assert duplicates["client + server copies (same dedup key)"][0] == kinds["client_server_copy"]
    assert duplicates["duplicate sessions removed"][:2] == [expected["duplicate_sessions"]] * 2
    assert expected["duplicate_sessions"] > 0
    dead = section_rows(document, "dead_letters")
    for reason, count in expected["dead_letters"].items():
        assert dead[reason][:2] == [count, count], reason
    assert dead["total"][0] == sum(expected["dead_letters"].values())
    assert "unauthorized" not in dead  # refused before the body was read: nothing stored
    refused = section_rows(document, "refused")
    for reason, count in expected["refused"].items():
        assert refused[reason][:2] == [count, count], reason
    conversion = section_rows(document, "conversion")
    assert {"chatgpt", "claude", "direct"} <= set(conversion)
    assert "Referral conversion by AI platform" in result.stdout
    assert "contracts: " in result.stdout and "all ok" in result.stdout
    assert re.search(r"end-to-end latency p99: [0-9.]+ s", result.stdout)
    assert f"HTML report: {directory / 'report.html'}" in result.stdout


def test_same_seed_same_report(runs: list[Any]) -> None:
    (first, _), (second, _) = runs
    a, b = report_json(first), report_json(second)
    assert a["measurements"] != {} and b["measurements"] != {}
    for key in a["sections"]:
        assert a["sections"][key] == b["sections"][key], key
    assert a["sections"].keys() == b["sections"].keys()


def test_html_report_is_self_contained_with_charts(runs: list[Any]) -> None:
    page = (runs[0][0] / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert page.count("<svg") >= 5
    for title in (
        "Signup rate by platform",
        "Retention by first-session platform",
        "Dead letters by reason",
        "Duplicates removed",
        "End-to-end latency",
    ):
        assert title in page, title


def test_latency_probes_are_measured_and_kept_out_of_business_figures(runs: list[Any]) -> None:
    directory, _ = runs[0]
    measured = report_json(directory)["measurements"]
    assert measured["latency probes measured"] >= 1
    expected = json.loads((directory / "demo.json").read_text())["expected"]
    raw = section_rows(report_json(directory), "duplicates")["raw events (raw.events)"][0]
    assert raw == expected["emissions"]  # probes are on raw.events too, but not counted


def test_a_directory_that_is_not_a_demo_is_never_wiped(tmp_path: Path) -> None:
    keep = tmp_path / "important.txt"
    keep.write_text("data")
    result = refract("demo", "--events", "60", "--data-dir", str(tmp_path), timeout=120)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not a refract demo directory" in result.stderr
    assert keep.read_text() == "data"


def test_report_without_a_warehouse_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no warehouse file"):
        build_report(tmp_path / "warehouse.duckdb")
