"""Discovery of a contracts tree: which events, versions, lenses and shared files exist.

The layout *is* the contract registry in the repository (see the shared spec): directory and
file names carry the event name and the version, so every tool (lint, check, codegen, the
registry service) must read them the same way. This module is that one reading. It does not
judge the schemas themselves; it only finds them, orders versions by SemVer, and says which
file is misplaced or misnamed and why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from compat.model import Mode
from compat.source import InvalidInput, SchemaSet, SourceFile, display_path, read_json_file
from compat.versions import Version

DEFAULT_MODE = Mode.BACKWARD_TRANSITIVE
EVENT_CONFIG = "event.json"
LENS_DIR = "lenses"
LENS_SCHEMA = "lens.schema.json"
_LENS_NAME = re.compile(r"^(0|[1-9]\d*)-to-(0|[1-9]\d*)\.json$")
_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class LayoutProblem:
    """A file or directory that does not fit the contracts layout.

    `rule` is the lint rule id the problem maps to, so `refract lint` can report it as a
    finding while `load_catalogue` turns the first one into an InvalidInput.
    """

    path: Path
    rule: str
    message: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{display_path(self.path)}:{self.line}:{self.column}: {self.message}"


@dataclass
class EventConfig:
    """The contents of events/<name>/event.json."""

    name: str
    description: str = ""
    owner: str = ""
    compatibility: Mode = DEFAULT_MODE


@dataclass
class EventVersion:
    """One published version of an event: its file, and its schema loaded on first use."""

    event: str
    version: Version
    path: Path

    @property
    def ref(self) -> str:
        """The schema reference instances of this version carry, e.g. 'page_view/2.0.0'."""
        return f"{self.event}/{self.version}"

    @cached_property
    def schema_set(self) -> SchemaSet:
        """The schema and every file its references reach (InvalidInput when unreadable)."""
        return SchemaSet.from_file(self.path)


@dataclass
class Event:
    """An event: its config, versions oldest first, and lens files by (from_major, to_major)."""

    name: str
    directory: Path
    config: EventConfig
    versions: list[EventVersion] = field(default_factory=list)
    lenses: dict[tuple[int, int], Path] = field(default_factory=dict)

    @property
    def config_path(self) -> Path:
        return self.directory / EVENT_CONFIG

    def majors(self) -> list[int]:
        return sorted({v.version.major for v in self.versions})

    def first_of_major(self, major: int) -> EventVersion | None:
        """The first published version of a major: the target of the lens into it."""
        return next((v for v in self.versions if v.version.major == major), None)

    def newest_of_major(self, major: int) -> EventVersion | None:
        """The newest version of a major: the source of the lens out of it."""
        candidates = [v for v in self.versions if v.version.major == major]
        return candidates[-1] if candidates else None

    def get(self, version: Version) -> EventVersion | None:
        return next((v for v in self.versions if v.version == version), None)

    @property
    def latest(self) -> EventVersion | None:
        return self.versions[-1] if self.versions else None


@dataclass
class CommonFile:
    """A versioned shared definition under common/<name>/<version>.json."""

    name: str
    version: Version
    path: Path


@dataclass
class Catalogue:
    """Everything under one contracts root."""

    root: Path
    events: dict[str, Event] = field(default_factory=dict)
    common: dict[str, list[CommonFile]] = field(default_factory=dict)

    @property
    def lens_schema_path(self) -> Path:
        return self.root / LENS_SCHEMA


def find_contracts_root(path: Path) -> Path:
    """The contracts root for `path`: the nearest directory at or above it containing `events/`.

    Given a repository root (a directory with `contracts/events/`), its `contracts/` child is
    taken, so `refract lint .` works from the top level. That shortcut applies to the starting
    directory only: a file elsewhere in the repository is not part of the contracts tree.
    """
    start = path.resolve()
    if not start.is_dir():
        start = start.parent
    if (start / "contracts" / "events").is_dir() and not (start / "events").is_dir():
        return start / "contracts"
    for directory in (start, *start.parents):
        if (directory / "events").is_dir():
            return directory
    raise InvalidInput(
        f"{display_path(path)}: not inside a contracts tree (no events/ directory here or above)"
    )


def load_catalogue(root: Path) -> Catalogue:
    """The catalogue under `root`; InvalidInput naming the first misplaced or malformed file."""
    catalogue, problems = scan_catalogue(root)
    if problems:
        raise InvalidInput(str(problems[0]))
    return catalogue


def scan_catalogue(root: Path) -> tuple[Catalogue, list[LayoutProblem]]:
    """The catalogue under `root` plus every layout problem found, for callers that report all.

    Malformed entries are left out of the catalogue (a misnamed version file is not a
    version), so that the rest of the tree can still be checked.
    """
    root = root.resolve()
    if not (root / "events").is_dir():
        raise InvalidInput(f"{display_path(root)}: not a contracts root (no events/ directory)")
    catalogue = Catalogue(root)
    problems: list[LayoutProblem] = []
    for directory in _children(root / "events", problems):
        event = _scan_event(directory, problems)
        if event is not None:
            catalogue.events[event.name] = event
    common_dir = root / "common"
    if common_dir.is_dir():
        for directory in _children(common_dir, problems):
            files: list[CommonFile] = []
            for path in sorted(directory.iterdir()):
                if _ignored(path):
                    continue
                version = _version_of(path, problems, what="common definition")
                if version is not None:
                    files.append(CommonFile(directory.name, version, path))
            catalogue.common[directory.name] = sorted(files, key=lambda f: f.version)
    return catalogue, problems


def _ignored(path: Path) -> bool:
    """Hidden files and non-JSON notes (README.md, .gitkeep) are not part of the layout."""
    return path.name.startswith(".") or (path.is_file() and path.suffix != ".json")


def _children(directory: Path, problems: list[LayoutProblem]) -> list[Path]:
    result = []
    for path in sorted(directory.iterdir()):
        if _ignored(path):
            continue
        if not path.is_dir():
            problems.append(
                LayoutProblem(
                    path,
                    "layout-invalid",
                    f"unexpected file in {directory.name}/: expected one directory per name",
                )
            )
            continue
        result.append(path)
    return result


def _version_of(path: Path, problems: list[LayoutProblem], what: str) -> Version | None:
    if path.is_dir() or path.suffix != ".json":
        problems.append(
            LayoutProblem(
                path,
                "layout-invalid",
                f"unexpected entry: expected a {what} file <MAJOR.MINOR.PATCH>.json",
            )
        )
        return None
    try:
        return Version.parse(path.stem)
    except ValueError as exc:
        problems.append(
            LayoutProblem(
                path,
                "version-invalid",
                f"file name of a {what} must be <MAJOR.MINOR.PATCH>.json: {exc}",
            )
        )
        return None


def _scan_event(directory: Path, problems: list[LayoutProblem]) -> Event | None:
    name = directory.name
    if not _EVENT_NAME.match(name):
        problems.append(
            LayoutProblem(
                directory,
                "layout-invalid",
                f"event name {name!r} must be snake_case ([a-z][a-z0-9_]*)",
            )
        )
        return None
    event = Event(name, directory, _read_config(directory, problems))
    versions: list[EventVersion] = []
    for path in sorted(directory.iterdir()):
        if _ignored(path) or path.name == EVENT_CONFIG:
            continue
        if path.name == LENS_DIR and path.is_dir():
            event.lenses = _scan_lenses(path, problems)
            continue
        version = _version_of(path, problems, what="event version")
        if version is not None:
            versions.append(EventVersion(name, version, path))
    event.versions = sorted(versions, key=lambda v: v.version)
    return event


def _read_config(directory: Path, problems: list[LayoutProblem]) -> EventConfig:
    """event.json, falling back to defaults (recording the problem) when it is unusable."""
    path = directory / EVENT_CONFIG
    config = EventConfig(directory.name)
    if not path.is_file():
        problems.append(
            LayoutProblem(
                path,
                "event-config",
                f"missing {EVENT_CONFIG} (name, description, owner, compatibility)",
            )
        )
        return config
    try:
        source = read_json_file(path)
    except InvalidInput as exc:
        problems.append(
            LayoutProblem(path, "json-invalid", str(exc).split(": ", 1)[-1], *position_of(exc))
        )
        return config
    contents = source.contents
    if not isinstance(contents, Mapping):
        problems.append(
            LayoutProblem(path, "event-config", f"{EVENT_CONFIG} must be a JSON object")
        )
        return config
    _config_fields(source, contents, config, problems, path)
    return config


def _config_fields(
    source: SourceFile,
    contents: Mapping[str, Any],
    config: EventConfig,
    problems: list[LayoutProblem],
    path: Path,
) -> None:
    def problem(pointer: str, rule: str, message: str) -> None:
        loc = source.locate(pointer)
        problems.append(LayoutProblem(path, rule, message, loc.line, loc.column))

    name = contents.get("name")
    if name != config.name:
        problem(
            "/name",
            "version-mismatch",
            f"name {name!r} does not match the directory name {config.name!r}",
        )
    for key in ("description", "owner"):
        value = contents.get(key)
        if not isinstance(value, str) or not value.strip():
            problem(f"/{key}", "event-config", f"{key!r} must be a non-empty string")
        else:
            setattr(config, key, value)
    mode = contents.get("compatibility", DEFAULT_MODE.value)
    try:
        config.compatibility = Mode(mode)
    except ValueError:
        modes = ", ".join(m.value for m in Mode)
        problem("/compatibility", "event-config", f"compatibility {mode!r} is not a mode ({modes})")


def position_of(exc: InvalidInput) -> tuple[int, int]:
    """Line and column from an InvalidInput message 'file:line:col: ...' (1:1 when absent)."""
    match = re.match(r"^.*?:(\d+):(\d+): ", str(exc))
    return (int(match.group(1)), int(match.group(2))) if match else (1, 1)


def _scan_lenses(directory: Path, problems: list[LayoutProblem]) -> dict[tuple[int, int], Path]:
    lenses: dict[tuple[int, int], Path] = {}
    for path in sorted(directory.iterdir()):
        if _ignored(path):
            continue
        match = _LENS_NAME.match(path.name)
        if match is None or not path.is_file():
            problems.append(
                LayoutProblem(
                    path, "lens-invalid", "lens file name must be <FROM_MAJOR>-to-<TO_MAJOR>.json"
                )
            )
            continue
        lenses[(int(match.group(1)), int(match.group(2)))] = path
    return lenses
