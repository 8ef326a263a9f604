"""`refract check` through a real subprocess, on throwaway git repositories."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_diff_cli import refract

REPO = Path(__file__).resolve().parents[2]


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose main holds a copy of this project's contracts, on a branch."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "contracts", root / "contracts")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "contracts")
    git(root, "checkout", "-qb", "feature")
    return root


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def save(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")


def new_signup_version(repo: Path, version: str, edit: Any) -> Path:
    """Copy signup's newest version to `version`, stamp it, and apply `edit` to the schema."""
    source = repo / "contracts/events/signup/1.1.0.json"
    schema = load(source)
    schema["properties"]["schema"]["default"] = f"signup/{version}"
    major = version.split(".")[0]
    schema["properties"]["schema"]["pattern"] = (
        f"^signup/{major}\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$"
    )
    for example in schema["examples"]:
        example["schema"] = f"signup/{version}"
    edit(schema)
    target = source.with_name(f"{version}.json")
    save(target, schema)
    return target


def test_no_change_is_clean(repo: Path) -> None:
    result = refract("check", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(no contract changed)" in result.stdout


def test_compatible_minor_version_passes(repo: Path) -> None:
    def add_optional(schema: Any) -> None:
        schema["properties"]["coupon"] = {
            "description": "Coupon code used at signup.",
            "type": "string",
        }

    new_signup_version(repo, "1.2.0", add_optional)
    result = refract("check", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("signup "))
    assert "1.2.0" in row and "1.0.0, 1.1.0" in row and row.rstrip().endswith("ok")


def test_breaking_minor_version_fails_with_counterexample(repo: Path) -> None:
    def add_required(schema: Any) -> None:
        schema["properties"]["coupon"] = {
            "description": "Coupon code used at signup.",
            "type": "string",
        }
        schema["required"].append("coupon")
        for example in schema["examples"]:
            example["coupon"] = "WELCOME"

    new_signup_version(repo, "1.2.0", add_required)
    result = refract("check", "--format", "json", cwd=repo)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["compatible"] is False
    (row,) = report["results"]
    assert row["event"] == "signup" and row["version"] == "1.2.0"
    assert any("needs a major version" in error for error in row["errors"])
    breaking = [c for c in row["changes"] if not c["compatible"]]
    assert {c["type"] for c in breaking} == {"REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"}
    assert all(
        c["counterexample"] is not None and "coupon" not in c["counterexample"] for c in breaking
    )


def test_major_bump_without_lens_fails(repo: Path) -> None:
    def drop_plan(schema: Any) -> None:
        schema["properties"].pop("plan", None)
        schema["required"] = [r for r in schema["required"] if r != "plan"]
        for example in schema["examples"]:
            example.pop("plan", None)

    new_signup_version(repo, "2.0.0", drop_plan)
    result = refract("check", cwd=repo)
    assert result.returncode == 1
    assert "without a lens" in result.stdout


def test_editing_a_published_version_in_place_fails(repo: Path) -> None:
    path = repo / "contracts/events/signup/1.0.0.json"
    schema = load(path)
    schema["properties"]["event_name"]["description"] = "Reworded: harmless."
    save(path, schema)
    harmless = refract("check", cwd=repo)
    assert harmless.returncode == 0, harmless.stdout + harmless.stderr

    schema["additionalProperties"] = True
    save(path, schema)
    result = refract("check", cwd=repo)
    assert result.returncode == 1
    assert "signup/1.0.0 was modified in place" in result.stdout


def test_editing_a_common_file_flags_every_event_using_it(repo: Path) -> None:
    path = repo / "contracts/common/session/1.0.0.json"
    schema = load(path)
    session_id = schema["properties"]["session_id"]
    session_id["maxLength"] = 8
    save(path, schema)
    result = refract("check", "--format", "json", cwd=repo)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    flagged = {r["event"] for r in report["results"] if not r["ok"]}
    assert {"page_view", "screen_view"} <= flagged
    assert all("references changed" in r["reason"] for r in report["results"])


def test_deleting_a_published_version_fails(repo: Path) -> None:
    (repo / "contracts/events/signup/1.1.0.json").unlink()
    result = refract("check", cwd=repo)
    assert result.returncode == 1
    assert "signup/1.1.0 was deleted" in result.stdout


def test_github_format_and_explicit_base(repo: Path) -> None:
    (repo / "contracts/events/signup/1.1.0.json").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "delete")
    assert refract("check", "--against", "HEAD", cwd=repo).returncode == 0
    result = refract("check", "--against", "main", "--format", "github", cwd=repo)
    assert result.returncode == 1
    assert result.stdout.startswith("::error")


def test_unknown_ref_exits_2(repo: Path) -> None:
    result = refract("check", "--against", "no-such-branch", cwd=repo)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no-such-branch" in result.stderr


def test_check_all_on_this_repository() -> None:
    everything = refract("check", "--all", "--format", "json", cwd=REPO)
    assert everything.returncode == 0, everything.stdout[-2000:]
    report = json.loads(everything.stdout)
    refs = {f"{r['event']}/{r['version']}" for r in report["results"]}
    assert {"page_view/1.0.0", "page_view/1.1.0", "page_view/2.0.0", "signup/1.1.0"} <= refs
    # `refract demo` (the contract check is its first step) is covered by tests/demo.
