"""Compatibility of a new schema version with its history, under a Confluent compatibility mode.

This is where a raw diff becomes a verdict: each difference is judged under the chosen policy,
located in the file that holds it, and, when it breaks compatibility, backed by a concrete
counterexample. Semantics follow Confluent Schema Registry:

- backward: the new schema reads data written with an earlier one, `diff_schemas(old, new)`
  (writer old, reader new);
- forward: an earlier schema reads data written with the new one, `diff_schemas(new, old)`
  (writer new, reader old);
  (the policy is passed to the diff too: it steers which oneOf alternative Confluent's trial
  comparisons pick, though each type's verdict is `is_compatible`'s);
- full: both; `_transitive` compares with every earlier version, otherwise only the one before;
- none: no comparison at all.

The verdict is Confluent's: a change is compatible when its type is in the policy's compatible
set. A diff that lists only compatible changes is compatible even if some instance would in fact
separate the schemas; an incompatible change for which no counterexample exists keeps
`counterexample` None (`has_counterexample` False) rather than inventing one.

Whichever the direction, a `Change` reads from the point of view of the version being checked
(the last one): `old_path` is the path in the earlier version, `new_path` the path in the new one,
and `file`/`line`/`column` point into the new version's file where the keyword exists there, else
into the earlier version's. For forward changes the diff was computed with the new schema as the
"original", so its paths and locations are swapped back into that order; the change type itself
still reads writer-to-reader (new-to-old), which `direction` says.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from compat.counterexample import find_counterexample
from compat.diff import Difference, diff_schemas
from compat.differences import explain, is_compatible
from compat.model import Change, Direction, Mode, Policy
from compat.source import Location, SchemaSet


@dataclass
class Report:
    """The outcome of checking the last schema of a history under one mode and policy."""

    compatible: bool
    mode: Mode
    policy: Policy
    changes: list[Change] = field(default_factory=list)
    counterexamples_cut_short: bool = False
    """True when the counterexample budget ran out: some incompatible changes may lack one."""

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "compatible": self.compatible,
            "mode": self.mode.value,
            "policy": self.policy.value,
            "changes": [change.to_json() for change in self.changes],
        }
        if self.counterexamples_cut_short:
            body["counterexamples_cut_short"] = True
        return body

    @property
    def incompatible_changes(self) -> list[Change]:
        return [change for change in self.changes if not change.compatible]


@dataclass(frozen=True)
class Comparison:
    """One writer/reader pair the mode asks for: which earlier version, and which way data flows."""

    earlier: int  # index into the history
    direction: Direction


def comparisons(count: int, mode: Mode) -> list[Comparison]:
    """The comparisons a mode performs for a history of `count` schemas (the last is new).

    Earlier versions come oldest first; for full modes, backward before forward per version.
    """
    if mode is Mode.NONE or count < 2:
        return []
    earlier = range(count - 1) if mode.transitive else [count - 2]
    directions = [
        d
        for d, on in (
            (Direction.BACKWARD, mode.checks_backward),
            (Direction.FORWARD, mode.checks_forward),
        )
        if on
    ]
    return [Comparison(index, direction) for index in earlier for direction in directions]


def check_compatibility(
    schemas: Sequence[SchemaSet],
    mode: Mode,
    policy: Policy = Policy.STRICT,
    labels: Sequence[str] | None = None,
    *,
    counterexamples: bool = True,
    counterexample_seconds: float | None = None,
) -> Report:
    """Check the last of `schemas` (oldest first) against its history under `mode` and `policy`.

    `labels` name the versions in messages (defaults: the files' display names, or v1, v2, ...).
    `counterexamples=False` skips the search for callers that only need the verdicts (the
    version-bump rule), since searching is the expensive part of a check.
    `counterexample_seconds` bounds the time all searches of this call take together (the
    registry's per-request budget); once spent, the remaining incompatible changes are
    reported without a counterexample and the report says it was cut short.
    """
    deadline = (
        time.monotonic() + counterexample_seconds if counterexample_seconds is not None else None
    )
    cut_short = False
    if labels is not None and len(labels) != len(schemas):
        raise ValueError(f"{len(labels)} labels for {len(schemas)} schemas")
    names = list(labels) if labels is not None else _default_labels(schemas)
    plan = comparisons(len(schemas), mode)
    prefix = len(plan) > 1
    changes: list[Change] = []
    for comparison in plan:
        old, new = schemas[comparison.earlier], schemas[-1]
        backward = comparison.direction is Direction.BACKWARD
        writer, reader = (old, new) if backward else (new, old)
        versions = (
            (names[comparison.earlier], names[-1])
            if backward
            else (names[-1], names[comparison.earlier])
        )
        searched_in_vain = False
        for diff in diff_schemas(writer, reader, policy):
            compatible = is_compatible(diff.type, policy)
            found, instance = False, None
            if not compatible and counterexamples:
                if deadline is not None and time.monotonic() >= deadline:
                    cut_short = True
                else:
                    found, instance = find_counterexample(
                        writer, reader, diff, search=not searched_in_vain, deadline=deadline
                    )
                    searched_in_vain = searched_in_vain or not found
                    if not found and deadline is not None and time.monotonic() >= deadline:
                        cut_short = True
            changes.append(
                _change(diff, comparison.direction, compatible, versions, prefix, found, instance)
            )
    return Report(
        compatible=all(change.compatible for change in changes),
        mode=mode,
        policy=policy,
        changes=changes,
        counterexamples_cut_short=cut_short,
    )


def _change(
    diff: Difference,
    direction: Direction,
    compatible: bool,
    versions: tuple[str, str],
    prefix: bool,
    found: bool,
    instance: Any,
) -> Change:
    """A reported change, with paths and location oriented from the checked (new) version."""
    message = explain(diff)
    if prefix:
        writer, reader = versions
        message = f"{direction.value} ({writer} data read by {reader}): {message}"
    if direction is Direction.BACKWARD:
        old_path, new_path = diff.old_path, diff.new_path
        location = diff.new_location or diff.old_location
    else:
        old_path, new_path = diff.new_path, diff.old_path
        location = diff.old_location or diff.new_location
    file, line, column = _position(location)
    return Change(
        type=diff.type,
        old_path=old_path,
        new_path=new_path,
        compatible=compatible,
        message=message,
        file=file,
        line=line,
        column=column,
        direction=direction,
        counterexample=instance if found else None,
        has_counterexample=found,
        versions=versions,
    )


def _position(location: Location | None) -> tuple[str, int, int]:
    if location is None:
        return "", 0, 0
    return location.file, location.line, location.column


def _default_labels(schemas: Sequence[SchemaSet]) -> list[str]:
    displays = [schema.root.display for schema in schemas]
    if len(set(displays)) == len(displays):
        return displays
    return [f"v{index + 1}" for index in range(len(schemas))]
