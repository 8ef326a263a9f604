"""What changed in the contracts since a git reference, and the contracts as they were then.

`refract check` compares every added or changed contract with the history it had at the base
reference; this module is its only contact with git (through the `git` command, which every CI
runner has), so the rest of the checker works on plain directories.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from compat.source import InvalidInput


def _git(repo: Path, *args: str) -> str:
    if not repo.is_dir():
        raise InvalidInput(f"{repo}: no such directory")
    try:
        result = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=False, timeout=120
        )
    except FileNotFoundError:
        raise InvalidInput("git is not installed; `refract check` needs it") from None
    if result.returncode != 0:
        message = result.stderr.strip().splitlines()[-1:] or ["failed"]
        raise InvalidInput(f"git {' '.join(args)}: {message[0]}")
    return result.stdout


def repo_root(path: Path) -> Path:
    """The top of the git work tree containing `path`."""
    return Path(_git(path, "rev-parse", "--show-toplevel").strip())


def _commit_of(repo: Path, ref: str) -> str | None:
    """The commit id `ref` names in `repo`, or None when it names none."""
    probe = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def default_base(repo: Path) -> str:
    """The merge base of HEAD with main (origin/main when there is no local main).

    On main itself that is HEAD, so `refract check` then covers uncommitted changes only.
    """
    for candidate in ("main", "origin/main", "master", "origin/master"):
        if _commit_of(repo, candidate) is not None:
            return _git(repo, "merge-base", "HEAD", candidate).strip()
    raise InvalidInput("no main branch to compare with; pass --against GIT_REF")


def resolve_ref(repo: Path, ref: str) -> str:
    """The commit id a user-given reference names; InvalidInput when it names none."""
    commit = _commit_of(repo, ref)
    if commit is None:
        raise InvalidInput(f"--against {ref}: not a git commit, branch or tag in {repo}")
    return commit


def changed_files(repo: Path, base: str, under: str) -> set[str]:
    """Paths (relative to the repo) under `under` that differ from `base` in the work tree,
    including uncommitted and untracked files, and deleted ones."""
    tracked = _git(repo, "diff", "--name-only", "--no-renames", base, "--", under).splitlines()
    untracked = _git(repo, "ls-files", "--others", "--exclude-standard", "--", under).splitlines()
    return {line for line in (*tracked, *untracked) if line}


def export_tree(repo: Path, ref: str, under: str, destination: Path) -> bool:
    """Write the files under `under` as they were at `ref` into `destination`.

    Returns False when `under` did not exist at `ref` (a first commit of contracts).
    """
    listing = _git(repo, "ls-tree", "-r", "--name-only", ref, "--", under)
    if not listing.strip():
        return False
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "--", under],
        cwd=repo,
        capture_output=True,
        check=False,
        timeout=120,
    )
    if archive.returncode != 0:
        raise InvalidInput(
            f"git archive {ref} {under}: {archive.stderr.decode(errors='replace').strip()}"
        )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    return True
