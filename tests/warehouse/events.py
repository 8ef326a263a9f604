"""Contract-shaped events for the warehouse tests (newest versions: page_view 2.0.0, signup
1.1.0, the others 1.0.0). Every builder returns a plain dict the gateway validates, so the raw
rows the models read are exactly what production producers would cause."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

BASE = datetime(2026, 10, 1, 9, 0, 0, tzinfo=UTC)

WEB_PRODUCER = {
    "team": "web-platform",
    "app": "promptflow-web",
    "sdk": {"name": "refract-js", "version": "2.3.1"},
}
SERVER_PRODUCER = {
    "team": "growth",
    "app": "accounts-service",
    "sdk": {"name": "refract-python", "version": "1.5.0"},
}
BILLING_PRODUCER = {
    "team": "billing",
    "app": "billing-service",
    "sdk": {"name": "refract-python", "version": "1.5.0"},
}
DEVICE = {"type": "desktop", "os": "macOS", "browser": "Chrome", "locale": "en-US"}
PRIVACY = {"consent": {"analytics": True, "marketing": False}}


def ts(moment: datetime) -> str:
    """The contracts' timestamp spelling (UTC, milliseconds)."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def at(minutes: float = 0, days: float = 0) -> datetime:
    return BASE + timedelta(days=days, minutes=minutes)


def new_id() -> str:
    return str(uuid.uuid4())


def _envelope(name: str, version: str, when: datetime, source: str) -> dict[str, Any]:
    return {
        "event_id": new_id(),
        "schema": f"{name}/{version}",
        "event_name": name,
        "occurred_at": ts(when),
        "sent_at": ts(when + timedelta(milliseconds=200)),
        "source": source,
    }


