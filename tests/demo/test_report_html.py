"""The HTML page and the text tables, from a report built by hand (no warehouse needed)."""

from __future__ import annotations

from pipeline.demo import html
from pipeline.demo.report import Report, Table, compare, render_table


def sample(revenue: float = 1990.0) -> Report:
    return Report(
        seed=3,
        sections=[
            Table(
                "conversion",
                "Referral conversion by AI platform",
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
                [
                    ["chatgpt", 10, 8, 2, 20.0, 20.0, 1.0, revenue],
                    ["<script>", 5, 5, 0, 0.0, 0.0, 0.0, 0.0],
                ],
            ),
            Table(
                "retention",
                "Retention",
                ["platform / channel", "new users", "D1 %", "D7 %", "D30 %"],
                [["chatgpt", 8, 25.0, 12.5, None]],
            ),
            Table(
                "dead_letters",
                "Dead letters",
                ["reason", "warehouse", "injected", "match"],
                [
                    ["schema_violation", 3, 3, True],
                    ["unauthorized", 1, 2, False],
                    ["total", 4, 5, False],
                ],
            ),
            Table(
                "duplicates",
                "Duplicates",
                ["", "warehouse", "injected", "match"],
                [
                    ["duplicate events removed", 7, 7, True],
                    ["  retried requests (same event_id)", 2, 2, True],
                ],
            ),
        ],
        measurements={"end-to-end latency p99": "3.0 s"},
        mismatches=["dead letters unauthorized: warehouse 1, injected 2"],
    )


def test_page_is_self_contained_escaped_and_charted() -> None:
    page = html.render(sample(), [1.0, 2.5, 3.0])
    assert "http://" not in page and "https://" not in page and "<script>" not in page
    assert "&lt;script&gt;" in page
    assert page.count("<svg") == 6  # signup rate, revenue, retention, dead letters, dups, latency
    assert 'class="bad"' in page  # the mismatching row and the mismatch list stand out
    assert "Mismatches between the warehouse and what was injected" in page


def test_text_table_aligns_and_formats() -> None:
    lines = render_table(sample().sections[0])
    assert lines[0] == "Referral conversion by AI platform"
    assert len({len(line) for line in lines[2:4]}) == 1
    assert "1,990.00" in lines[3] and " 20.0 " in lines[3]
    assert render_table(sample().sections[2])[-1].split()[-1] == "NO"


def test_compare_names_the_sections_that_differ() -> None:
    assert compare(sample(), sample()) == []
    assert compare(sample(), sample(revenue=1.0)) == ["conversion"]
    assert sample().deterministic_json()["seed"] == 3
    text = sample().text()
    assert "not deterministic" in text and "MISMATCHES" in text
