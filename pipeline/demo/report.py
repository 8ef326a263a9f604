"""The demo report: what the warehouse says about the traffic, next to what was injected.

Read from the DuckDB warehouse after the stack stopped (a read-only connection, so it also
works beside a stopped runner). Every figure in `Report.sections` comes from the tables the
dbt models build and is a function of the seed alone; end-to-end latency (probes'
`queryable_at - occurred_at`), freshness and run timings depend on the machine and are kept
apart in `Report.measurements`, the only non-deterministic part. `deterministic_json()` is
what tests compare across runs.

Where the generator knows the truth (injected duplicates, dead letters per reason), the
report shows measured and injected side by side and `Report.mismatches` lists disagreements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipeline.demo.model import PROBE_PRODUCER

AI_PLATFORMS = ("chatgpt", "claude", "gemini", "perplexity", "copilot")
OTHER_CHANNELS = ("search", "social", "email", "paid", "referral", "direct", "internal", "unknown")
ATTRIBUTION_MODELS = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "position_based",
    "time_decay",
)


class ReportError(RuntimeError):
    """The warehouse cannot answer the report (missing file or relation): one line."""


@dataclass
class Table:
    """One section of the report: a title, column names and rows of plain values."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "columns": self.columns, "rows": self.rows}


@dataclass
class Report:
    seed: int | None
    sections: list[Table]
    measurements: dict[str, Any] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    def section(self, key: str) -> Table:
        for table in self.sections:
            if table.key == key:
                return table
        raise KeyError(key)

    def deterministic_json(self) -> dict[str, Any]:
        """Everything that must be identical for two runs with the same seed."""
        return {
            "seed": self.seed,
            "sections": {t.key: t.to_json() for t in self.sections},
            "mismatches": self.mismatches,
        }

    def text(self) -> str:
        lines = [f"Refract demo report (seed {self.seed})", ""]
        for table in self.sections:
            lines += render_table(table)
            lines.append("")
        lines.append("Measured on this machine (not deterministic):")
        for label, value in self.measurements.items():
            lines.append(f"  {label}: {value}")
        if self.mismatches:
            lines.append("")
            lines.append("MISMATCHES between the warehouse and what was injected:")
            lines += [f"  - {m}" for m in self.mismatches]
        return "\n".join(lines)


