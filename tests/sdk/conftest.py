"""Fixtures of the SDK tests: one fault-injecting gateway per test session (per xdist worker),
reset before every test, and helpers to build events and wait with deadlines."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.sdk.server import WRITE_KEY, GatewayServer, Recorder

FAST = {
    "team": "web-platform",
    "app": "promptflow-web",
    "flush_interval": 0.05,
    "backoff_base": 0.01,
    "backoff_max": 0.05,
    "request_timeout": 2.0,
    "max_retry_time": 5.0,
    "exit_timeout": 5.0,
}
"""Emitter options that keep the suite fast: short intervals and backoffs."""


@pytest.fixture(scope="session")
def _gateway_server() -> Iterator[GatewayServer]:
    server = GatewayServer().start()
    yield server
    server.stop()


@pytest.fixture
def gateway(_gateway_server: GatewayServer) -> GatewayServer:
    _gateway_server.recorder.reset()
    return _gateway_server


@pytest.fixture
def recorder(gateway: GatewayServer) -> Recorder:
    return gateway.recorder


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def page_view(title: str = "Pricing | PromptFlow", **overrides: Any) -> dict[str, Any]:
    """A valid page_view/2.0.0 instance as a plain dict (no producer: the emitter stamps it)."""
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "schema": "page_view/2.0.0",
        "event_name": "page_view",
        "occurred_at": "2026-03-14T09:26:53.589Z",
        "source": "web",
        "user": {"anonymous_id": "0b7e4c1a-8d2f-4e6b-9a3c-5f1d2e8b7a90"},
        "device": {"type": "desktop", "browser": "Chrome", "locale": "en-US"},
        "referral": {"referrer_url": "https://chatgpt.com/", "utm_source": "chatgpt.com"},
        "privacy": {"consent": {"analytics": True, "marketing": False}},
        "page": {
            "view_id": str(uuid.uuid4()),
            "url": "https://app.promptflow.io/pricing?utm_source=chatgpt.com",
            "path": "/pricing",
            "title": title,
        },
    }
    event.update(overrides)
    return event


class Reports:
    """Collects on_error / on_drop calls (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.errors: list[tuple[Any, str, str]] = []
        self.drops: list[tuple[Any, str]] = []

    def on_error(self, event: Any, reason: str, message: str) -> None:
        with self._lock:
            self.errors.append((event, reason, message))

    def on_drop(self, event: Any, reason: str) -> None:
        with self._lock:
            self.drops.append((event, reason))

    def error_ids(self) -> list[str]:
        with self._lock:
            return [event_id(e) for e, _, _ in self.errors]

    def reasons(self) -> set[str]:
        with self._lock:
            return {r for _, r, _ in self.errors}


def event_id(event: Any) -> str:
    return event["event_id"] if isinstance(event, dict) else str(event.event_id)


@pytest.fixture
def reports() -> Reports:
    return Reports()


def wait_until(
    predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.01
) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return predicate()
        time.sleep(interval)


__all__ = ["FAST", "WRITE_KEY", "Reports", "event_id", "page_view", "wait_until"]
