"""`refract diff` and `refract lint` through a real subprocess: references stay in the root.

A contracts checkout may come from a pull request, so a `$ref` in it is untrusted input: it
must not read a file outside the contracts root (by `../..` or through a symlink), nor block
on a FIFO, nor read a device. Each case must exit 2 with one line naming the problem, within
the subprocess timeout (a hang fails the test instead of hanging the suite).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_diff_cli import V1, write

SECRET = {"type": "object", "properties": {"token": {"const": "hunter2-secret"}}}


def refract(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "refract", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def with_ref(ref: str) -> dict[str, Any]:
    return {**V1, "properties": {**V1["properties"], "extra": {"$ref": ref}}}


def _expect_refusal(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0], lines[0]
    assert "hunter2-secret" not in result.stdout + result.stderr


@pytest.mark.parametrize("ref", ["../secret.json", "../../../../../../../../../etc/passwd"])
def test_diff_refuses_a_dotdot_escape(tmp_path: Path, ref: str) -> None:
    write(tmp_path / "secret.json", SECRET)
    work = tmp_path / "work"
    work.mkdir()
    old = write(work / "old.json", V1)
    new = write(work / "new.json", with_ref(ref))
    _expect_refusal(refract("diff", str(old), str(new), cwd=work), "outside")


def test_diff_refuses_a_symlink_escape(tmp_path: Path) -> None:
    secret = write(tmp_path / "secret.json", SECRET)
    work = tmp_path / "work"
    work.mkdir()
    (work / "shared.json").symlink_to(secret)
    old = write(work / "old.json", V1)
    new = write(work / "new.json", with_ref("shared.json"))
    _expect_refusal(refract("diff", str(old), str(new), cwd=work), "outside")


def test_diff_refuses_a_fifo_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.json")
    old = write(tmp_path / "old.json", V1)
    new = write(tmp_path / "new.json", with_ref("pipe.json"))
    _expect_refusal(refract("diff", str(old), str(new), cwd=tmp_path), "not a regular file")
    fifo_arg = refract("diff", str(old), str(tmp_path / "pipe.json"), cwd=tmp_path)
    _expect_refusal(fifo_arg, "not a regular file")


def test_diff_refuses_a_device_argument(tmp_path: Path) -> None:
    old = write(tmp_path / "old.json", V1)
    _expect_refusal(refract("diff", str(old), "/dev/zero", cwd=tmp_path), "not a regular file")


def test_lint_of_a_contracts_tree_refuses_refs_leaving_it(tmp_path: Path) -> None:
    write(tmp_path / "secret.json", SECRET)
    tree = tmp_path / "contracts"
    (tree / "events" / "e").mkdir(parents=True)
    (tree / "common" / "u").mkdir(parents=True)
    write(tree / "common" / "u" / "1.0.0.json", with_ref("../../../secret.json"))
    result = refract("lint", str(tree / "common" / "u" / "1.0.0.json"), cwd=tmp_path)
    assert "hunter2-secret" not in result.stdout + result.stderr
    assert result.returncode in (1, 2), (result.stdout, result.stderr)
    assert "outside" in result.stdout + result.stderr
