"""Semantic versions of contracts and the rule that ties a version bump to what changed.

A contract version is a promise to consumers: PATCH changes nothing an instance can be,
MINOR stays compatible under the event's mode, MAJOR breaks and therefore ships a lens that
translates old events into the new shape. Checking the number against the actual changes is
what keeps that promise honest, so the rule lives here, next to the parser, in one place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from compat.model import Change

# MAJOR.MINOR.PATCH without leading zeros (SemVer 2.0.0 §2); contracts carry no pre-release
# or build suffixes because a published contract version is final.
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")

Bump = Literal["major", "minor", "patch"]

# Change types that only touch documentation or Refract annotations: they cannot change which
# instances a schema accepts, so they are the only ones a PATCH version may contain.
METADATA_CHANGE_TYPES = frozenset(
    {
        "DESCRIPTION_CHANGED",
        "TITLE_CHANGED",
        "ID_CHANGED",
        "DEFAULT_CHANGED",
        "REFRACT_ANNOTATION_CHANGED",
    }
)


@dataclass(frozen=True, order=True)
class Version:
    """A MAJOR.MINOR.PATCH version; ordering is SemVer precedence (numeric per field)."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse 'MAJOR.MINOR.PATCH'; ValueError says why the text is not a contract version."""
        match = _SEMVER.match(text)
        if match is None:
            raise ValueError(
                f"{text!r} is not a SemVer version MAJOR.MINOR.PATCH "
                "(non-negative integers without leading zeros)"
            )
        major, minor, patch = (int(group) for group in match.groups())
        return cls(major, minor, patch)

    @classmethod
    def is_valid(cls, text: str) -> bool:
        return _SEMVER.match(text) is not None

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def parse_schema_ref(ref: str) -> tuple[str, Version]:
    """Split a schema reference such as 'page_view/2.0.0' into the event name and its version.

    This is the value events carry in their `schema` field and lenses in `from`/`to`.
    """
    name, slash, version = ref.rpartition("/")
    if not slash or not name:
        raise ValueError(f"{ref!r} is not a schema reference '<event_name>/<MAJOR.MINOR.PATCH>'")
    if "/" in name:
        raise ValueError(f"{ref!r} is not a schema reference: the event name must not contain '/'")
    try:
        return name, Version.parse(version)
    except ValueError as exc:
        raise ValueError(f"{ref!r} is not a schema reference: {exc}") from None


def classify_bump(prev: Version, cur: Version) -> Bump:
    """Which field the step from `prev` to `cur` bumps (the most significant one that changed).

    A step that does not increase the version is still classified by the most significant
    field that differs; `check_sequence` is what rejects it.
    """
    if cur.major != prev.major:
        return "major"
    if cur.minor != prev.minor:
        return "minor"
    return "patch"


def check_sequence(prev: Version, cur: Version) -> list[str]:
    """Errors in the step from `prev` to `cur` alone: it must increase and skip nothing.

    The only successors of X.Y.Z are X.Y.(Z+1), X.(Y+1).0 and (X+1).0.0, so every published
    version has a predecessor consumers can diff against and no number is left ambiguous.
    """
    if cur <= prev:
        return [f"version {cur} does not increase on {prev}"]
    allowed = (
        Version(prev.major, prev.minor, prev.patch + 1),
        Version(prev.major, prev.minor + 1, 0),
        Version(prev.major + 1, 0, 0),
    )
    if cur in allowed:
        return []
    expected = allowed[("patch", "minor", "major").index(classify_bump(prev, cur))]
    return [
        f"version {cur} skips versions after {prev}: the next {classify_bump(prev, cur)} version is {expected}"
    ]


def check_bump(prev: Version, cur: Version, changes: Sequence[Change], has_lens: bool) -> list[str]:
    """Errors when the bump from `prev` to `cur` does not match the changes between them.

    `changes` are the backward-direction changes (old data read by the new schema) with their
    `compatible` verdict under the event's mode and policy; `has_lens` says whether a lens
    `<prev.major>-to-<cur.major>.json` exists.
    """
    errors = check_sequence(prev, cur)
    if cur <= prev:
        return errors
    bump = classify_bump(prev, cur)
    step = f"{prev} -> {cur}"
    breaking = [change for change in changes if not change.compatible]
    if breaking and bump != "major":
        kinds = ", ".join(sorted({change.type for change in breaking}))
        errors.append(
            f"{step} is a {bump} bump but has {len(breaking)} breaking change(s) ({kinds}): "
            "a breaking change needs a major version"
        )
    if bump == "major" and not has_lens:
        errors.append(
            f"{step} is a major bump without a lens {prev.major}-to-{cur.major}.json: "
            "consumers of the old major need a translation"
        )
    if bump == "patch":
        substantive = sorted({c.type for c in changes if c.type not in METADATA_CHANGE_TYPES})
        if substantive:
            errors.append(
                f"{step} is a patch bump but changes {', '.join(substantive)}: "
                "patch must not change accepted instances (only descriptions, titles, ids, "
                "defaults and annotations)"
            )
    return errors
