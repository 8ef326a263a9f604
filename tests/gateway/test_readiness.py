"""/readyz follows the streams: a full disk makes the node not ready, room makes it ready.

Issue 10: on a full disk every write answered 503 while /readyz kept saying ready, so a load
balancer kept sending traffic to a node that could store nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import Service, example
from tests.streams.disk import FullDisk


@pytest.fixture
def served(tmp_path: Path, registry_template: Path) -> Iterator[Service]:
    service = Service(tmp_path / "data", registry_template).serve()
    yield service
    service.close()


def post_one(service: Service) -> httpx.Response:
    body = json.dumps({"events": [example("page_view", "2.0.0")]}).encode()
    headers = {"Content-Type": "application/json", **service.auth()}
    return httpx.post(f"{service.url}/v1/events", content=body, headers=headers, timeout=10)


@pytest.mark.parametrize("stream", ["events", "dead_letters"])
def test_readyz_reports_a_full_disk_and_recovers(
    served: Service, monkeypatch: pytest.MonkeyPatch, stream: str
) -> None:
    assert httpx.get(f"{served.url}/readyz").status_code == 200
    disk = FullDisk(monkeypatch, served.data_dir / "streams" / stream)
    disk.fill()
    if stream == "events":
        assert post_one(served).status_code == 503
    else:  # a refused request must be dead-lettered before its 4xx: 503 instead
        response = httpx.post(
            f"{served.url}/v1/events",
            content=b"not json",
            headers={"Content-Type": "application/json", **served.auth()},
            timeout=10,
        )
        assert response.status_code == 503
    ready = httpx.get(f"{served.url}/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not_ready"
    assert "No space left on device" in body["checks"][stream]
    assert httpx.get(f"{served.url}/readyz").status_code == 503  # stays so while full
    disk.free()
    again = httpx.get(f"{served.url}/readyz")  # no write needed: the probe wrote itself
    assert again.status_code == 200, again.text
    assert post_one(served).status_code == 200