def render_table(table: Table) -> list[str]:
    """A fixed-width text table (numbers right-aligned)."""
    cells = [
        [format_cell(v, c) for v, c in zip(row, table.columns, strict=True)] for row in table.rows
    ]
    widths = [
        max(len(str(c)), *(len(row[i]) for row in cells)) if cells else len(str(c))
        for i, c in enumerate(table.columns)
    ]
    out = [table.title, "-" * len(table.title)]
    out.append(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(table.columns, widths, strict=True))
        )
    )
    for row in cells:
        out.append(
            "  ".join(
                v.ljust(w) if i == 0 else v.rjust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    if table.note:
        out.append(f"({table.note})")
    return out


def format_cell(value: Any, column: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float) and column.endswith("%"):
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def pct(numerator: float | None, denominator: float | None) -> float | None:
    """A percentage rounded to 0.1, None when undefined."""
    if not denominator or numerator is None:
        return None
    return round(100.0 * numerator / denominator, 1)


def build_report(
    warehouse: Path,
    expected: Mapping[str, Any] | None = None,
    *,
    measurements: Mapping[str, Any] | None = None,
    refused: Mapping[str, int] | None = None,
) -> Report:
    """Query the warehouse file (read-only) and assemble the report.

    `expected` is `Expected.to_json()` of the generator (None: no comparison columns);
    `measurements` are extra non-deterministic figures (timings, probes sent); `refused` is
    what the sender saw refused at the door (`SendResult.refused`), which the warehouse cannot
    show because nothing of those requests is stored.
    """
    if not warehouse.is_file():
        raise ReportError(f"{warehouse}: no warehouse file (did the pipeline run?)")
    try:
        connection = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as exc:
        raise ReportError(f"{warehouse}: cannot open read-only: {exc}") from None
    try:
        return _build(connection, expected or {}, dict(measurements or {}), refused)
    except duckdb.CatalogException as exc:
        first = str(exc).splitlines()[0]
        raise ReportError(f"{warehouse}: the dbt models are missing ({first})") from None
    finally:
        connection.close()


def _rows(connection: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return connection.execute(sql, list(params)).fetchall()


def _group_order(group: str) -> tuple[int, str]:
    if group in AI_PLATFORMS:
        return (0, f"{AI_PLATFORMS.index(group):02d}")
    if group in OTHER_CHANNELS:
        return (2, f"{OTHER_CHANNELS.index(group):02d}")
    return (1, group)  # other AI platforms (deepseek, grok, ...) after the big five


def _build(
    connection: duckdb.DuckDBPyConnection,
    expected: Mapping[str, Any],
    measured: dict[str, Any],
    refused: Mapping[str, int] | None = None,
) -> Report:
    sections = [
        _conversion(connection),
        _retention(connection),
        _attribution(connection),
    ]
    duplicates, mismatches = _duplicates(connection, expected)
    dead, dead_mismatches = _dead_letters(connection, expected)
    sections += [duplicates, dead]
    if refused is not None:
        refusals, refused_mismatches = _refused(refused, expected)
        sections.append(refusals)
        dead_mismatches += refused_mismatches
    sections.append(_quality(connection))
    measured = {**_latency(connection), **_freshness(connection), **measured}
    seed = expected.get("seed")
    return Report(
        seed if isinstance(seed, int) else None, sections, measured, mismatches + dead_mismatches
    )


GROUP = "coalesce(ai_platform, channel, 'direct')"


def _conversion(connection: duckdb.DuckDBPyConnection) -> Table:
    kpis = {
        row[0]: row[1:]
        for row in _rows(
            connection,
            f"""
            select {GROUP} as grp, sum(sessions), sum(new_users), sum(signups),
                   sum(converted_sessions), sum(revenue)
            from marts.referral_kpis group by grp
            """,
        )
    }
    attributed = dict(
        _rows(
            connection,
            f"""
            select {GROUP} as grp, sum(revenue) from marts.attribution_facts
            where model = 'last_non_direct' group by grp
            """,
        )
    )
    subscriptions = dict(
        _rows(
            connection,
            f"""
            select {GROUP} as grp, sum(weight) from marts.attribution_facts
            where model = 'last_non_direct' and conversion_id in (
                select dedup_key from conformed.referral_events
                where event_name = 'subscription_started' and not is_synthetic)
            group by grp
            """,
        )
    )
    rows = []
    for group in sorted(kpis, key=_group_order):
        sessions, new_users, signups, converted, _revenue = kpis[group]
        rows.append(
            [
                group,
                int(sessions),
                int(new_users),
                int(signups or 0),
                pct(signups or 0, sessions),
                pct(converted or 0, sessions),
                round(float(subscriptions.get(group) or 0.0), 2),
                round(float(attributed.get(group) or 0.0), 2),
            ]
        )
    return Table(
        "conversion",
        "Referral conversion by AI platform (other channels for comparison)",
        [
            "platform / channel",
            "sessions",
            "new users",
            "signups",
            "signup %",
            "converting sessions %",
            "subscriptions (LND)",
            "revenue USD (LND)",
        ],
        rows,
        "sessions and signups: marts.referral_kpis; subscriptions and revenue: "
        "marts.attribution_facts, last non-direct touch, 30-day lookback",
    )


def _retention(connection: duckdb.DuckDBPyConnection) -> Table:
    rows = []
    for group, *values in sorted(
        _rows(
            connection,
            f"""
            select {GROUP} as grp, sum(new_users),
                   sum(case when retention_d1 is not null then new_users end),
                   sum(case when retention_d1 is not null then returned_d1 end),
                   sum(case when retention_d7 is not null then new_users end),
                   sum(case when retention_d7 is not null then returned_d7 end),
                   sum(case when retention_d30 is not null then new_users end),
                   sum(case when retention_d30 is not null then returned_d30 end)
            from marts.referral_kpis group by grp having sum(new_users) > 0
            """,
        ),
        key=lambda r: _group_order(r[0]),
    ):
        new_users, c1, r1, c7, r7, c30, r30 = values
        rows.append([group, int(new_users), pct(r1, c1), pct(r7, c7), pct(r30, c30)])
    return Table(
        "retention",
        "Retention by AI platform (users by the channel of their first session)",
        ["platform / channel", "new users", "D1 %", "D7 %", "D30 %"],
        rows,
        "share of a day's new users with a session on calendar day +N; cohorts whose day +N "
        "is past the data are left out",
    )


def _attribution(connection: duckdb.DuckDBPyConnection) -> Table:
    data = _rows(
        connection,
        f"""
        select {GROUP} as grp, model, sum(revenue) from marts.attribution_facts
        group by grp, model
        """,
    )
    by_group: dict[str, dict[str, float]] = {}
    for group, model, revenue in data:
        by_group.setdefault(group, {})[model] = float(revenue or 0.0)
    rows = [
        [group, *(round(by_group[group].get(m, 0.0), 2) for m in ATTRIBUTION_MODELS)]
        for group in sorted(by_group, key=_group_order)
    ]
    return Table(
        "attribution",
        "Revenue (USD) by platform under each attribution model",
        ["platform / channel", *ATTRIBUTION_MODELS],
        rows,
        "marts.attribution_facts: weight x conversion value; each conversion's weights sum to 1",
    )


def _duplicates(
    connection: duckdb.DuckDBPyConnection, expected: Mapping[str, Any]
) -> tuple[Table, list[str]]:
    (raw_rows,) = _rows(
        connection,
        "select count(*) from raw.events "
        "where coalesce(json_extract_string(gateway, '$.producer.name'), '') <> ?",
        PROBE_PRODUCER,
    )[0]
    conformed, copies, merged_raw = _rows(
        connection,
        "select count(*), sum(copies), sum(raw_rows) from conformed.referral_events "
        "where not is_synthetic",
    )[0]
    sessions, duplicate_sessions = _rows(
        connection, "select count(*), sum(duplicate_sessions_removed) from conformed.sessions"
    )[0]
    retried = int(merged_raw or 0) - int(copies or 0)
    cross = int(copies or 0) - int(conformed)
    kinds = expected.get("duplicates_by_kind", {})
    rows: list[list[Any]] = [
        ["raw events (raw.events)", int(raw_rows), expected.get("emissions")],
        [
            "business events (conformed.referral_events)",
            int(conformed),
            expected.get("business_events"),
        ],
        ["duplicate events removed", int(raw_rows) - int(conformed), expected.get("duplicates")],
        ["  retried requests (same event_id)", retried, kinds.get("retried_request")],
        ["  client + server copies (same dedup key)", cross, kinds.get("client_server_copy")],
        ["sessions (conformed.sessions)", int(sessions), None],
        [
            "duplicate sessions removed",
            int(duplicate_sessions or 0),
            expected.get("duplicate_sessions"),
        ],
    ]
    mismatches = [
        f"{label.strip()}: warehouse {measured:,}, injected {injected:,}"
        for label, measured, injected in rows
        if injected is not None and measured != injected
    ]
    for row in rows:
        row.append(None if row[2] is None else row[1] == row[2])
    return (
        Table(
            "duplicates",
            "Duplicates removed (latency probes excluded)",
            ["", "warehouse", "injected", "match"],
            rows,
            "duplicate sessions: visits with an event reported by both a client and the "
            "server (signups, subscriptions), two sessions if counted per emitter",
        ),
        mismatches,
    )


def _dead_letters(
    connection: duckdb.DuckDBPyConnection, expected: Mapping[str, Any]
) -> tuple[Table, list[str]]:
    measured = dict(
        _rows(connection, "select reason, count(*) from raw.dead_letters group by reason")
    )
    injected: Mapping[str, int] = expected.get("dead_letters", {})
    reasons = sorted(set(measured) | set(injected))
    rows: list[list[Any]] = []
    mismatches = []
    for reason in reasons:
        got, want = int(measured.get(reason, 0)), injected.get(reason, 0) if expected else None
        rows.append([reason, got, want, None if want is None else got == want])
        if want is not None and got != want:
            mismatches.append(f"dead letters {reason}: warehouse {got}, injected {want}")
    total = sum(int(v) for v in measured.values())
    want_total = sum(injected.values()) if expected else None
    rows.append(["total", total, want_total, None if want_total is None else total == want_total])
    return (
        Table(
            "dead_letters",
            "Dead letters by reason (raw.dead_letters)",
            ["reason", "warehouse", "injected", "match"],
            rows,
        ),
        mismatches,
    )


def _refused(refused: Mapping[str, int], expected: Mapping[str, Any]) -> tuple[Table, list[str]]:
    """Requests the gateway refused before reading their body (no key or an unknown one):
    counted from the 401s the sender received, since nothing of them reaches the warehouse
    (docs/security.md). A reason that also shows up in raw.dead_letters is a mismatch there."""
    injected: Mapping[str, int] = expected.get("refused", {})
    rows: list[list[Any]] = []
    mismatches = []
    for reason in sorted(set(refused) | set(injected)):
        got, want = int(refused.get(reason, 0)), injected.get(reason, 0) if expected else None
        rows.append([reason, got, want, None if want is None else got == want])
        if want is not None and got != want:
            mismatches.append(f"refused requests {reason}: answered 401 {got}, injected {want}")
    return (
        Table(
            "refused",
            "Requests refused before their body was read (401, nothing stored)",
            ["reason", "answered 401", "injected", "match"],
            rows,
        ),
        mismatches,
    )


def _quality(connection: duckdb.DuckDBPyConnection) -> Table:
    rows = [
        [
            check,
            int(total),
            int(passed),
            int(warned),
            int(failed),
            None if worst is None else round(float(worst), 4),
            detail,
        ]
        for check, total, passed, warned, failed, worst, detail in _rows(
            connection,
            """
            select check_name, count(*),
                   count(*) filter (where status = 'pass'),
                   count(*) filter (where status = 'warn'),
                   count(*) filter (where status = 'fail'),
                   max(value),
                   first(coalesce(source, '') || coalesce('/' || producer_name, '')
                         || ': ' || details
                         order by value desc, source, producer_name)
            from dq.results where check_name <> 'freshness'
            group by check_name order by check_name
            """,
        )
    ]
    return Table(
        "quality",
        "Data quality (dq.results; freshness is under the measured figures)",
        ["check", "rows", "pass", "warn", "fail", "worst value", "worst row"],
        rows,
        "the malformed_rate failures are the demo's injected faults",
    )


def _latency(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    count, p50, p99, worst = _rows(
        connection,
        """
        select count(*),
               quantile_cont(ms, 0.5) / 1000.0, quantile_cont(ms, 0.99) / 1000.0,
               max(ms) / 1000.0
        from (select epoch_ms(queryable_at) - epoch_ms(occurred_at) as ms
              from conformed.referral_events where is_synthetic)
        """,
    )[0]
    if not count:
        return {"end-to-end latency": "no latency probe reached conformed.referral_events"}
    return {
        "end-to-end latency p50 (occurred_at -> queryable)": f"{p50:.1f} s",
        "end-to-end latency p99": f"{p99:.1f} s",
        "end-to-end latency max": f"{worst:.1f} s",
        "latency probes measured": int(count),
    }


def _freshness(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    rows = _rows(
        connection,
        "select source, value, status from dq.results where check_name = 'freshness' "
        "order by source",
    )
    if not rows:
        return {}
    shown = ", ".join(f"{s} {v:.0f} s ({st})" for s, v, st in rows)
    return {"freshness at the last build (target 180 s)": shown}


def latency_seconds(warehouse: Path) -> list[float]:
    """Every probe's occurred_at -> queryable latency, for the charts."""
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        return [
            float(ms) / 1000.0
            for (ms,) in connection.execute(
                "select epoch_ms(queryable_at) - epoch_ms(occurred_at) from "
                "conformed.referral_events where is_synthetic order by occurred_at"
            ).fetchall()
        ]
    finally:
        connection.close()


def compare(first: Report, second: Report) -> Sequence[str]:
    """Where two reports' deterministic parts differ (empty when identical)."""
    a, b = first.deterministic_json(), second.deterministic_json()
    differences = []
    for key in sorted(set(a["sections"]) | set(b["sections"])):
        if a["sections"].get(key) != b["sections"].get(key):
            differences.append(key)
    if a["seed"] != b["seed"]:
        differences.append("seed")
    return differences
