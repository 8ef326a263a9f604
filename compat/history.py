"""`refract check`: every new or changed contract version checked against its event's history.

For each version under check this applies the event's compatibility mode against the earlier
versions of the same major (a major bump breaks by definition and is covered by its lens
instead), enforces the SemVer bump rule against the immediately preceding version, and, when a
git base is given, refuses in-place edits of published versions (including edits of the common
files they reference) that change which instances they accept, and deletions of published
versions. The result is a list of rows, one per checked version, that the CLI prints as a table.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from compat.catalogue import Catalogue, Event, EventVersion, load_catalogue
from compat.check import Report, check_compatibility
from compat.diff import diff_schemas
from compat.gitref import changed_files, export_tree
from compat.model import Mode, Policy
from compat.source import SchemaSet
from compat.versions import METADATA_CHANGE_TYPES, Version, check_bump


@dataclass
class VersionResult:
    """The verdict on one event version: its compatibility report and any rule errors."""

    event: str
    version: Version
    path: Path
    mode: Mode
    compared_with: list[str] = field(default_factory=list)
    report: Report | None = None
    errors: list[str] = field(default_factory=list)
    reason: str = "checked"

    @property
    def ok(self) -> bool:
        return not self.errors and (self.report is None or self.report.compatible)

    @property
    def ref(self) -> str:
        return f"{self.event}/{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "version": str(self.version),
            "file": str(self.path),
            "mode": self.mode.value,
            "compared_with": self.compared_with,
            "reason": self.reason,
            "ok": self.ok,
            "errors": self.errors,
            "changes": [c.to_json() for c in self.report.changes] if self.report else [],
        }


@dataclass
class CheckResult:
    """All rows of one `refract check` run, plus errors that belong to no existing version."""

    results: list[VersionResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    base: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and all(r.ok for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "compatible": self.ok,
            "base": self.base,
            "errors": self.errors,
            "results": [r.to_json() for r in self.results],
        }


def check_version(
    event: Event, version: EventVersion, policy: Policy = Policy.STRICT
) -> VersionResult:
    """Mode check against the earlier versions of the same major, plus the bump rule."""
    mode = event.config.compatibility
    index = event.versions.index(version)
    result = VersionResult(event.name, version.version, version.path, mode)
    history = [v for v in event.versions[:index] if v.version.major == version.version.major]
    if history and mode is not Mode.NONE:
        compared = history if mode.transitive else history[-1:]
        result.compared_with = [str(v.version) for v in compared]
        result.report = check_compatibility(
            [v.schema_set for v in history] + [version.schema_set],
            mode,
            policy,
            labels=[v.ref for v in history] + [version.ref],
        )
    if index == 0:
        if version.version != Version(1, 0, 0):
            result.errors.append(
                f"the first version of {event.name} must be 1.0.0, not {version.version}"
            )
        return result
    previous = event.versions[index - 1]
    has_lens = (previous.version.major, version.version.major) in event.lenses
    bump = check_compatibility(
        [previous.schema_set, version.schema_set], Mode.BACKWARD, policy, counterexamples=False
    )
    result.errors.extend(check_bump(previous.version, version.version, bump.changes, has_lens))
    if version.version.major != previous.version.major:
        result.compared_with.append(
            f"{previous.version} (major bump, lens {'present' if has_lens else 'missing'})"
        )
    return result


def check_all(root: Path, policy: Policy = Policy.STRICT) -> CheckResult:
    """Check every version of every event (the whole history), as `refract check --all` does."""
    catalogue = load_catalogue(root)
    outcome = CheckResult()
    for event in catalogue.events.values():
        for version in event.versions:
            outcome.results.append(check_version(event, version, policy))
    return outcome


def check_since(repo: Path, root: Path, base: str, policy: Policy = Policy.STRICT) -> CheckResult:
    """Check what changed under the contracts root `root` since the git commit `base`."""
    rel_root = root.resolve().relative_to(repo.resolve()).as_posix()
    changed = {(repo / p).resolve() for p in changed_files(repo, base, rel_root)}
    catalogue = load_catalogue(root)
    outcome = CheckResult(base=base)
    with tempfile.TemporaryDirectory(prefix="refract-base-") as tmp:
        base_catalogue = (
            load_catalogue(Path(tmp) / rel_root)
            if export_tree(repo, base, rel_root, Path(tmp))
            else None
        )
        for event in catalogue.events.values():
            for version in event.versions:
                reason = _why_affected(event, version, changed)
                if reason is None:
                    continue
                result = check_version(event, version, policy)
                result.reason = reason
                published = _published(base_catalogue, event.name, version.version)
                if published is not None:
                    result.errors.extend(_in_place_edit_errors(published, version, policy))
                outcome.results.append(result)
        if base_catalogue is not None:
            outcome.errors.extend(_deleted_versions(base_catalogue, catalogue))
    return outcome


def _why_affected(event: Event, version: EventVersion, changed: set[Path]) -> str | None:
    """Why this version needs checking after `changed` files, or None when it does not."""
    path = version.path.resolve()
    if path in changed:
        return "changed"
    if event.config_path.resolve() in changed:
        return "event config changed"
    lens = event.lenses.get((version.version.major - 1, version.version.major))
    if lens is not None and lens.resolve() in changed:
        return "lens changed"
    for file in referenced_files(version.schema_set):
        if file in changed:
            return f"references changed {file.name} ({file.parent.name})"
    return None


def referenced_files(schema_set: SchemaSet) -> set[Path]:
    """Every local file reachable from a schema through `$ref`, the root excluded."""
    seen: set[str] = {schema_set.root.uri}
    pending = [schema_set.root.uri]
    while pending:
        uri = pending.pop()
        source = schema_set.files.get(uri)
        if source is None:
            continue
        for ref in _refs(source.contents):
            _, target, _ = schema_set.resolve(ref, uri)
            if target not in seen:
                seen.add(target)
                pending.append(target)
    return {
        Path(unquote(urlsplit(uri).path)).resolve()
        for uri in seen - {schema_set.root.uri}
        if uri.startswith("file:")
    }


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for key, value in node.items():
            if key not in ("examples", "const", "enum", "default"):
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _published(base: Catalogue | None, name: str, version: Version) -> EventVersion | None:
    if base is None or name not in base.events:
        return None
    return base.events[name].get(version)


def _in_place_edit_errors(
    published: EventVersion, current: EventVersion, policy: Policy
) -> list[str]:
    """A published version may only change in metadata (descriptions, examples, annotations)."""
    substantive = sorted(
        {
            f"{d.type} at {d.new_path or d.old_path}"
            for d in diff_schemas(published.schema_set, current.schema_set, policy)
            if d.type not in METADATA_CHANGE_TYPES
        }
        | {
            f"{d.type} at {d.new_path or d.old_path}"
            for d in diff_schemas(current.schema_set, published.schema_set, policy)
            if d.type not in METADATA_CHANGE_TYPES
        }
    )
    if not substantive:
        return []
    shown = "; ".join(substantive[:5]) + (
        f"; and {len(substantive) - 5} more" if len(substantive) > 5 else ""
    )
    return [
        f"published version {current.ref} was modified in place ({shown}); versions are immutable: "
        "publish a new version (and a new common file version for shared definitions) instead"
    ]


def _deleted_versions(base: Catalogue, current: Catalogue) -> Iterable[str]:
    for name, event in base.events.items():
        for version in event.versions:
            now = current.events.get(name)
            if now is None or now.get(version.version) is None:
                yield f"published version {version.ref} was deleted; published versions are permanent"
