"""Conformance with Confluent Schema Registry's own JSON Schema diff examples (132 cases).

Each case has an original and an update schema, the changes Confluent reports ("TYPE #/path")
and whether the update is BACKWARD compatible under the strict policy. Confluent reads a schema
without `$schema` as draft-07 (its examples use `items` arrays and `additionalItems`), so the
cases are loaded the same way. Confluent prints each change with one path, built while walking
the original (a oneOf member is named by its index in the original), i.e. our `old_path`; it
writes the root as `#/` where we write the JSON pointer `#`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from compat.diff import Difference, diff_schemas
from compat.differences import is_compatible
from compat.model import Policy
from compat.source import SchemaSet
from tests.support.shared import SHARED

EXAMPLES = SHARED / "data" / "compat" / "confluent"
FILES = ("diff-schema-examples.json", "diff-combined-schema-examples.json")
DRAFT7 = "http://json-schema.org/draft-07/schema#"


def _cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for name in FILES:
        for index, case in enumerate(json.loads((EXAMPLES / name).read_text(encoding="utf-8"))):
            cases.append(
                {**case, "id": f"{name.split('-examples')[0]}[{index}] {case['description']}"}
            )
    return cases


CASES = _cases()


def _load(schema: Any) -> SchemaSet:
    """As Confluent loads it: draft-07 unless the schema names its dialect."""
    if isinstance(schema, dict) and "$schema" not in schema:
        schema = {"$schema": DRAFT7, **schema}
    return SchemaSet.from_value(schema)


def _confluent_form(diff: Difference) -> str:
    path = "#/" if diff.old_path == "#" else diff.old_path
    return f"{diff.type} {path}"


def _outcome(case: dict[str, Any]) -> tuple[bool, set[str]]:
    diffs = diff_schemas(_load(case["original_schema"]), _load(case["update_schema"]))
    verdict = all(is_compatible(d.type, Policy.STRICT) for d in diffs)
    return verdict, {_confluent_form(d) for d in diffs}


def test_all_cases_are_present() -> None:
    assert len(CASES) == 132


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_verdict_matches_confluent(case: dict[str, Any]) -> None:
    verdict, changes = _outcome(case)
    assert verdict == case["compatible"], (
        f"changes: {sorted(changes)}, Confluent: {case['changes']}"
    )


@pytest.mark.parametrize(
    "case", [c for c in CASES if "compatible_lenient" in c], ids=lambda c: c["id"]
)
def test_lenient_verdict_matches_confluent(case: dict[str, Any]) -> None:
    diffs = diff_schemas(_load(case["original_schema"]), _load(case["update_schema"]))
    assert all(is_compatible(d.type, Policy.LENIENT) for d in diffs) == case["compatible_lenient"]


def agreement() -> tuple[str, int, int, list[str]]:
    """Agreement with Confluent over all cases: (summary line, verdicts, change sets, misses)."""
    verdicts = changes = 0
    disagreements: list[str] = []
    for case in CASES:
        verdict, found = _outcome(case)
        verdicts += verdict == case["compatible"]
        changes += found == set(case["changes"])
        if found != set(case["changes"]):
            disagreements.append(f"{case['id']}: {sorted(found)} != {sorted(case['changes'])}")
    total = len(CASES)
    summary = (
        f"confluent conformance: verdict {verdicts}/{total} ({100 * verdicts / total:.1f}%), "
        f"changes {changes}/{total} ({100 * changes / total:.1f}%)"
    )
    return summary, verdicts, changes, disagreements


def test_agreement_figures() -> None:
    summary, verdicts, changes, disagreements = agreement()
    assert verdicts == len(CASES), summary
    assert changes / len(CASES) >= 0.95, summary + "\n" + "\n".join(disagreements)
