"""dq.results on crafted bad data: each check fires on what it is meant to catch, with the value
computed here from what was sent, and stays quiet on clean data.

Stale classifications (an event classified by older rules, or a gateway bug) cannot come through
today's gateway, so two accepted rows get their classification overwritten in raw.events, as a
backfill under an older rules file would have left them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from registry_service.model import Producer
from tests.warehouse import events as ev
from tests.warehouse.conftest import BACKEND, Stack

LEGACY = Producer("key-legacy", "web", "legacy-web")
STALE = '{"referral": {"classification": {"channel": "referral", "ai_platform": null, "conflict": false}}}'


def test_dq_checks_fire_on_crafted_bad_data(stack: Stack) -> None:
    direct = [ev.page_view(ev.at(i), f"anon-d{i}") for i in range(4)]
    chatgpt = ev.page_view(ev.at(10), "anon-c", utm={"source": "chatgpt.com"})
    conflict = ev.page_view(
        ev.at(11), "anon-x", utm={"source": "chatgpt.com"}, referrer="https://www.google.com/"
    )
    perplexity = ev.page_view(ev.at(12), "anon-p", referrer="https://www.perplexity.ai/search/q")
    app = ev.page_view(ev.at(13), "anon-a", app_referrer="android-app://com.anthropic.claude")
    lookalike = ev.page_view(ev.at(14), "anon-l", referrer="https://notchatgpt.com/")
    stack.send([*direct, chatgpt, conflict, perplexity, app, lookalike])
    stack.send([direct[0]])  # a retried request
    legacy = [
        ev.page_view(ev.at(20 + i), f"anon-g{i}", utm={"source": "newsletter", "medium": "email"})
        for i in range(2)
    ]
    broken = [ev.page_view(ev.at(30 + i), f"anon-b{i}") for i in range(2)]
    for event in broken:
        del event["page"]
    outcomes = stack.send_raw([*legacy, *broken], LEGACY)
    assert [o.status for o in outcomes] == ["accepted", "accepted", "rejected", "rejected"]
    stack.send([ev.signup(ev.at(40), "usr_dq", source="backend")], BACKEND)
    stack.load()
    for event in (perplexity, app):
        stack.execute(
            "update raw.events set payload = json_merge_patch(payload, ?::json) where event_id = ?",
            [STALE, event["event_id"]],
        )
    stack.execute(
        "update raw.events set received_at = received_at - interval 1 hour where source = 'backend'"
    )

    result = stack.build(full_refresh=True, dq_missing_referral_threshold=0.15)
    assert any("dq_results_pass" in line for line in result.warnings), result.warnings

    rows = stack.rows("select * from dq.results")
    got = {(r["check_name"], r["source"], r["producer_name"]): r for r in rows}

    def check(
        name: str, source: str, value: float, status: str, producer: str | None = None
    ) -> None:
        row = got[(name, source, producer)]
        assert row["value"] == pytest.approx(value), (name, row)
        assert row["status"] == status, (name, row)

    web_events = 4 + 5 + 2  # direct, the five referred views, the legacy producer's two
    check("missing_referral_metadata", "web", 4 / web_events, "fail")
    check("malformed_rate", "web", 2 / 4, "fail", "legacy-web")
    check("malformed_rate", "web", 0.0, "pass", "promptflow-web")
    check("malformed_rate", "backend", 0.0, "pass", "accounts-service")
    check("utm_referrer_conflict", "web", 1 / web_events, "warn")
    # google, perplexity (stale), the look-alike host: only perplexity is an AI host
    check("ai_host_unclassified", "web", 1 / 3, "fail")
    check("ai_app_referrer_misclassified", "web", 1.0, "fail")
    check("duplicate_rate", "web", 1 / (web_events + 1), "pass")
    assert got[("freshness", "backend", None)]["value"] >= 3600
    assert got[("freshness", "backend", None)]["status"] == "fail"
    assert got[("freshness", "web", None)]["status"] == "pass"
    assert "2, accepted: 2" in got[("malformed_rate", "web", "legacy-web")]["details"]


def test_dq_checks_pass_on_clean_data(stack: Stack) -> None:
    views = [
        ev.page_view(ev.at(i), f"anon-{i}", referrer="https://claude.ai/", path="/a")
        for i in range(3)
    ]
    stack.send(views)
    stack.send([ev.server_page_view(v, ev.at(0) + timedelta(seconds=1)) for v in views], BACKEND)
    stack.load()
    result = stack.build(full_refresh=True)
    assert not result.warnings, result.warnings
    rows = stack.rows("select check_name, source, value, status from dq.results")
    assert rows and all(r["status"] == "pass" for r in rows), rows
    # the server copies make half the raw rows duplicates of a client row
    assert {(r["check_name"], r["source"]): r["value"] for r in rows}[
        ("duplicate_rate", "web")
    ] == pytest.approx(0.5)
