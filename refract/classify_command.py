"""`refract classify`: referral classification of JSONL signals, for debugging and backfills.

Reads one JSON object per line on stdin (`page_url`, `referrer`, and optionally `utm`,
`app_referrer`, `click_ids`) and writes one JSON object per line on stdout with `channel`,
`ai_platform`, `method` and `conflict`, using the same rules and code as the gateway. Output
lines stay aligned with input lines: a line that cannot be read yields `{"error": ...}` in its
place (and a message on stderr), the run continues, and the exit code is 2. Blank lines are
skipped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

EXIT_OK, EXIT_INVALID = 0, 2
_FIELDS = ("page_url", "referrer", "app_referrer")


@click.command("classify")
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(path_type=Path, exists=False),
    default=None,
    help="A rules file, or a directory whose newest MAJOR.MINOR.PATCH.json is used "
    "(default: contracts/referral_rules/).",
)
def classify_command(rules_path: Path | None) -> int:
    """Classify referral signals read as JSONL on stdin; one JSON result per line on stdout."""
    from registry_service.referral.classifier import Classifier
    from registry_service.referral.rules import RULES_DIR

    classifier = Classifier(rules_path or RULES_DIR)  # RulesError is InvalidInput: exit 2
    failures = 0
    out = sys.stdout
    for number, raw in enumerate(sys.stdin, start=1):
        if not raw.strip():
            continue
        try:
            signals = _parse(raw, number)
        except ValueError as exc:
            failures += 1
            click.echo(f"refract classify: <stdin>:{number}: {exc}", err=True)
            out.write(json.dumps({"error": f"line {number}: {exc}"}) + "\n")
            continue
        result = classifier.classify(**signals)
        out.write(json.dumps(result.to_json()) + "\n")
    out.flush()
    return EXIT_INVALID if failures else EXIT_OK


def _parse(raw: str, number: int) -> dict[str, Any]:
    """The classify() keyword arguments of one input line; ValueError saying what is wrong."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON at column {exc.colno}: {exc.msg}") from None
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    signals: dict[str, Any] = {}
    for name in _FIELDS:
        field = value.get(name)
        if field is not None and not isinstance(field, str):
            raise ValueError(f"{name} must be a string or null, got {type(field).__name__}")
        signals[name] = field
    for name in ("utm", "click_ids"):
        field = value.get(name)
        if field is None:
            continue
        if not isinstance(field, Mapping) or not all(isinstance(v, str) for v in field.values()):
            raise ValueError(f"{name} must be an object of strings")
        signals[name] = dict(field)
    return signals
