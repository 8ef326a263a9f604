"""`refract serve` as an operator runs it: a real process, embedded defaults, JSON logs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refract_serve_starts_with_embedded_defaults_and_logs_json(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "REFRACT_ADMIN_TOKEN": "t0ken", "REFRACT_PII_KEY": "k"}
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "refract"),
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "refract serve did not start"
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/docs").status_code == 200
        refused = httpx.post(f"http://127.0.0.1:{port}/v1/events", json={"events": []})
        assert refused.status_code == 401
        assert (tmp_path / "registry.db").exists()
        assert (tmp_path / "streams" / "dead_letters").is_dir()
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("msg") == "request"]
    assert any(r["path"] == "/v1/events" and r["status"] == 401 for r in requests), stderr
    assert "127.0.0.1" not in "".join(json.dumps(r) for r in requests), "no client addresses"
