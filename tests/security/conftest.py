"""Fixtures of the service-surface tests: the whole application (registry with this
repository's contracts, a write key, the admin token, local streams) served by uvicorn on an
ephemeral port, as a client on the internet would reach it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import Service


@pytest.fixture
def served(tmp_path: Path, registry_template: Path) -> Iterator[Service]:
    """The service with its default settings (anonymous registry reads)."""
    service = Service(tmp_path / "data", registry_template).serve()
    yield service
    service.close()


@pytest.fixture
def served_read_auth(tmp_path: Path, registry_template: Path) -> Iterator[Service]:
    """The service with registry reads behind a token (REFRACT_READ_AUTH)."""
    service = Service(tmp_path / "data", registry_template, read_auth=True).serve()
    yield service
    service.close()


def openapi_document(service: Service) -> dict[str, Any]:
    """/openapi.json as served (not app.openapi(): what clients and fuzzers see)."""
    response = httpx.get(f"{service.url}/openapi.json", timeout=10)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(document: Mapping[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation in an OpenAPI document."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    for path, item in document.get("paths", {}).items():
        for method, op in item.items():
            if method in methods:
                yield method, path, op