def referral(
    referrer: str | None = None,
    landing: str = "https://app.promptflow.io/",
    **utm: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {"landing_url": landing}
    if referrer is not None:
        out["referrer_url"] = referrer
    for key, value in utm.items():
        out[f"utm_{key}" if not key.startswith("utm_") else key] = value
    return out


def page_view(
    when: datetime,
    anonymous_id: str,
    *,
    view_id: str | None = None,
    path: str = "/",
    referrer: str | None = None,
    utm: dict[str, str] | None = None,
    user_id: str | None = None,
    session_id: str | None = "ses_test",
    app_referrer: str | None = None,
) -> dict[str, Any]:
    url = f"https://app.promptflow.io{path}"
    if utm:
        url += "?" + "&".join(f"utm_{k}={v}" for k, v in utm.items())
    event = _envelope("page_view", "2.0.0", when, "web")
    user: dict[str, Any] = {"anonymous_id": anonymous_id}
    if user_id:
        user["user_id"] = user_id
    ref = referral(referrer, url, **(utm or {}))
    if app_referrer:
        ref["app_referrer"] = app_referrer
    event.update(
        producer=WEB_PRODUCER,
        user=user,
        device=DEVICE,
        referral=ref,
        privacy=PRIVACY,
        page={"view_id": view_id or new_id(), "url": url, "path": path.split("?")[0]},
    )
    if session_id:
        event["session"] = {"session_id": session_id}
    return event


def server_page_view(
    client: dict[str, Any], when: datetime | None = None, user_id: str | None = None
) -> dict[str, Any]:
    """The web server's copy of a client page view: same page.view_id (the dedup key), no
    referral context or session, a server device, its own event_id and clock."""
    event = _envelope(
        "page_view",
        "2.0.0",
        when or datetime.fromisoformat(client["occurred_at"].replace("Z", "+00:00")),
        "web",
    )
    event.update(
        producer=SERVER_PRODUCER,
        user={**client["user"], **({"user_id": user_id} if user_id else {})},
        device={"type": "server"},
        referral={"landing_url": client["page"]["url"]},
        privacy=PRIVACY,
        page=dict(client["page"]),
    )
    return event


def signup(
    when: datetime,
    user_id: str,
    *,
    anonymous_id: str | None = None,
    source: str = "web",
    referrer: str | None = None,
    utm: dict[str, str] | None = None,
) -> dict[str, Any]:
    event = _envelope("signup", "1.1.0", when, source)
    user: dict[str, Any] = {"user_id": user_id}
    if anonymous_id:
        user["anonymous_id"] = anonymous_id
    event.update(
        producer=WEB_PRODUCER if source != "backend" else SERVER_PRODUCER,
        user=user,
        method="email",
        plan="free",
    )
    if source != "backend":
        event["device"] = DEVICE
        event["referral"] = referral(referrer, **(utm or {}))
        event["session"] = {"session_id": "ses_test"}
    return event


def identify(
    when: datetime, user_id: str, anonymous_id: str, device_id: str | None = None
) -> dict[str, Any]:
    event = _envelope("identify", "1.0.0", when, "web")
    user = {"user_id": user_id, "anonymous_id": anonymous_id}
    if device_id:
        user["device_id"] = device_id
    event.update(producer=WEB_PRODUCER, user=user)
    return event


def subscription(
    when: datetime,
    user_id: str,
    order_id: str,
    value: float,
    *,
    currency: str = "USD",
    source: str = "backend",
    anonymous_id: str | None = None,
) -> dict[str, Any]:
    event = _envelope("subscription_started", "1.0.0", when, source)
    user: dict[str, Any] = {"user_id": user_id}
    if anonymous_id:
        user["anonymous_id"] = anonymous_id
    event.update(
        producer=BILLING_PRODUCER if source == "backend" else WEB_PRODUCER,
        user=user,
        order_id=order_id,
        subscription_id="sub_" + order_id[4:],
        plan="growth",
        billing_period="monthly",
        value=value,
        currency=currency,
    )
    return event


CRM_PRODUCER = {
    "team": "revops",
    "app": "hubspot-sync",
    "sdk": {"name": "refract-python", "version": "1.5.0"},
}


def lead_created(when: datetime, lead_id: str, user: dict[str, str]) -> dict[str, Any]:
    """A CRM lead that knows the visitor (HubSpot's tracking cookie) and the account."""
    event = _envelope("lead_created", "1.0.0", when, "crm")
    event.update(
        producer=CRM_PRODUCER,
        user=user,
        crm="hubspot",
        lead_id=lead_id,
        lifecycle_stage="lead",
        created_at=ts(when),
    )
    return event


MOBILE_PRODUCER = {
    "team": "mobile-platform",
    "app": "promptflow-android",
    "sdk": {"name": "refract-kotlin", "version": "1.8.2"},
}
MOBILE_DEVICE = {"type": "mobile", "os": "Android", "model": "Pixel 8", "app_version": "5.12.1"}


def app_open(
    when: datetime, device_id: str, *, app_referrer: str | None = None, deep_link: str | None = None
) -> dict[str, Any]:
    """A cold start of the Android app, opened from another app and/or a deep link."""
    event = _envelope("app_open", "1.0.0", when, "mobile")
    ref: dict[str, Any] = {}
    if app_referrer:
        ref["app_referrer"] = app_referrer
    event.update(
        producer=MOBILE_PRODUCER,
        user={"anonymous_id": f"anon-{device_id}", "device_id": device_id},
        session={"session_id": "ses_mobile"},
        device=MOBILE_DEVICE,
        referral=ref,
        privacy=PRIVACY,
        launch_id=new_id(),
        launch_type="cold",
        is_first_launch=True,
    )
    if deep_link:
        event["deep_link_url"] = deep_link
    return event


def screen_view(when: datetime, device_id: str, name: str) -> dict[str, Any]:
    event = _envelope("screen_view", "1.0.0", when, "mobile")
    event.update(
        producer=MOBILE_PRODUCER,
        user={"anonymous_id": f"anon-{device_id}", "device_id": device_id},
        session={"session_id": "ses_mobile"},
        device=MOBILE_DEVICE,
        privacy=PRIVACY,
        screen={"view_id": new_id(), "name": name},
    )
    return event
