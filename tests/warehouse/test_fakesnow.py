"""The same models in Snowflake's dialect: a full-refresh `dbt build --target fakesnow` against a
fakesnow server (Snowflake SQL rewritten onto DuckDB), on raw rows the real loader wrote through
its snowflake:// warehouse, must give the same tables as the DuckDB target on the same stream.

Only a full refresh: dbt-snowflake's incremental path creates a temporary table or view, which
fakesnow refuses ("TEMPORARY table names can only use the temp catalog"); see docs/warehouse.md.
fakesnow is a dev dependency: without it the test skips, except in CI where it fails.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from pipeline.dbt import build_models
from pipeline.loader.loader import Loader
from pipeline.loader.sources import LocalSource
from pipeline.loader.warehouse import open_warehouse
from tests.warehouse.conftest import Stack
from tests.warehouse.traffic import traffic

# Compared columns: everything but load and build times (each warehouse was loaded by its own
# loader run), the DQ message text (Snowflake spells the
# numbers in `details` its own way) and freshness (measured against the build's clock).
TABLES = {
    "conformed.referral_events": "queryable_at,last_loaded_at",
    "conformed.identities": "",
    "conformed.session_events": "last_loaded_at",
    "conformed.sessions": "",
    "marts.attribution_facts": "",
    "marts.referral_kpis": "",
    "dq.results": "measured_at,details",
}


def normal(value: Any) -> Any:
    if isinstance(value, float | Decimal):
        return round(float(value), 9)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return value
    return value


def table(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(normal(v) for v in row) for row in rows), key=repr)


def columns_of(stack: Stack, name: str, excluded: str) -> list[str]:
    schema, relation = name.split(".")
    rows = stack.rows(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, relation],
    )
    skip = set(filter(None, excluded.split(",")))
    return [r["column_name"] for r in rows if r["column_name"] not in skip]


def test_full_refresh_on_fakesnow_equals_duckdb(
    stack: Stack, fakesnow_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for send in traffic(seed=11, users=25):
        stack.send([send.event], send.producer)
    stack.load()
    stack.build(full_refresh=True)

    port = fakesnow_server["port"]
    url = (
        f"snowflake://fake:snow@fakesnow/REFRACT?host=127.0.0.1&port={port}"
        "&protocol=http&warehouse=fake&create_database=true"
    )
    loader = Loader(LocalSource(stack.service.data_dir), lambda: open_warehouse(url))
    loader.load_until_caught_up()
    loader.close()
    monkeypatch.setenv("REFRACT_FAKESNOW_HOST", "127.0.0.1")
    monkeypatch.setenv("REFRACT_FAKESNOW_PORT", str(port))
    result = build_models(None, full_refresh=True, target="fakesnow")
    assert result.success, "dbt build --target fakesnow failed:\n" + "\n".join(result.failures)

    import snowflake.connector

    with snowflake.connector.connect(**fakesnow_server, database="REFRACT") as con:
        for name, excluded in TABLES.items():
            columns = columns_of(stack, name, excluded)
            where = "where check_name <> 'freshness'" if name == "dq.results" else ""
            select = f"select {', '.join(columns)} from {name} {where}"
            duck = table([tuple(r.values()) for r in stack.rows(select)])
            cursor = con.cursor()
            cursor.execute(select)
            snow = table(list(cursor.fetchall()))
            assert duck, f"{name} is empty on DuckDB: the comparison would prove nothing"
            differing = [
                (columns[i], a[i], b[i])
                for a, b in zip(snow, duck, strict=False)
                for i in range(len(columns))
                if a[i] != b[i]
            ][:5]
            assert len(snow) == len(duck), (
                f"{name}: {len(snow)} rows on fakesnow, {len(duck)} on DuckDB"
            )
            assert snow == duck, f"{name}: fakesnow and DuckDB differ: {differing}"
