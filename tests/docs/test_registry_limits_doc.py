"""docs/registry.md states the registry's limits; this holds its table to limits.py."""

from __future__ import annotations

from pathlib import Path

from compat.source import MAX_NESTING
from registry_service.registry import limits

DOC = Path(__file__).resolve().parents[2] / "docs" / "registry.md"


def test_limits_table_matches_the_constants() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = {
        line.split("`")[1]: line
        for line in text.splitlines()
        if line.startswith("| ") and line.count("`") >= 2 and "(`" in line
    }
    mib = 1024 * 1024
    assert f"| {limits.MAX_BODY_BYTES // mib} MiB |" in rows["MAX_BODY_BYTES"]
    assert f"| {limits.MAX_BODY_DEPTH} levels |" in rows["MAX_BODY_DEPTH"]
    assert f"| {MAX_NESTING} levels |" in rows["compat.source.MAX_NESTING"]
    assert f"| {limits.MAX_SCHEMA_BYTES // mib} MiB " in rows["MAX_SCHEMA_BYTES"]
    assert f"| {limits.MAX_SCHEMA_NODES:,} |" in rows["MAX_SCHEMA_NODES"]
    assert f"| {limits.MAX_SUBJECT_LENGTH} characters |" in rows["MAX_SUBJECT_LENGTH"]
    assert f"| {limits.COUNTEREXAMPLE_SECONDS:g} s in total |" in rows["COUNTEREXAMPLE_SECONDS"]
