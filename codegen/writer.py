"""Writing generated files, and checking that the checked-in ones are current.

Generated code is checked in, so a contract change without regeneration must fail CI:
`compare` lists every file whose text differs from a fresh rendering (stale), that a
rendering would add (missing), and every generated file on disk that no contract produces
any more (extra: it still carries the generated header). `write` brings the directory to the
rendering: it rewrites only files that changed, so unchanged files keep their timestamps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

_SKIPPED_DIRS = {"__pycache__"}


@dataclass
class Comparison:
    """Relative POSIX paths of the files that differ from the rendering, by kind."""

    stale: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    current: int = 0

    @property
    def up_to_date(self) -> bool:
        return not (self.stale or self.missing or self.extra)

    def entries(self) -> list[tuple[str, str]]:
        """(kind, path) for every file out of date, sorted by path."""
        rows = [
            *(("stale", p) for p in self.stale),
            *(("missing", p) for p in self.missing),
            *(("extra", p) for p in self.extra),
        ]
        return sorted(rows, key=lambda row: row[1])


def compare(
    rendered: Mapping[str, str], out: Path, header_prefix: str, suffixes: tuple[str, ...]
) -> Comparison:
    """How the files under `out` differ from `rendered` (relative path -> text)."""
    result = Comparison()
    for relative, text in sorted(rendered.items()):
        path = out / relative
        try:
            on_disk = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            result.missing.append(relative)
            continue
        if on_disk == text:
            result.current += 1
        else:
            result.stale.append(relative)
    result.extra = [
        relative
        for relative in generated_files(out, header_prefix, suffixes)
        if relative not in rendered
    ]
    return result


def generated_files(out: Path, header_prefix: str, suffixes: tuple[str, ...]) -> list[str]:
    """Relative paths of the files under `out` that start with the generated header."""
    if not out.is_dir():
        return []
    found = []
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.suffix not in suffixes:
            continue
        if _SKIPPED_DIRS.intersection(path.relative_to(out).parts):
            continue
        with path.open(encoding="utf-8", errors="replace") as handle:
            if handle.readline().startswith(header_prefix):
                found.append(path.relative_to(out).as_posix())
    return found


def write(rendered: Mapping[str, str], out: Path, comparison: Comparison) -> None:
    """Write stale and missing files, delete extra ones (and directories they leave empty)."""
    for relative in [*comparison.stale, *comparison.missing]:
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered[relative], encoding="utf-8")
    for relative in comparison.extra:
        path = out / relative
        path.unlink()
        _remove_empty_parents(path.parent, out)


def _remove_empty_parents(directory: Path, out: Path) -> None:
    """Drop directories emptied by deletions (a removed event's package), up to `out`."""
    while directory != out and directory.is_dir():
        cache = directory / "__pycache__"
        leftovers = [p for p in directory.iterdir() if p != cache]
        if leftovers:
            return
        if cache.is_dir():
            for cached in cache.iterdir():
                cached.unlink()
            cache.rmdir()
        directory.rmdir()
        directory = directory.parent
