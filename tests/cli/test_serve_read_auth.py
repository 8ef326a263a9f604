"""`refract serve --registry-read-auth`: anonymous registry reads as the operator chooses.

Compatibility checks cost CPU and reads show every contract, so a deployment facing the
internet can require a token for them; the flag wins over REFRACT_READ_AUTH both ways.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

TOKEN = "read-auth-admin-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status_of_anonymous_reads(tmp_path: Path, flags: list[str], env_read_auth: str) -> list[int]:
    port = _free_port()
    env = {
        **os.environ,
        "REFRACT_ADMIN_TOKEN": TOKEN,
        "REFRACT_PII_KEY": "k",
        "REFRACT_READ_AUTH": env_read_auth,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "refract",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
            *flags,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "refract serve did not start"
            time.sleep(0.2)
        anonymous = [
            httpx.get(f"{base}/subjects").status_code,
            httpx.post(
                f"{base}/compatibility/subjects/page_view/versions",
                json={"schema": "{}"},
            ).status_code,
        ]
        with_token = httpx.get(f"{base}/subjects", headers={"Authorization": f"Bearer {TOKEN}"})
        assert with_token.status_code == 200, with_token.text
        return anonymous
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)


@pytest.mark.parametrize(
    ("flags", "env_read_auth", "closed"),
    [
        (["--registry-read-auth"], "", True),
        ([], "1", True),
        (["--no-registry-read-auth"], "1", False),
        ([], "", False),
    ],
)
def test_registry_read_auth_flag(
    tmp_path: Path, flags: list[str], env_read_auth: str, closed: bool
) -> None:
    statuses = _status_of_anonymous_reads(tmp_path, flags, env_read_auth)
    if closed:
        assert statuses == [401, 401]
    else:
        assert statuses[0] == 200
        assert statuses[1] != 401  # open: the check runs (404: no such subject yet)
