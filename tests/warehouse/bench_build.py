"""Time `dbt build` on DuckDB for seeded traffic (not a test; quoted in docs/warehouse.md).

    python3 -m uv run --frozen python -m tests.warehouse.bench_build [USERS]

Sends the traffic of tests/warehouse/traffic.py through the real gateway core, loads it with the
real loader, then times a full-refresh build, an incremental build with nothing new, and an
incremental build after 5% more traffic, and the same with lookback_days=0 (pipeline.dbt.build_models,
models + tests).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from pipeline.dbt import DbtResult
from pipeline.dbt import build_models as _build
from registry_service.registry.bootstrap import open_registry
from registry_service.settings import Settings
from tests.gateway.conftest import Service
from tests.warehouse.conftest import Stack
from tests.warehouse.traffic import traffic


def build_models(path: Path, full_refresh: bool = False, **kwargs: object) -> DbtResult:
    """build_models, printing the process CPU time too (less sensitive to other load)."""
    started = time.process_time()
    result = _build(path, full_refresh, **kwargs)  # type: ignore[arg-type]
    print(f"  (cpu {time.process_time() - started:.1f} s)", end=" ")
    return result


def main(users: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="refract-bench-build-"))
    template = root / "template"
    template.mkdir()
    registry, _keys = open_registry(Settings(data_dir=template))
    registry.store.close()
    service = Service(root / "data", template)
    stack = Stack(service, root / "wh" / "warehouse.duckdb")
    sends = traffic(seed=5, users=users)
    extra = traffic(seed=6, users=max(1, users // 20))
    for send in sends:
        stack.send([send.event], send.producer)
    stack.load()
    (raw,) = stack.rows("select count(*) as n from raw.events")
    print(f"raw.events rows: {raw['n']}")
    for label, full in (("full refresh", True), ("incremental, nothing new", False)):
        result = build_models(stack.warehouse_path, full_refresh=full)
        print(f"{label}: {result.elapsed_s:.1f} s, success={result.success}")
    for send in extra:
        stack.send([send.event], send.producer)
    stack.load()
    result = build_models(stack.warehouse_path)
    print(f"incremental after {len(extra)} more events: {result.elapsed_s:.1f} s")
    # the same with lookback_days=0: only keys loaded since the last build are re-derived
    # (the loaded_at rule); the first run with new vars re-parses, so time the second one
    more = traffic(seed=7, users=max(1, users // 20))
    for send in more:
        stack.send([send.event], send.producer)
    stack.load()
    build_models(stack.warehouse_path, vars={"lookback_days": 0})
    for send in traffic(seed=8, users=max(1, users // 20)):
        stack.send([send.event], send.producer)
    stack.load()
    result = build_models(stack.warehouse_path, vars={"lookback_days": 0})
    print(f"incremental, lookback_days=0, after ~{len(more)} more events: {result.elapsed_s:.1f} s")
    counts = {
        t: stack.rows(f"select count(*) as n from {t}")[0]["n"]
        for t in ("conformed.referral_events", "conformed.sessions", "marts.attribution_facts")
    }
    print(counts)
    stack.close()
    service.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
