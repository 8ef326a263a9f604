"""Rendering compatibility reports and lint findings as text, JSON or GitHub annotations.

One renderer per format keeps what people read, what scripts parse and what GitHub shows in
pull requests consistent: they all come from the same Change and Finding objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from compat.model import Change
from compat.versions import METADATA_CHANGE_TYPES

if TYPE_CHECKING:
    from compat.check import Report
    from compat.history import CheckResult

FORMATS = ("text", "json", "github")


class FindingLike(Protocol):
    file: str
    line: int
    column: int
    rule: str
    message: str


def github_escape_data(text: str) -> str:
    """Escape a workflow command's message (GitHub's `escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_escape_property(text: str) -> str:
    """Escape a workflow command's property value (GitHub's `escapeProperty`)."""
    return github_escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(level: str, file: str, line: int, column: int, message: str) -> str:
    props = f"file={github_escape_property(file)},line={max(line, 1)},col={max(column, 1)}"
    return f"::{level} {props}::{github_escape_data(message)}"


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _where(change: Change) -> str:
    return f"{change.file}:{change.line}:{change.column}" if change.file else "<schema>"


def _paths(change: Change) -> str:
    if change.new_path == change.old_path:
        return change.new_path
    return f"{change.old_path} (old) -> {change.new_path} (new)"


def change_text(change: Change) -> list[str]:
    """A breaking change in full: location and type, paths, the explanation, the counterexample.

    The counterexample line names who accepts and who rejects it, because in forward and full
    modes the writer is the new version, not the old one.
    """
    lines = [
        f"  {_where(change)}  {change.type}",
        f"      path: {_paths(change)}",
        f"      {change.message}",
    ]
    if change.compatible:
        return lines
    if change.has_counterexample:
        proof = f"counterexample: {compact_json(change.counterexample)}"
        if change.versions is not None:
            writer, reader = change.versions
            proof += f"  (valid for {writer}, rejected by {reader})"
        lines.append(f"      {proof}")
    else:
        lines.append("      counterexample: none found")
    return lines


def change_line(change: Change, *, comparison: bool = False) -> str:
    """A compatible change on one line: location, type and path.

    `comparison` adds which way data flows and between which versions, needed when a report
    covers several comparisons (full and transitive modes) and the same change shows up in each.
    """
    line = f"  {_where(change)}  {change.type}  {_paths(change)}"
    if comparison and change.versions is not None:
        writer, reader = change.versions
        line += f"  ({change.direction.value}: {writer} data read by {reader})"
    return line


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def report_text(report: Report) -> str:
    """`refract diff` for people: the verdict first, then what breaks, then what does not.

    Breaking changes get their location, paths, explanation and counterexample; compatible ones
    one line each, validation-relevant before pure metadata (descriptions, annotations, ...),
    so a long list of documentation edits cannot bury the one change that matters.
    """
    breaking = [c for c in report.changes if not c.compatible]
    compatible = sorted(
        (c for c in report.changes if c.compatible),
        key=lambda c: c.type in METADATA_CHANGE_TYPES,
    )
    verdict = "compatible" if report.compatible else "INCOMPATIBLE"
    if not report.changes:
        summary = "no changes"
    elif breaking:
        summary = f"{_plural(len(breaking), 'breaking change')}, {len(compatible)} compatible"
    else:
        summary = f"{_plural(len(compatible), 'compatible change')}, none breaking"
    lines = [f"{verdict} (mode {report.mode.value}, policy {report.policy.value}): {summary}"]
    if breaking:
        lines += ["", "Breaking changes:"]
        for change in breaking:
            lines += change_text(change)
    if compatible:
        lines += ["", "Compatible changes:"]
        several = len({(c.direction, c.versions) for c in report.changes}) > 1
        lines += [change_line(change, comparison=several) for change in compatible]
    return "\n".join(lines)


def changes_github(changes: Iterable[Change]) -> list[str]:
    return [
        github_annotation(
            "notice" if change.compatible else "error",
            change.file,
            change.line,
            change.column,
            f"{change.type} at {change.new_path}: {change.message}"
            + (
                f" Counterexample: {compact_json(change.counterexample)}"
                if change.has_counterexample
                else ""
            ),
        )
        for change in changes
    ]


def findings_text(findings: Sequence[FindingLike]) -> str:
    lines = [f"{f.file}:{f.line}:{f.column}: {f.rule}: {f.message}" for f in findings]
    lines.append(f"{len(findings)} finding(s)" if findings else "contracts lint clean")
    return "\n".join(lines)


def finding_json(finding: FindingLike) -> dict[str, Any]:
    """One lint finding as `--format json` prints it (lint and check share the shape)."""
    return {
        "file": finding.file,
        "line": finding.line,
        "column": finding.column,
        "rule": finding.rule,
        "message": finding.message,
    }


def findings_json(findings: Sequence[FindingLike]) -> str:
    return json.dumps(
        {
            "clean": not findings,
            "findings": [finding_json(f) for f in findings],
        },
        indent=2,
        ensure_ascii=False,
    )


def findings_github(findings: Sequence[FindingLike]) -> str:
    return "\n".join(
        github_annotation("error", f.file, f.line, f.column, f"{f.rule}: {f.message}")
        for f in findings
    )


def relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def check_table(outcome: CheckResult, findings: Sequence[FindingLike]) -> str:
    """The `refract check` summary: one row per checked version, then every problem in full."""
    header = ("event", "version", "mode", "compared with", "changes", "result")
    rows = [header]
    for r in outcome.results:
        changes = r.report.changes if r.report else []
        breaking = sum(not c.compatible for c in changes)
        rows.append(
            (
                r.event,
                str(r.version),
                r.mode.value,
                ", ".join(r.compared_with) or "-",
                f"{len(changes)} ({breaking} breaking)",
                "ok" if r.ok else "FAIL",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    if not outcome.results:
        lines.append("(no contract changed)")
    for r in outcome.results:
        if r.ok:
            continue
        lines.append("")
        lines.append(f"{r.ref} ({relative(r.path)}): {r.reason}")
        lines.extend(f"  error: {e}" for e in r.errors)
        if r.report:
            for change in r.report.changes:
                if not change.compatible:
                    lines.extend(change_text(change))
    lines.extend(f"error: {e}" for e in outcome.errors)
    if findings:
        lines.append("")
        lines.append(findings_text(findings))
    failed = sum(not r.ok for r in outcome.results) + len(outcome.errors) + (1 if findings else 0)
    lines.append("")
    lines.append(
        f"{len(outcome.results)} version(s) checked, "
        + ("all ok" if not failed else f"{sum(not r.ok for r in outcome.results)} failing")
        + (f", {len(findings)} lint finding(s)" if findings else "")
    )
    return "\n".join(lines)
