"""Reference validation of mapped events against the contract files (compat.source.SchemaSet)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from compat.source import SchemaSet

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


@cache
def _schema(ref: str) -> SchemaSet:
    name, version = ref.split("/")
    return SchemaSet.from_file(CONTRACTS / "events" / name / f"{version}.json")


def errors(event: dict[str, Any]) -> list[str]:
    validator = _schema(event["schema"]).validator()
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(event)
    ]
