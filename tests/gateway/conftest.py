"""Fixtures of the gateway tests: the real registry (SQLite, loaded with this repository's
contracts once per session and copied per test), real local streams, the real classifier, and
the whole application served by uvicorn in a thread on an ephemeral port."""

from __future__ import annotations

import base64
import importlib.util
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from fastapi import FastAPI

from pipeline.streams.local import StreamReader
from registry_service.app import create_app
from registry_service.registry.bootstrap import open_registry
from registry_service.settings import Settings

PII_KEY = b"test-pii-key"
ADMIN_TOKEN = "admin-token-for-tests"
HAS_ADAPTERS = importlib.util.find_spec("registry_service.adapters") is not None


class Service:
    """One installation: data dir, settings, registry, keys, the app; optionally served."""

    def __init__(self, data_dir: Path, template: Path, **settings: Any) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        for item in template.iterdir():
            if item.name.startswith("registry.db"):
                shutil.copy(item, data_dir / item.name)
        self.data_dir = data_dir
        self.settings = Settings(
            data_dir=data_dir,
            pii_key=PII_KEY,
            admin_token_sha256=Settings.from_env(
                {"REFRACT_ADMIN_TOKEN": ADMIN_TOKEN}
            ).admin_token_sha256,
            **settings,
        )
        self.registry, self.keys = open_registry(self.settings)
        self.key_id, self.write_key = self.keys.create("web", "web-platform")
        self.app: FastAPI = create_app(
            self.settings,
            registry=self.registry,
            keystore=self.keys,
            with_adapters=HAS_ADAPTERS,
        )
        self.gateway = self.app.state.gateway
        self.url = ""
        self._server: uvicorn.Server | None = None

    # -- the streams, read back --------------------------------------------------------------

    def records(self, stream: str) -> list[dict[str, Any]]:
        directory = self.data_dir / "streams" / stream
        if not directory.exists():
            return []
        reader, out, offset = StreamReader(directory), [], 0
        while page := reader.read(offset, 10_000):  # every record, however many
            out.extend(orjson.loads(record.data) for _, record in page)
            offset = page[-1][0] + 1
        return out

    def events(self) -> list[dict[str, Any]]:
        return self.records("events")

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.records("dead_letters")

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.write_key}"}

    def basic_auth(self) -> dict[str, str]:
        """Segment's convention: the write key as the basic-auth user name."""
        token = base64.b64encode(f"{self.write_key}:".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    # -- serving --------------------------------------------------------------------------------

    def serve(self) -> Service:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._sock = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            self.app, log_level="critical", timeout_graceful_shutdown=1, access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(5)
            self._sock.close()
        self.gateway.events_sink.close()
        self.gateway.dead_letter_sink.close()
        self.registry.store.close()


@pytest.fixture
def installation(tmp_path: Path, registry_template: Path) -> Iterator[Service]:
    """The application with real parts, not served (for the processing core)."""
    service = Service(tmp_path / "data", registry_template)
    yield service
    service.close()


@pytest.fixture
def service(tmp_path: Path, registry_template: Path) -> Iterator[Service]:
    """The application served by uvicorn on 127.0.0.1 (ephemeral port)."""
    service = Service(tmp_path / "data", registry_template).serve()
    yield service
    service.close()


def example(event: str, version: str, index: int = 0) -> dict[str, Any]:
    """A contract example (valid by the contract's own lint), as a fresh dict."""
    root = Path(__file__).resolve().parents[2] / "contracts" / "events" / event
    return orjson.loads((root / f"{version}.json").read_bytes())["examples"][index]  # type: ignore[no-any-return]
