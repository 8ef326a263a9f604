"""Fixtures of the demo tests: the real gateway (registry loaded with this repository's
contracts, real local streams, real adapters) served by uvicorn in a thread, with a write key
for every demo producer."""

from __future__ import annotations

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

from pipeline.demo.model import PRODUCERS
from pipeline.streams.local import StreamReader
from registry_service.app import create_app
from registry_service.registry.bootstrap import open_registry
from registry_service.settings import Settings


class Gateway:
    """The whole application on an ephemeral port, and its streams read back."""

    def __init__(self, data_dir: Path, template: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        for item in template.iterdir():
            if item.name.startswith("registry.db"):
                shutil.copy(item, data_dir / item.name)
        self.data_dir = data_dir
        self.settings = Settings(data_dir=data_dir, pii_key=b"demo-test-key")
        self.registry, self.keystore = open_registry(self.settings)
        self.keys = {p.name: self.keystore.create(p.source, p.name)[1] for p in PRODUCERS}
        self.app = create_app(self.settings, registry=self.registry, keystore=self.keystore)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._sock = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="critical", access_log=False)
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

    def records(self, stream: str) -> list[dict[str, Any]]:
        directory = self.data_dir / "streams" / stream
        if not directory.exists():
            return []
        return [orjson.loads(r.data) for _, r in StreamReader(directory).read(0, 1_000_000)]

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)
        self._sock.close()
        gateway = self.app.state.gateway
        gateway.events_sink.close()
        gateway.dead_letter_sink.close()
        self.registry.store.close()


@pytest.fixture
def gateway(tmp_path: Path, registry_template: Path) -> Iterator[Gateway]:
    served = Gateway(tmp_path / "data", registry_template)
    yield served
    served.close()
