"""A real app (create_app on SQLite and local stream files) and readers of its two streams."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pipeline.streams.base import local_stream_directory
from pipeline.streams.local import StreamReader
from registry_service.model import Producer
from registry_service.settings import Settings

PRODUCER = Producer("k_test", "web", "promptflow-web")
NOW = "2026-03-14T09:30:00.000Z"


@dataclass
class Service:
    client: TestClient
    data_dir: Path
    key: str
    crm_key: str

    def _read(self, stream: str) -> list[dict[str, Any]]:
        reader = StreamReader(local_stream_directory(self.data_dir, stream))
        return [json.loads(record.data) for _, record in reader.read(0, 10_000)]

    def events(self) -> list[dict[str, Any]]:
        return self._read("events")

    def dead_letters(self) -> list[dict[str, Any]]:
        return self._read("dead_letters")

    def basic(self, key: str | None = None) -> dict[str, str]:
        token = base64.b64encode(f"{key or self.key}:".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def bearer(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.crm_key}"}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    from registry_service.app import create_app

    settings = Settings(data_dir=tmp_path, pii_key=b"test-pii-key")
    app = create_app(settings)
    _, key = app.state.keystore.create("web", "promptflow-web")
    _, crm_key = app.state.keystore.create("crm", "hubspot-sync")
    with TestClient(app) as client:
        yield Service(client, tmp_path, key, crm_key)
