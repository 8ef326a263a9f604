"""Schemathesis against the served /openapi.json: no 5xx, and every answer as documented.

The real service (uvicorn, SQLite registry with this repository's contracts, local streams)
is fuzzed by schemathesis's CLI, the same command docs/security.md gives for a local run.
Bounded so that it fits in `make test`: a fixed number of examples per operation, a fixed
seed, one worker, no shrinking, and a request timeout that is itself a check (a request the
server takes more than 10 s to answer is unbounded work, a defect). Credentials follow each operation's declared security: the write key for
the gateway and the adapters (Bearer, and Segment's basic auth), the admin token for the
registry. The run fails on any server error or any answer whose status code, content type or
body the document does not declare; the assertion message lists each failure with the request
that reproduces it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.gateway.conftest import ADMIN_TOKEN, Service

MAX_EXAMPLES = 20
SEED = 1
REQUEST_TIMEOUT_SECONDS = 10
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


def schemathesis_config(write_key: str) -> str:
    """schemathesis.toml: one credential per security scheme of the document, no caches."""
    return f"""
[auth.openapi.writeKey]
bearer = "{write_key}"

[auth.openapi.adminToken]
bearer = "{ADMIN_TOKEN}"

[auth.openapi.segmentBasic]
username = "{write_key}"
password = "unused"

[generation]
database = "none"

[cache]
enabled = false
"""


def run_schemathesis(service: Service, workdir: Path) -> subprocess.CompletedProcess[str]:
    config = workdir / "schemathesis.toml"
    config.write_text(schemathesis_config(service.write_key))
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{service.url}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        # a request that takes longer is a defect (per-request work must be bounded) and fails
        "--request-timeout",
        str(REQUEST_TIMEOUT_SECONDS),
        # shrinking replays a failing request many times; the reproducing curl line is enough
        "--no-shrink",
    ]
    return subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=900, check=False
    )


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    served: Service, tmp_path: Path
) -> None:
    result = run_schemathesis(served, tmp_path)
    output = result.stdout + result.stderr
    assert "Tested:" in output, output[-5000:]  # it ran against the served document
    assert result.returncode == 0, f"schemathesis reported failures:\n{report(output)}"


def report(output: str, limit: int = 20_000) -> str:
    """The failures and errors schemathesis printed, and its summary, within `limit` chars."""
    starts = [output.find(m) for m in ("FAILURES ===", "ERRORS ===") if m in output]
    details = output[min(starts) :] if starts else output
    if len(details) <= limit:
        return details
    summary = details[details.rfind("SUMMARY ===") :]
    return f"{details[: limit - len(summary)]}\n...\n{summary}"
