"""Fixtures of the loader tests (named loader_*): the real gateway in-process, writing real
local streams; a fakesnow server standing in for Snowflake; record bodies shaped exactly as
the gateway writes them, for streams the tests fill directly (Kinesis, bad records)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.gateway.conftest import Service, example


@pytest.fixture
def loader_gateway(tmp_path: Path, registry_template: Path) -> Iterator[Service]:
    """The gateway served by uvicorn on 127.0.0.1, writing local streams under its data dir."""
    service = Service(tmp_path / "data", registry_template).serve()
    yield service
    service.close()


@pytest.fixture(scope="session")
def loader_fakesnow(fakesnow_server: dict[str, Any]) -> dict[str, Any]:
    """The suite's fakesnow server (tests/support/fakesnow_server.py): connection kwargs."""
    return fakesnow_server


def loader_snowflake_url(kwargs: dict[str, Any], database: str | None = None) -> str:
    """A snowflake:// URL for the fakesnow server, with a fresh database per call."""
    name = database or f"loader_{uuid.uuid4().hex[:10]}"
    return (
        f"snowflake://{kwargs['user']}:{kwargs['password']}@{kwargs['account']}/{name}"
        f"?host={kwargs['host']}&port={kwargs['port']}&protocol={kwargs['protocol']}"
        "&create_database=true"
    )


def event_body(
    event: dict[str, Any],
    received_at: str = "2026-03-14T09:26:53.901Z",
    origin: str = "sdk",
) -> bytes:
    """An events-stream record body as the gateway writes it (docs/streams.md)."""
    gateway = {
        "host": "test-host",
        "version": "test",
        "origin": origin,
        "producer": {"key_id": "k1", "source": event.get("source"), "name": "web-platform"},
        "upcast_from": None,
    }
    return orjson.dumps({"event": event, "received_at": received_at, "gateway": gateway})


def dead_letter_body(reason: str = "schema_violation", **extra: Any) -> bytes:
    """A dead-letter-stream record body as the gateway writes it (docs/dead-letters.md)."""
    body: dict[str, Any] = {
        "reason": reason,
        "message": "/page/url: bad",
        "received_at": "2026-03-14T09:26:54.000Z",
        "origin": "sdk",
        "producer": {"key_id": "k1", "source": "web", "name": "web-platform"},
        "payload": {"event_id": "dl-1", "schema": "page_view/2.0.0"},
    }
    body.update(extra)
    return orjson.dumps(body)


def page_view(event_id: str, **changes: Any) -> dict[str, Any]:
    """The page_view 2.0.0 contract example with another event_id (and changes)."""
    event = example("page_view", "2.0.0")
    event["event_id"] = event_id
    event.update(changes)
    return event
