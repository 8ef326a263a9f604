"""`refract lint` through a real subprocess: exit codes 0/1/2 and the three formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.test_diff_cli import refract

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "contracts"
    shutil.copytree(REPO / "contracts", root)
    return root


def test_repository_contracts_are_clean() -> None:
    result = refract("lint", cwd=REPO)
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip() == "contracts lint clean"


def break_description(tree: Path) -> tuple[Path, int]:
    """Remove a description from signup 1.1.0; returns the file and the line of the property."""
    path = tree / "events/signup/1.1.0.json"
    schema = json.loads(path.read_text())
    del schema["properties"]["method"]["description"]
    path.write_text(json.dumps(schema, indent=2) + "\n")
    line = next(
        i for i, text in enumerate(path.read_text().splitlines(), 1) if '"method": {' in text
    )
    return path, line


def test_findings_exit_1_in_every_format(tree: Path) -> None:
    _, line = break_description(tree)
    text = refract("lint", str(tree))
    assert text.returncode == 1
    assert f"1.1.0.json:{line}:" in text.stdout and "description-missing" in text.stdout

    as_json = refract("lint", str(tree), "--format", "json")
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    assert document["clean"] is False
    (finding,) = [f for f in document["findings"] if f["rule"] == "description-missing"]
    assert finding["file"].endswith("events/signup/1.1.0.json") and finding["line"] == line

    github = refract("lint", str(tree), "--format", "github")
    assert github.returncode == 1
    assert any(
        ln.startswith("::error file=") and f",line={line}," in ln
        for ln in github.stdout.splitlines()
    )


def test_invalid_json_is_a_finding_with_position(tree: Path) -> None:
    path = tree / "events/signup/1.1.0.json"
    path.write_text('{\n  "type": "object",\n  oops\n}\n')
    result = refract("lint", str(tree))
    assert result.returncode == 1
    assert "1.1.0.json:3:" in result.stdout and "json-invalid" in result.stdout


@pytest.mark.parametrize("args", [["lint", "does/not/exist"], ["lint", "--format", "yaml"]])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = refract(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
