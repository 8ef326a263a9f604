"""The fakesnow fixture (Snowflake SQL on DuckDB behind Snowflake's HTTP API), registered for the
whole suite (tests/conftest.py): one server per test session (per xdist worker).

`fakesnow.server()` cannot be called twice in one process: its first call imports the
`fakesnow.server` submodule, which replaces the package's `server` function with the module
(fakesnow 0.12.1). So the server is started here from the submodule's ASGI app, the way that
function does it, under uvicorn in a thread.
"""

from __future__ import annotations

import importlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn


@pytest.fixture(scope="session")
def fakesnow_server() -> Iterator[dict[str, Any]]:
    """Connection kwargs for `snowflake.connector.connect` against a running fakesnow server.

    fakesnow is a dev dependency, so it is always installed: failing to start is a failure.
    """
    app = importlib.import_module("fakesnow.server").app
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="fakesnow server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the fakesnow server did not start on port {port}")
        time.sleep(0.05)
    try:
        yield {
            "user": "fake",
            "password": "snow",
            "account": "fakesnow",
            "host": "127.0.0.1",
            "port": port,
            "protocol": "http",
            "session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
            "network_timeout": 30,
        }
    finally:
        server.should_exit = True
        thread.join(10)
