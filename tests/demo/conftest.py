"""Fixtures of the demo tests: the gateway tests' served application (tests/gateway/conftest.py:
registry loaded with this repository's contracts, real local streams, real adapters, uvicorn in
a thread), with a write key for every demo producer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipeline.demo.model import PRODUCERS
from tests.gateway.conftest import Service


@dataclass
class Gateway:
    """The served application and the demo producers' write keys (by producer name)."""

    service: Service
    keys: dict[str, str]

    @property
    def url(self) -> str:
        return self.service.url

    def records(self, stream: str) -> list[dict[str, Any]]:
        return self.service.records(stream)


@pytest.fixture
def gateway(tmp_path: Path, registry_template: Path) -> Iterator[Gateway]:
    service = Service(tmp_path / "data", registry_template).serve()
    keys = {p.name: service.keys.create(p.source, p.name)[1] for p in PRODUCERS}
    yield Gateway(service, keys)
    service.close()
