"""docs/security.md states every limit with its default; this holds those figures to the code,
so the threat model cannot drift from what the service enforces."""

from __future__ import annotations

import re
from pathlib import Path

from compat.source import MAX_FILE_BYTES, MAX_NESTING
from registry_service.registry import limits
from registry_service.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
KIB, MIB = 1024, 1024 * 1024


def size(value: int) -> str:
    return f"{value // MIB} MiB" if value % MIB == 0 else f"{value // KIB} KiB"


def limit_rows() -> dict[str, str]:
    """The limits table: the first `code` name of each row -> the row."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        found = re.search(r"`([A-Za-z_.]+)` \(", line)
        if line.startswith("| ") and found:
            rows[found.group(1)] = line
    return rows


def test_ingestion_limits_are_the_settings_defaults() -> None:
    rows, defaults = limit_rows(), Settings()
    assert f"({size(defaults.max_body_bytes)})" in rows["REFRACT_MAX_BODY_BYTES"]
    assert f"({size(defaults.max_decompressed_bytes)})" in rows["REFRACT_MAX_DECOMPRESSED_BYTES"]
    assert f"({defaults.max_batch_events})" in rows["REFRACT_MAX_BATCH_EVENTS"]
    assert f"({size(defaults.max_event_bytes)})" in rows["REFRACT_MAX_EVENT_BYTES"]
    assert f"({defaults.max_event_depth})" in rows["REFRACT_MAX_EVENT_DEPTH"]
    assert f"({size(defaults.dead_letter_payload_cap)})" in rows["REFRACT_DEAD_LETTER_PAYLOAD_CAP"]


def test_registry_limits_are_the_constants() -> None:
    rows = limit_rows()
    assert f"({size(limits.MAX_BODY_BYTES)})" in rows["MAX_BODY_BYTES"]
    assert f"({limits.MAX_BODY_DEPTH})" in rows["MAX_BODY_DEPTH"]
    assert f"({size(limits.MAX_SCHEMA_BYTES)})" in rows["MAX_SCHEMA_BYTES"]
    assert f"({limits.MAX_SCHEMA_NODES:,})" in rows["MAX_SCHEMA_BYTES"]
    assert f"({MAX_NESTING})" in rows["compat.source.MAX_NESTING"]
    assert f"({limits.COUNTEREXAMPLE_SECONDS:g} s)" in rows["COUNTEREXAMPLE_SECONDS"]
    assert f"({limits.MAX_SUBJECT_LENGTH})" in rows["MAX_SUBJECT_LENGTH"]
    assert f"({size(MAX_FILE_BYTES)})" in rows["compat.source.MAX_FILE_BYTES"]
    assert limits.MAX_SCHEMA_ID == 2**63 - 1
    assert "| schema ids | 1 .. 2^63-1 |" in DOC.read_text(encoding="utf-8")
