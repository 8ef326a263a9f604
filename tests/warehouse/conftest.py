"""Fixtures of the warehouse tests: real events through the real gateway core (registry built
from this repository's contracts, real classifier, local streams), loaded by the real loader
into a DuckDB file, then the dbt project built on it with pipeline.dbt.

`Stack.send(events, producer)` ingests through `Gateway.ingest` (what the HTTP route and the
adapters call) and asserts every event was accepted; `load()` runs the loader until caught up;
`build()` runs `dbt build`; `rows()` reads a relation back with the DuckDB client.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.dbt import DbtResult, build_models
from pipeline.loader.loader import Loader
from pipeline.loader.sources import LocalSource
from pipeline.loader.warehouse import Warehouse, open_warehouse
from registry_service.model import Producer
from tests.gateway.conftest import Service

WEB = Producer("key-web", "web", "promptflow-web")
BACKEND = Producer("key-backend", "backend", "accounts-service")
PROBE = Producer("key-probe", "web", "refract-latency-probe")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


class Stack:
    """Gateway core -> local streams -> loader -> DuckDB warehouse -> dbt."""

    def __init__(self, service: Service, warehouse_path: Path) -> None:
        self.service = service
        self.warehouse_path = warehouse_path
        self.loader = Loader(LocalSource(service.data_dir), self._open)

    def _open(self) -> Warehouse:
        return open_warehouse(self.warehouse_path)

    def send(self, events: list[dict[str, Any]], producer: Producer = WEB) -> None:
        outcomes = self.service.gateway.ingest(events, producer, "sdk")
        rejected = [o for o in outcomes if o.status != "accepted"]
        assert not rejected, f"gateway rejected test events: {rejected}"

    def send_raw(self, events: list[Any], producer: Producer = WEB) -> list[Any]:
        """Send without asserting (bad data for the DQ checks); returns the outcomes."""
        return list(self.service.gateway.ingest(events, producer, "sdk"))

    def load(self) -> None:
        self.loader.load_until_caught_up()

    def build(self, full_refresh: bool = False, **vars: Any) -> DbtResult:
        result = build_models(self.warehouse_path, full_refresh=full_refresh, vars=vars or None)
        assert result.success, "dbt build failed:\n" + "\n".join(result.failures)
        return result

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        with duckdb.connect(str(self.warehouse_path)) as con:
            con.execute(sql, params or [])

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        with duckdb.connect(str(self.warehouse_path), read_only=True) as con:
            cursor = con.execute(sql, params or [])
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        self.loader.close()


@pytest.fixture
def stack(tmp_path: Path, registry_template: Path) -> Iterator[Stack]:
    service = Service(tmp_path / "data", registry_template)
    out = Stack(service, tmp_path / "wh" / "warehouse.duckdb")
    yield out
    out.close()
    service.close()
