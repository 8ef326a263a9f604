"""check_compatibility's counterexample budget: a total over all changes, reported when spent.

The registry runs checks for anyone who can reach it; each incompatible change could spend
the targeted and the search strategies' full time, so the total must be bounded per call.
"""

from __future__ import annotations

from typing import Any

from compat.check import check_compatibility
from compat.model import Mode
from compat.source import SchemaSet


def _schema(types: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {"type": kind} for name, kind in types.items()},
        "required": sorted(types),
    }


OLD = _schema({"a": "string", "b": "string", "c": "string"})
NEW = _schema({"a": "integer", "b": "integer", "c": "integer"})


def test_spent_budget_reports_changes_without_counterexamples() -> None:
    report = check_compatibility(
        [SchemaSet.from_value(OLD), SchemaSet.from_value(NEW)],
        Mode.BACKWARD,
        counterexample_seconds=0.0,
    )
    assert not report.compatible
    assert report.counterexamples_cut_short
    assert report.to_json()["counterexamples_cut_short"] is True
    assert all(change.counterexample is None for change in report.incompatible_changes)


def test_without_a_budget_counterexamples_are_found_and_nothing_is_cut() -> None:
    report = check_compatibility(
        [SchemaSet.from_value(OLD), SchemaSet.from_value(NEW)], Mode.BACKWARD
    )
    assert not report.counterexamples_cut_short
    assert "counterexamples_cut_short" not in report.to_json()
    assert any(change.has_counterexample for change in report.incompatible_changes)
