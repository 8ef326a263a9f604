"""Where the read-only shared data lives (../shared beside the repository: the Confluent
compatibility examples and the labelled referral examples). The tests read it in place.

A clone made elsewhere (`git clone /work/main /tmp/x`) has no ../shared of its own; it finds the
data beside the repository it was cloned from (its `origin`, when that is a local path).
REFRACT_SHARED_DIR overrides both. When none exists, the conventional path is returned, so a
test fails naming the file it expected.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _origin_checkout() -> Path | None:
    try:
        url = subprocess.run(
            ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return None
    if not url or "://" in url or ":" in url.split("/", 1)[0]:
        return None  # no origin, or a remote one (https://, ssh://, git@host:...)
    path = Path(url.removeprefix("file://"))
    return path.resolve() if path.is_dir() else None


def shared_dir() -> Path:
    """The shared data directory (see the module docstring for the lookup order)."""
    override = os.environ.get("REFRACT_SHARED_DIR")
    if override:
        return Path(override)
    beside = REPO.parent / "shared"
    if beside.is_dir():
        return beside
    origin = _origin_checkout()
    if origin is not None and (origin.parent / "shared").is_dir():
        return origin.parent / "shared"
    return beside


SHARED = shared_dir()
