"""Data files only their owner can read: files 0600, directories 0700.

Stream segments hold every event and the dead letters hold raw e-mail and IP addresses by
design (docs/dead-letters.md); the registry database holds the write keys' hashes. Issue 10
found them world-readable (0644 under 0755). Every part of an installation that creates such a
file or directory (local streams, the SQLite registry, the DuckDB warehouse, pii.key) uses these
helpers, so the modes do not depend on the umask of whoever started the process.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def private_directory(path: str | Path, *, tighten_existing: bool = True) -> Path:
    """Create ``path`` (and missing parents) as 0700, and tighten it when it exists wider
    (unless ``tighten_existing`` is False: a directory that is not ours alone, such as the
    working directory a warehouse file is put in).

    Parents that already exist are left alone (they may be /var/lib or a home directory);
    parents created here are 0700 too.
    """
    directory = Path(path)
    missing: list[Path] = []
    probe = directory
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for item in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it first
            item.mkdir(mode=DIRECTORY_MODE)
        _tighten(item, DIRECTORY_MODE)
    if not missing and tighten_existing:
        _tighten(directory, DIRECTORY_MODE)
    return directory


def private_file(path: str | Path) -> None:
    """Tighten an existing file to 0600 (created by a library that ignores our mode)."""
    _tighten(Path(path), FILE_MODE)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files created inside the block are at most 0600 / 0700.

    For libraries that create files themselves (DuckDB). The umask is process-wide, so keep
    the block to the one call that creates the file.
    """
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _tighten(path: Path, mode: int) -> None:
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & ~mode:
        # only the owner may chmod; a file owned by someone else keeps its mode (and the
        # operator is told by the caller's own error if it cannot be used)
        with contextlib.suppress(PermissionError):
            os.chmod(path, current & mode)
