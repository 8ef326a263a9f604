"""`refract diff` through a real subprocess: exit codes, formats and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from compat.source import SchemaSet


def refract(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "refract", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def write(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, indent=2) + "\n")
    return path


V1 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "plan": {"enum": ["free", "pro", "enterprise"]},
    },
    "required": ["name"],
}
V2_COMPATIBLE = {**V1, "properties": {**V1["properties"], "note": {"type": "string"}}}
V2_BREAKING = {
    **V1,
    "properties": {"name": {"type": "string", "maxLength": 5}, "plan": {"enum": ["free", "pro"]}},
}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {
        "v1": write(tmp_path / "v1.json", V1),
        "ok": write(tmp_path / "v2-ok.json", V2_COMPATIBLE),
        "bad": write(tmp_path / "v2-bad.json", V2_BREAKING),
    }


def test_compatible_change_exits_0(files: dict[str, Path]) -> None:
    result = refract("diff", str(files["v1"]), str(files["ok"]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "compatible (mode backward, policy strict): 1 compatible change, none breaking"
    )
    assert "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL  #/properties/note" in result.stdout


def test_incompatible_change_exits_1_with_counterexamples(files: dict[str, Path]) -> None:
    result = refract("diff", str(files["v1"]), str(files["bad"]), "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["compatible"] is False
    assert report["mode"] == "backward" and report["policy"] == "strict"
    types = {c["type"]: c for c in report["changes"]}
    assert {"MAX_LENGTH_DECREASED", "ENUM_ARRAY_NARROWED"} <= set(types)
    old, new = SchemaSet.from_file(files["v1"]), SchemaSet.from_file(files["bad"])
    for change in report["changes"]:
        assert set(change) == {
            "type",
            "old_path",
            "new_path",
            "file",
            "line",
            "column",
            "compatible",
            "message",
            "counterexample",
        }
        if not change["compatible"]:
            example = change["counterexample"]
            assert example is not None
            assert old.accepts(example) and not new.accepts(example)
    max_length = types["MAX_LENGTH_DECREASED"]
    assert max_length["new_path"] == "#/properties/name/maxLength"
    assert max_length["file"].endswith("v2-bad.json")
    line = files["bad"].read_text().splitlines()[max_length["line"] - 1]
    assert '"maxLength": 5' in line
    assert line.index('"maxLength"') < max_length["column"] <= len(line)


def test_text_format_shows_counterexample(files: dict[str, Path]) -> None:
    result = refract("diff", str(files["v1"]), str(files["bad"]))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert (
        lines[0] == "INCOMPATIBLE (mode backward, policy strict): 2 breaking changes, 0 compatible"
    )
    assert lines[2] == "Breaking changes:"
    assert "Compatible changes:" not in lines
    block = "\n".join(lines[3:])
    assert "v2-bad.json:" in block and "MAX_LENGTH_DECREASED" in block
    assert "      path: #/properties/name/maxLength" in lines
    counterexamples = [ln.strip() for ln in lines if ln.strip().startswith("counterexample: ")]
    assert len(counterexamples) == 2
    assert all("(valid for " in ln and ", rejected by " in ln for ln in counterexamples)


def test_text_format_puts_breaking_changes_before_compatible_ones(tmp_path: Path) -> None:
    """Documentation edits are one line each, after the change that breaks, not mixed with it."""
    described = {
        **V1,
        "description": "A user.",
        "x-owner": "growth",
        "properties": {
            "name": {"type": "string", "maxLength": 5, "description": "Display name."},
            "plan": {"enum": ["free", "pro", "enterprise"], "title": "Plan"},
            "note": {"type": "string"},
        },
    }
    new = write(tmp_path / "new.json", described)
    result = refract("diff", str(write(tmp_path / "old.json", V1)), str(new))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("INCOMPATIBLE (mode backward, policy strict): 1 breaking change, ")
    breaking, compatible = lines.index("Breaking changes:"), lines.index("Compatible changes:")
    assert breaking < compatible
    assert "MAX_LENGTH_DECREASED" in lines[breaking + 1]
    one_liners = lines[compatible + 1 :]
    types = [line.split()[1] for line in one_liners]
    assert "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL" in types
    assert {"DESCRIPTION_CHANGED", "TITLE_CHANGED", "REFRACT_ANNOTATION_CHANGED"} <= set(types)
    # validation-relevant compatible changes come before pure metadata
    assert types.index("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL") < types.index(
        "DESCRIPTION_CHANGED"
    )
    assert all(line.startswith("  ") and "new.json:" in line for line in one_liners)
    assert "counterexample" not in "\n".join(one_liners)


def test_text_format_without_changes(files: dict[str, Path]) -> None:
    result = refract("diff", str(files["v1"]), str(files["v1"]))
    assert result.returncode == 0
    assert result.stdout == "compatible (mode backward, policy strict): no changes\n"


def test_github_format_prints_annotations(files: dict[str, Path]) -> None:
    result = refract("diff", str(files["v1"]), str(files["bad"]), "--format", "github")
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert errors
    assert all("file=" in e and ",line=" in e and ",col=" in e for e in errors)


def test_forward_mode_reverses_direction(files: dict[str, Path]) -> None:
    # Adding an optional property to a closed model: old readers reject new data.
    result = refract(
        "diff", str(files["v1"]), str(files["ok"]), "--mode", "forward", "--format", "json"
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["mode"] == "forward"
    example = next(c["counterexample"] for c in report["changes"] if not c["compatible"])
    assert "note" in example


def test_transitive_mode_checks_all_earlier(files: dict[str, Path], tmp_path: Path) -> None:
    # v1 -> bad (breaking) -> bad again: non-transitive sees no change, transitive sees v1's.
    again = write(tmp_path / "v3.json", V2_BREAKING)
    plain = refract("diff", str(files["v1"]), str(files["bad"]), str(again))
    assert plain.returncode == 0, plain.stdout
    transitive = refract(
        "diff", str(files["v1"]), str(files["bad"]), str(again), "--mode", "backward_transitive"
    )
    assert transitive.returncode == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["diff", "{v1}", "{missing}"], "no such file"),
        (["diff", "{v1}", "--mode", "sideways", "{v1}"], "--mode"),
        (["diff", "{v1}", "--policy", "loose", "{v1}"], "--policy"),
        (["diff", "{v1}"], "at least two"),
        (["diff", "{v1}", "{broken}"], ":3:"),
        (["diff", "{v1}", "{invalid_schema}"], "minLength"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    files: dict[str, Path], tmp_path: Path, args: list[str], fragment: str
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "type": "object",\n  "properties": {,}\n}\n')
    invalid = write(tmp_path / "invalid.json", {"type": "string", "minLength": -1})
    values = {
        "v1": str(files["v1"]),
        "missing": str(tmp_path / "nope.json"),
        "broken": str(broken),
        "invalid_schema": str(invalid),
    }
    result = refract(*[a.format(**values) for a in args])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert fragment in lines[0]
