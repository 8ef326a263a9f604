"""The demo report as one self-contained HTML page: inline CSS and inline SVG bar charts, no
script, no font or stylesheet to fetch, so it opens the same offline, from a CI artifact or
an e-mail attachment. Charts are drawn from the report's own tables, so the page and the
text report can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from pipeline.demo.report import Report, Table, format_cell

PALETTE = ("#4c6ef5", "#f59f00", "#37b24d", "#e64980", "#868e96", "#15aabf")
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#212529;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.15rem;margin-top:2.2rem;border-bottom:1px solid #dee2e6}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}
th,td{padding:.25rem .6rem;border-bottom:1px solid #e9ecef;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f8f9fa}
.note{color:#6c757d;font-size:.8rem}.bad{color:#c92a2a;font-weight:600}
.measured{background:#fff9db;padding:.6rem 1rem;border-radius:6px}
svg{display:block;margin:.6rem 0}svg text{font-size:11px;fill:#343a40}
"""


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    unit: str = "",
) -> str:
    """A grouped vertical bar chart as inline SVG (one colour per series, legend on top)."""
    width, height, left, bottom, top = 900, 330, 70, 110, 50
    values = [v for _, vs in series for v in vs if v is not None]
    peak = max(values) if values and max(values) > 0 else 1.0
    plot_w, plot_h = width - left - 10, height - bottom - top
    group_w = plot_w / max(1, len(categories))
    bar_w = max(2.0, group_w * 0.8 / max(1, len(series)))
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<text x="{left}" y="14" font-weight="600">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#adb5bd"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#adb5bd"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{peak:,.4g}{escape(unit)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    label_every = max(1, -(-len(categories) // 25))
    for index, (name, _) in enumerate(series):
        legend_x = left + index * 150
        parts.append(
            f'<rect x="{legend_x}" y="21" width="10" height="10" '
            f'fill="{PALETTE[index % len(PALETTE)]}"/>'
            f'<text x="{legend_x + 14}" y="30">{escape(name)}</text>'
        )
    for c_index, category in enumerate(categories):
        group_x = left + c_index * group_w + group_w * 0.1
        for s_index, (_, vs) in enumerate(series):
            value = vs[c_index] if c_index < len(vs) else None
            if value is None:
                continue
            bar_h = plot_h * value / peak
            x = group_x + s_index * bar_w
            y = top + plot_h - bar_h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{bar_h:.1f}" '
                f'fill="{PALETTE[s_index % len(PALETTE)]}"><title>{escape(category)}: '
                f"{value:g}{escape(unit)}</title></rect>"
            )
            if len(series) <= 2 and len(categories) <= 25:
                parts.append(
                    f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">'
                    f"{value:,.4g}</text>"
                )
        label_x = left + c_index * group_w + group_w / 2
        if c_index % label_every:
            continue
        parts.append(
            f'<text x="{label_x:.1f}" y="{top + plot_h + 14}" text-anchor="end" '
            f'transform="rotate(-30 {label_x:.1f} {top + plot_h + 14})">{escape(category)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def table_html(table: Table) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for value, column in zip(row, table.columns, strict=True):
            text = format_cell(value, column)
            css = ' class="bad"' if value is False else ""
            cells.append(f"<td{css}>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return f"<table><tr>{head}</tr>{''.join(body)}</table>{note}"


def _column(table: Table, name: str) -> list[float | None]:
    index = table.columns.index(name)
    return [None if row[index] is None else float(row[index]) for row in table.rows]


def charts_for(report: Report, table: Table) -> str:
    """The chart(s) drawn above a section."""
    names = [str(row[0]) for row in table.rows]
    if table.key == "conversion":
        return bar_chart(
            "Signup rate by platform / channel (%)",
            names,
            [("signup %", _column(table, "signup %"))],
            "%",
        ) + bar_chart(
            "Revenue, last non-direct touch (USD)",
            names,
            [("revenue", _column(table, "revenue USD (LND)"))],
        )
    if table.key == "retention":
        return bar_chart(
            "Retention by first-session platform / channel (%)",
            names,
            [(f"D{n} %", _column(table, f"D{n} %")) for n in (1, 7, 30)],
            "%",
        )
    if table.key == "dead_letters":
        rows = [r for r in table.rows if r[0] != "total"]
        return bar_chart(
            "Dead letters by reason: warehouse vs injected",
            [str(r[0]) for r in rows],
            [
                ("warehouse", [float(r[1]) for r in rows]),
                ("injected", [None if r[2] is None else float(r[2]) for r in rows]),
            ],
        )
    if table.key == "duplicates":
        rows = [r for r in table.rows if "removed" in str(r[0]) or str(r[0]).startswith("  ")]
        return bar_chart(
            "Duplicates removed",
            [str(r[0]).strip() for r in rows],
            [
                ("warehouse", [float(r[1]) for r in rows]),
                ("injected", [None if r[2] is None else float(r[2]) for r in rows]),
            ],
        )
    return ""


def latency_chart(latencies: Sequence[float]) -> str:
    """Each probe's occurred_at -> queryable latency, in sending order."""
    if not latencies:
        return ""
    return bar_chart(
        "End-to-end latency of each probe, in sending order (s)",
        [str(i + 1) for i in range(len(latencies))],
        [("latency s", list(latencies))],
        " s",
    )


def render(report: Report, latencies: Sequence[float] = ()) -> str:
    """The whole page."""
    sections = []
    for table in report.sections:
        sections.append(
            f"<h2>{escape(table.title)}</h2>{charts_for(report, table)}{table_html(table)}"
        )
    measured = "".join(
        f"<li>{escape(label)}: <b>{escape(str(value))}</b></li>"
        for label, value in report.measurements.items()
    )
    mismatches = (
        '<h2 class="bad">Mismatches between the warehouse and what was injected</h2><ul>'
        + "".join(f"<li>{escape(m)}</li>" for m in report.mismatches)
        + "</ul>"
        if report.mismatches
        else ""
    )
    seed = "" if report.seed is None else f" (seed {report.seed})"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Refract demo report{seed}</title><style>{CSS}</style></head><body>"
        f"<h1>Refract demo report{escape(seed)}</h1>"
        "<p>Simulated traffic of 40 days (ending 2026-11-01) sent through the gateway, loaded "
        "and modelled by the local pipeline. Every figure below except the measured section "
        "is identical for every run with the same seed.</p>"
        f"{mismatches}{''.join(sections)}"
        '<h2>Measured on this machine (not deterministic)</h2><div class="measured"><ul>'
        f"{measured}</ul>{latency_chart(latencies)}</div></body></html>\n"
    )
