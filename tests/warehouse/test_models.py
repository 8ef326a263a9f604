"""The models' rules on hand-built scenarios whose results are computed here, independently.

One data set (one user per scenario, on separate days so they never meet) goes through the real
gateway core and loader into DuckDB, and is built once; each test reads the tables it checks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from registry_service.model import Producer
from tests.gateway.conftest import Service
from tests.warehouse import events as ev
from tests.warehouse.conftest import BACKEND, PROBE, Stack

A1, A2, A3, A4, A5, R1, R2, R3, R4, P1 = (
    f"anon-{name}" for name in ["a1", "a2", "a3", "a4", "a5", "r1", "r2", "r3", "r4", "p1"]
)
CRM = Producer("key-crm", "crm", "hubspot-sync")
MOBILE = Producer("key-mobile", "mobile", "promptflow-android")
MOBILE_DEVICE = "android-device-1"
DEVICE_3 = "device-3"
CHATGPT = {"source": "chatgpt.com"}
GOOGLE = "https://www.google.com/"
INTERNAL = "https://app.promptflow.io/"


def naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


class Data:
    """What the scenarios sent, for the expectations."""

    def __init__(self) -> None:
        self.merge_view: dict[str, Any] = {}
        self.attribution_touches: list[datetime] = []


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, registry_template: Path
) -> Iterator[tuple[Stack, Data]]:
    root = tmp_path_factory.mktemp("models")
    service = Service(root / "data", registry_template)
    stack = Stack(service, root / "wh" / "warehouse.duckdb")
    data = Data()

    # S1 merge (day 0): the browser's page view + the web server's copy (which knows the
    # logged-in user), a retried client request, a signup and a subscription reported by both.
    view = ev.page_view(ev.at(0), A1, referrer="https://claude.ai/")
    data.merge_view = view
    stack.send([view])
    stack.send([view])  # retry: same event_id
    stack.send([ev.server_page_view(view, user_id="usr_merge")], BACKEND)
    stack.send([ev.signup(ev.at(3), "usr_merge", anonymous_id=A1)])
    stack.send([ev.signup(ev.at(3), "usr_merge", source="backend")], BACKEND)
    stack.send(
        [
            ev.subscription(
                ev.at(5), "usr_merge", "ord_merge0001", 29.0, currency="EUR", source="web"
            )
        ]
    )
    stack.send([ev.subscription(ev.at(5), "usr_merge", "ord_merge0001", 31.0)], BACKEND)

    # S2 sessions (day 1, anonymous): inactivity and referral boundaries.
    day1 = 24 * 60
    for minute, kwargs in [
        (0, {"utm": CHATGPT, "referrer": "https://chatgpt.com/"}),
        (10, {"referrer": INTERNAL}),
        (40, {"referrer": INTERNAL}),  # exactly 30 min later: same session
        (71, {"referrer": INTERNAL}),  # 31 min later: new session
        (75, {"referrer": GOOGLE}),  # a new referral (search): new session
        (80, {"referrer": INTERNAL}),
        (85, {"referrer": GOOGLE}),  # the same referral again: same session
        (90, {"utm": {**CHATGPT, "campaign": "spring"}}),  # another channel: new
        (95, {"utm": {**CHATGPT, "campaign": "summer"}}),  # another campaign: new
    ]:
        stack.send([ev.page_view(ev.at(day1 + minute), A2, **kwargs)])

    # S3 stitching (day 2): anonymous views, identify (with a device), then a logged-in view.
    day2 = 2 * 24 * 60
    stack.send([ev.page_view(ev.at(day2), A3, utm=CHATGPT)])
    stack.send([ev.page_view(ev.at(day2 + 5), A3, referrer=INTERNAL)])
    stack.send([ev.identify(ev.at(day2 + 6), "usr_stitch", A3, DEVICE_3)])
    stack.send([ev.page_view(ev.at(day2 + 8), A3, referrer=INTERNAL, user_id="usr_stitch")])

    # S3b a CRM lead links another visitor
    stack.send([ev.page_view(ev.at(day2 + 60), A5, referrer=GOOGLE)])
    stack.send(
        [ev.lead_created(ev.at(day2 + 70), "51234", {"user_id": "usr_lead", "anonymous_id": A5})],
        CRM,
    )

    # S3c the Android app opened from the ChatGPT app, then two screens, on a device id only
    stack.send(
        [
            ev.app_open(
                ev.at(day2 + 120),
                MOBILE_DEVICE,
                app_referrer="android-app://com.openai.chatgpt",
                deep_link="https://app.promptflow.io/open/templates/x",
            ),
            ev.screen_view(ev.at(day2 + 121), MOBILE_DEVICE, "templates"),
            ev.screen_view(ev.at(day2 + 125), MOBILE_DEVICE, "editor"),
        ],
        MOBILE,
    )

    # S4 attribution: an old visit (outside 30 days), three touches, a signup, a subscription.
    stack.send([ev.page_view(ev.at(days=-21), A4, utm={"source": "newsletter", "medium": "email"})])
    touches = [ev.at(days=10), ev.at(days=13), ev.at(days=16)]
    data.attribution_touches = touches
    stack.send([ev.page_view(touches[0], A4, utm=CHATGPT)])
    stack.send([ev.page_view(touches[1], A4, referrer=GOOGLE)])
    stack.send([ev.page_view(touches[2], A4)])  # direct
    stack.send([ev.signup(touches[2] + timedelta(minutes=5), "usr_attr", anonymous_id=A4)])
    stack.send(
        [ev.signup(touches[2] + timedelta(minutes=5), "usr_attr", source="backend")], BACKEND
    )
    stack.send(
        [ev.subscription(ev.at(days=20, minutes=60), "usr_attr", "ord_attr00001", 50.0)], BACKEND
    )

    # S5 retention: three new users on day 25 from ChatGPT; R1 returns on D1 and D7, R3 on D30.
    for anon in (R1, R2, R3):
        stack.send([ev.page_view(ev.at(days=25), anon, utm=CHATGPT)])
    stack.send([ev.page_view(ev.at(days=26), R1)])
    stack.send([ev.page_view(ev.at(days=32), R1)])
    stack.send([ev.page_view(ev.at(days=55), R3)])
    stack.send([ev.page_view(ev.at(days=40), R4, referrer=GOOGLE)])  # D30 not observable yet

    # S6 a latency probe: synthetic, kept in referral_events only.
    stack.send([ev.page_view(ev.at(days=25), P1, utm=CHATGPT)], PROBE)

    stack.load()
    stack.build(full_refresh=True)
    yield stack, data
    stack.close()
    service.close()


def one(rows: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(rows) == 1, rows
    return rows[0]


def test_client_and_server_copies_merge_into_one_row(built: tuple[Stack, Data]) -> None:
    stack, data = built
    view = one(
        stack.rows(
            "select * from conformed.referral_events where event_name = 'page_view' and anonymous_id = ?",
            [A1],
        )
    )
    # server authoritative for the user, client for device and referral context
    assert view["user_id"] == "usr_merge"
    assert view["device_type"] == "desktop"
    assert (view["channel"], view["ai_platform"]) == ("ai_assistant", "claude")
    assert view["referrer_host"] == "claude.ai"
    assert view["session_id"] == "ses_test"
    assert view["emitters"] == "server,web"
    assert (view["copies"], view["raw_rows"]) == (2, 3)  # the retry counts once
    assert view["occurred_at"] == naive(ev.at(0))
    assert view["event_id"] == data.merge_view["event_id"]

    subscription = one(
        stack.rows("select * from conformed.referral_events where order_id = 'ord_merge0001'")
    )
    assert (subscription["conversion_value"], subscription["currency"]) == (31.0, "USD")
    assert subscription["emitters"] == "server,web" and subscription["copies"] == 2
    assert subscription["is_conversion"]

    signup = one(
        stack.rows(
            "select * from conformed.referral_events where event_name = 'signup' and user_id = 'usr_merge'"
        )
    )
    assert signup["anonymous_id"] == A1 and signup["emitters"] == "server,web"
    assert (signup["signup_method"], signup["plan"]) == ("email", "free")
    assert (subscription["billing_period"], subscription["subscription_id"]) == (
        "monthly",
        "sub_merge0001",
    )


def test_synthetic_events_stay_out_of_business_tables(built: tuple[Stack, Data]) -> None:
    stack, _ = built
    probe = one(stack.rows("select * from conformed.referral_events where anonymous_id = ?", [P1]))
    assert probe["is_synthetic"] and probe["producer_name"] == "refract-latency-probe"
    assert stack.rows("select * from conformed.sessions where anonymous_id = ?", [P1]) == []
    assert stack.rows("select * from conformed.session_events where anonymous_id = ?", [P1]) == []


def test_sessions_split_on_inactivity_and_new_referrals(built: tuple[Stack, Data]) -> None:
    stack, _ = built
    sessions = stack.rows(
        "select * from conformed.sessions where user_key = ? order by started_at", [f"anon:{A2}"]
    )
    day1 = 24 * 60
    expected = [
        (0, 40, 3, "ai_assistant", "chatgpt", None),
        (71, 71, 1, "internal", None, None),
        (75, 85, 3, "search", None, None),
        (90, 90, 1, "ai_assistant", "chatgpt", "spring"),
        (95, 95, 1, "ai_assistant", "chatgpt", "summer"),
    ]
    assert [
        (
            s["started_at"],
            s["ended_at"],
            s["event_count"],
            s["channel"],
            s["ai_platform"],
            s["utm_campaign"],
        )
        for s in sessions
    ] == [
        (naive(ev.at(day1 + a)), naive(ev.at(day1 + b)), n, c, p, k)
        for a, b, n, c, p, k in expected
    ]
    assert [s["duration_seconds"] for s in sessions] == [2400.0, 0.0, 600.0, 0.0, 0.0]
    assert [s["session_number"] for s in sessions] == [1, 2, 3, 4, 5]
    assert sessions[0]["landing_url"] == "https://app.promptflow.io/?utm_source=chatgpt.com"
    assert all(s["duplicate_sessions_removed"] == 0 for s in sessions)


def test_a_mobile_visit_from_an_ai_app_is_one_session_on_the_device(
    built: tuple[Stack, Data],
) -> None:
    stack, _ = built
    session = one(
        stack.rows(
            "select * from conformed.sessions where user_key = ?", [f"anon:anon-{MOBILE_DEVICE}"]
        )
    )
    assert (session["channel"], session["ai_platform"], session["event_count"]) == (
        "ai_assistant",
        "chatgpt",
        3,
    )
    assert session["landing_url"] == "https://app.promptflow.io/open/templates/x"
    assert session["source"] == "mobile" and session["duration_seconds"] == 300.0
    opened = one(
        stack.rows("select * from conformed.referral_events where event_name = 'app_open'")
    )
    assert (opened["classification_method"], opened["device_type"], opened["app_version"]) == (
        "app_referrer",
        "mobile",
        "5.12.1",
    )


def test_a_visit_seen_by_client_and_server_is_one_session(built: tuple[Stack, Data]) -> None:
    stack, _ = built
    session = one(stack.rows("select * from conformed.sessions where user_key = 'usr_merge'"))
    assert session["duplicate_sessions_removed"] == 1
    # page view + signup + subscription, each reported twice, counted once
    assert session["event_count"] == 3
    assert session["converted"] and session["conversions"] == 2 and session["signups"] == 1
    assert session["revenue"] == 31.0
    assert (session["channel"], session["ai_platform"]) == ("ai_assistant", "claude")


def test_identities_stitch_anonymous_and_device_ids(built: tuple[Stack, Data]) -> None:
    stack, _ = built
    identities = {
        r["id_type"]: r
        for r in stack.rows("select * from conformed.identities where user_id = 'usr_stitch'")
    }
    assert set(identities) == {"anonymous_id", "device_id"}
    anonymous = identities["anonymous_id"]
    day2 = 2 * 24 * 60
    assert anonymous["anonymous_id"] == A3 and anonymous["linked_by"] == "identify"
    assert anonymous["linked_at"] == naive(ev.at(day2 + 6))
    assert anonymous["first_seen_at"] == naive(ev.at(day2))
    assert anonymous["last_seen_at"] == naive(ev.at(day2 + 8))
    assert identities["device_id"]["anonymous_id"] == DEVICE_3
    # the anonymous views before the identify belong to the user's one session
    session = one(stack.rows("select * from conformed.sessions where user_key = 'usr_stitch'"))
    assert session["event_count"] == 3 and session["user_id"] == "usr_stitch"
    assert stack.rows("select * from conformed.sessions where user_key = ?", [f"anon:{A3}"]) == []
    # signups and CRM leads link too
    linked = one(stack.rows("select * from conformed.identities where anonymous_id = ?", [A4]))
    assert linked["user_id"] == "usr_attr" and linked["linked_by"] == "signup"
    lead = one(stack.rows("select * from conformed.identities where anonymous_id = ?", [A5]))
    assert lead["user_id"] == "usr_lead" and lead["linked_by"] == "lead_created"
    crm = one(stack.rows("select * from conformed.referral_events where lead_id = '51234'"))
    assert (crm["crm"], crm["lifecycle_stage"], crm["emitters"]) == ("hubspot", "lead", "server")


def weights(stack: Stack, conversion_event: str) -> dict[str, list[float]]:
    rows = stack.rows(
        "select model, weight from marts.attribution_facts "
        "where user_key = 'usr_attr' and conversion_event = ? order by model, touch_position",
        [conversion_event],
    )
    out: dict[str, list[float]] = {}
    for row in rows:
        out.setdefault(row["model"], []).append(row["weight"])
    return out


def decay(ages_days: list[float]) -> list[float]:
    raw = [2 ** (-age / 7) for age in ages_days]
    return [w / sum(raw) for w in raw]


def test_attribution_weights_for_a_three_touch_path(built: tuple[Stack, Data]) -> None:
    stack, data = built
    got = weights(stack, "signup")
    conversion = data.attribution_touches[2] + timedelta(minutes=5)
    ages = [(conversion - t).total_seconds() / 86400 for t in data.attribution_touches]
    expected = {
        "first_touch": [1.0, 0.0, 0.0],
        "last_touch": [0.0, 0.0, 1.0],
        "last_non_direct": [0.0, 1.0, 0.0],  # the google visit; the last one was direct
        "linear": [1 / 3] * 3,
        "position_based": [0.4, 0.2, 0.4],
        "time_decay": decay(ages),
    }
    assert set(got) == set(expected)
    for model, values in expected.items():
        assert got[model] == pytest.approx(values, abs=1e-12), model
    # ratios of time decay: 2^(-dt/7d) between touches
    td = got["time_decay"]
    assert td[2] / td[0] == pytest.approx(2 ** ((ages[0] - ages[2]) / 7))
    # the visit 37 days before is outside the 30-day lookback
    touches = stack.rows(
        "select distinct touch_session_id, channel from marts.attribution_facts "
        "where user_key = 'usr_attr' and conversion_event = 'signup'"
    )
    assert sorted(t["channel"] for t in touches) == ["ai_assistant", "direct", "search"]


def test_attribution_of_a_later_subscription_carries_revenue(built: tuple[Stack, Data]) -> None:
    stack, data = built
    got = weights(stack, "subscription_started")
    assert got["position_based"] == pytest.approx([0.4, 0.1, 0.1, 0.4])
    assert got["last_non_direct"] == [0.0, 1.0, 0.0, 0.0]
    conversion = ev.at(days=20, minutes=60)
    starts = [*data.attribution_touches, conversion]
    ages = [(conversion - t).total_seconds() / 86400 for t in starts]
    assert got["time_decay"] == pytest.approx(decay(ages), abs=1e-12)
    revenue = stack.rows(
        "select model, sum(revenue) as revenue, min(currency) as currency from marts.attribution_facts "
        "where conversion_event = 'subscription_started' and user_key = 'usr_attr' group by model"
    )
    assert all(r["revenue"] == pytest.approx(50.0) and r["currency"] == "USD" for r in revenue)
    assert len(revenue) == 6


def test_every_conversion_weight_sums_to_one(built: tuple[Stack, Data]) -> None:
    stack, _ = built
    sums = stack.rows(
        "select conversion_id, model, sum(weight) as total from marts.attribution_facts "
        "group by conversion_id, model"
    )
    assert len(sums) == 6 * 4  # usr_merge: signup + subscription; usr_attr: the same
    assert all(math.isclose(r["total"], 1.0, abs_tol=1e-9) for r in sums)


def test_kpis_and_retention(built: tuple[Stack, Data]) -> None:
    stack, _ = built
    day25 = one(
        stack.rows(
            "select * from marts.referral_kpis where day = ? and ai_platform = 'chatgpt'",
            [ev.at(days=25).date()],
        )
    )
    assert (day25["sessions"], day25["users"], day25["new_users"]) == (3, 3, 3)
    assert day25["retention_d1"] == pytest.approx(1 / 3)
    assert day25["retention_d7"] == pytest.approx(1 / 3)
    assert day25["retention_d30"] == pytest.approx(1 / 3)
    assert day25["conversion_rate"] == 0.0
    day0 = one(
        stack.rows(
            "select * from marts.referral_kpis where day = ? and channel = 'ai_assistant'",
            [ev.at(0).date()],
        )
    )
    assert day0["ai_platform"] == "claude"
    assert (day0["sessions"], day0["signups"], day0["conversions"]) == (1, 1, 2)
    assert (day0["conversion_rate"], day0["revenue"]) == (1.0, 31.0)
    # day 55 is the newest session day: its retention is not observable yet
    day55 = one(
        stack.rows("select * from marts.referral_kpis where day = ?", [ev.at(days=55).date()])
    )
    assert day55["new_users"] == 0 and day55["retention_d1"] is None
    # a cohort whose D30 lies beyond the newest day has NULL retention, not 0
    day40 = one(
        stack.rows("select * from marts.referral_kpis where day = ?", [ev.at(days=40).date()])
    )
    assert day40["new_users"] == 1 and day40["channel"] == "search"
    assert (day40["retention_d1"], day40["retention_d7"], day40["retention_d30"]) == (
        0.0,
        0.0,
        None,
    )


def test_dbt_tests_ran_and_passed(built: tuple[Stack, Data]) -> None:
    stack, _ = built
    result = stack.build()  # incremental, with the tests
    assert result.success and not result.failures
