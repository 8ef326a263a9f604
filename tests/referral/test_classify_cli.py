"""`refract classify` as a process: JSONL in, one result per line out, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.referral.test_classifier import _examples

REPO = Path(__file__).resolve().parents[2]


def _run(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "refract", "classify", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_classifies_the_shared_examples_line_by_line() -> None:
    examples = _examples()
    stdin = "".join(
        json.dumps({"page_url": e["page_url"], "referrer": e["referrer"]}) + "\n" for e in examples
    )
    done = _run(stdin)
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == len(examples)
    for example, result in zip(examples, results, strict=True):
        assert set(result) == {"channel", "ai_platform", "method", "conflict"}
        assert (result["channel"], result["ai_platform"]) == (
            example["channel"],
            example["ai_platform"],
        )


def test_bad_lines_keep_alignment_and_exit_2() -> None:
    stdin = '{"referrer": "https://claude.ai/"}\n\n[1]\n{"referrer": 5}\n{"utm": {"utm_source": "gemini"}}\n'
    done = _run(stdin)
    assert done.returncode == 2
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["ai_platform"] == "claude"
    assert lines[1] == {"error": "line 3: expected a JSON object, got list"}
    assert lines[2] == {"error": "line 4: referrer must be a string or null, got int"}
    assert lines[3]["ai_platform"] == "gemini"
    assert "<stdin>:3:" in done.stderr and "<stdin>:4:" in done.stderr


def test_invalid_rules_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "1.0.0.json"
    bad.write_text('{"version": "1.0.0"}')
    done = _run("{}\n", "--rules", str(bad))
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert "1.0.0.json:1:1: invalid referral rules" in done.stderr
