"""An independent Python reading of the session and attribution rules (docs/warehouse.md), run
over conformed.referral_events, to check the SQL models on seeded traffic: the same sessions
(as sets of events) and the same weights for every conversion, touch and model."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

SESSION_EVENTS = {
    "page_view",
    "screen_view",
    "app_open",
    "signup",
    "trial_started",
    "subscription_started",
}
CONVERSIONS = {"signup", "trial_started", "subscription_started"}
IDENTITY_EVENTS = {"identify", "signup", "lead_created", "lead_updated"}
NOT_REFERRALS = {None, "internal", "direct", "unknown"}
TIMEOUT = timedelta(minutes=30)
LOOKBACK = timedelta(days=30)
HALF_LIFE_DAYS = 7.0


def user_keys(events: list[dict[str, Any]]) -> dict[str, str]:
    """dedup_key -> stitched user key."""
    links: dict[tuple[str, str], tuple[datetime, str, str]] = {}
    for e in events:
        if e["event_name"] not in IDENTITY_EVENTS or not e["user_id"]:
            continue
        for kind in ("anonymous_id", "device_id"):
            if e[kind]:
                candidate = (e["occurred_at"], e["dedup_key"], e["user_id"])
                key = (kind, e[kind])
                if key not in links or candidate < links[key]:
                    links[key] = candidate
    out: dict[str, str] = {}
    for e in events:
        anon = links.get(("anonymous_id", e["anonymous_id"])) if e["anonymous_id"] else None
        device = links.get(("device_id", e["device_id"])) if e["device_id"] else None
        out[e["dedup_key"]] = (
            e["user_id"]
            or (anon[2] if anon else None)
            or (device[2] if device else None)
            or (f"anon:{e['anonymous_id']}" if e["anonymous_id"] else None)
            or (f"device:{e['device_id']}" if e["device_id"] else None)
            or f"event:{e['dedup_key']}"
        )
    return out


def sessions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sessions as {user_key, started_at, channel, events: [event, ...]}."""
    keys = user_keys(events)
    by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if e["event_name"] in SESSION_EVENTS:
            by_user[keys[e["dedup_key"]]].append(e)
    out: list[dict[str, Any]] = []
    for user, items in by_user.items():
        items.sort(key=lambda e: (e["occurred_at"], e["dedup_key"]))
        current: dict[str, Any] | None = None
        context: tuple[str, str] = ("", "")
        last: datetime | None = None
        for e in items:
            campaign = e["utm_campaign"] or ""
            referral = (e["channel"], campaign) if e["channel"] not in NOT_REFERRALS else None
            if current is None or last is None or e["occurred_at"] - last > TIMEOUT:
                context = (e["channel"] or "direct", campaign)
                current = None
            elif referral is not None and referral != context:
                context = referral
                current = None
            if current is None:
                current = {
                    "user_key": user,
                    "started_at": e["occurred_at"],
                    "channel": e["channel"] or "direct",
                    "events": [],
                }
                out.append(current)
            current["events"].append(e)
            last = e["occurred_at"]
    return out


def attribution(events: list[dict[str, Any]]) -> dict[tuple[str, str, int], float]:
    """(conversion dedup_key, model, touch position) -> weight."""
    found = sessions(events)
    by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in found:
        by_user[s["user_key"]].append(s)
    weights: dict[tuple[str, str, int], float] = {}
    for s in found:
        for e in s["events"]:
            if e["event_name"] not in CONVERSIONS:
                continue
            at = e["occurred_at"]
            touches = sorted(
                (t for t in by_user[s["user_key"]] if at - LOOKBACK <= t["started_at"] <= at),
                key=lambda t: t["started_at"],
            )
            n = len(touches)
            non_direct = [
                i for i, t in enumerate(touches) if t["channel"] not in ("direct", "internal")
            ]
            lnd = non_direct[-1] if non_direct else n - 1
            decay = [
                2 ** (-(at - t["started_at"]).total_seconds() / 86400 / HALF_LIFE_DAYS)
                for t in touches
            ]
            for i in range(n):
                if n == 1:
                    position = 1.0
                elif n == 2:
                    position = 0.5
                else:
                    position = 0.4 if i in (0, n - 1) else 0.2 / (n - 2)
                for model, weight in {
                    "first_touch": float(i == 0),
                    "last_touch": float(i == n - 1),
                    "last_non_direct": float(i == lnd),
                    "linear": 1 / n,
                    "position_based": position,
                    "time_decay": decay[i] / sum(decay),
                }.items():
                    weights[(e["dedup_key"], model, i + 1)] = weight
    return weights
