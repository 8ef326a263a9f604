"""Segment HTTP Tracking API messages -> canonical Refract events.

`map_message` is pure: one Segment message (track, page, screen or identify, as sent to
/v1/<type> or inside /v1/batch) and the request's producer in, one canonical event dict of the
newest contract version out, or AdapterError. docs/adapters.md has the field tables.

What Segment has and the contracts do not (group and alias calls, arbitrary track names,
traits beyond the identify contract's) is not guessed at: unmapped calls are dead-lettered
with reason unmapped_event and their original payload, so nothing is lost and the event can
be replayed once a contract exists.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from registry_service.adapters.common import (
    SEMVER,
    canonical_uuid,
    content_hash,
    derived_uuid,
    mapping,
    producer_block,
    put,
    referral_block,
    text,
    timestamp,
)
from registry_service.adapters.errors import UNMAPPED_EVENT, AdapterError, failed
from registry_service.model import Producer

SDK_FALLBACK = "segment-http-api"
CALLS = ("track", "page", "screen", "identify")

# Segment spec event names (and the canonical names themselves) -> contract.
TRACK_EVENTS: dict[str, str] = {
    "Signed Up": "signup",
    "Trial Started": "trial_started",
    "Order Completed": "subscription_started",
    "Subscription Started": "subscription_started",
    "signup": "signup",
    "trial_started": "trial_started",
    "subscription_started": "subscription_started",
}
_TRACK_BY_FOLDED = {name.lower(): event for name, event in TRACK_EVENTS.items()}

# The newest version of each contract the adapter writes, and the sources it accepts.
SCHEMAS = {
    "page_view": "page_view/2.0.0",
    "screen_view": "screen_view/1.0.0",
    "identify": "identify/1.0.0",
    "signup": "signup/1.1.0",
    "trial_started": "trial_started/1.0.0",
    "subscription_started": "subscription_started/1.0.0",
}
SOURCES = {
    "page_view": ("web",),
    "screen_view": ("mobile",),
    "identify": ("web", "mobile", "backend"),
    "signup": ("web", "mobile", "backend"),
    "trial_started": ("web", "backend"),
    "subscription_started": ("web", "mobile", "backend"),
}

_SIGNUP_METHODS = frozenset({"email", "google", "github", "microsoft", "saml_sso"})
_ROLES = frozenset({"engineering", "product", "marketing", "sales", "data", "founder", "other"})
_PERIODS = {
    "month": "monthly",
    "monthly": "monthly",
    "year": "annual",
    "yearly": "annual",
    "annual": "annual",
    "annually": "annual",
}
_SCREEN_BAD = re.compile(r"[^a-z0-9]+")


def map_message(
    message: Any,
    *,
    producer: Producer,
    now: str,
    call: str | None = None,
    batch_context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One Segment message as a canonical event.

    `call` is the endpoint's call type (/v1/track -> "track"); inside a batch the message's own
    `type` decides. `now` (the receive time) stands in for a missing sentAt. `batch_context` is
    the batch's top-level `context`, which Segment merges under each message's own.
    """
    if not isinstance(message, Mapping):
        raise failed(f"/: a Segment message is a JSON object, found {type(message).__name__}")
    kind = call or text(message.get("type"))
    if kind is None:
        raise failed("/type: missing (one of track, page, screen, identify)")
    kind = kind.strip().lower()
    if kind not in CALLS:
        raise AdapterError(
            UNMAPPED_EVENT, f"/type: Segment {kind[:40]!r} calls map to no Refract contract"
        )
    context = _merged_context(batch_context, mapping(message.get("context")))
    properties = mapping(message.get("properties"))
    if kind == "track":
        event_name = _track_contract(message)
    else:
        event_name = {"page": "page_view", "screen": "screen_view", "identify": "identify"}[kind]

    event: dict[str, Any] = {
        "event_id": _event_id(message),
        "schema": SCHEMAS[event_name],
        "event_name": event_name,
        "occurred_at": _occurred_at(message, now),
        "sent_at": timestamp(message["sentAt"], "/sentAt")
        if message.get("sentAt") is not None
        else now,
        "source": _source(event_name, producer, context),
        "producer": _producer(event_name, producer, context),
        "user": _user(message, context),
    }
    page = _page(kind, properties, mapping(context.get("page")))
    campaign = mapping(context.get("campaign"))
    utm = {
        "utm_source": campaign.get("source"),
        "utm_medium": campaign.get("medium"),
        "utm_campaign": campaign.get("name") or campaign.get("campaign"),
        "utm_term": campaign.get("term"),
        "utm_content": campaign.get("content"),
    }
    referral = referral_block(
        landing_url=page.get("url"), referrer_url=page.get("referrer"), utm=utm
    )
    device = _device(context)
    privacy = _privacy(context)
    session_id = _session_id(message, context)

    if event_name == "page_view":
        event["device"] = device
        event["referral"] = referral
        event["privacy"] = privacy
        event["page"] = _page_object(event["event_id"], properties, page)
        put(event, "session", {"session_id": session_id} if session_id else None)
    elif event_name == "screen_view":
        if session_id is None:
            raise failed(
                "/context: screen_view requires a session id and the message has none "
                "(send context.sessionId, or integrations.Amplitude.session_id)"
            )
        event["session"] = {"session_id": session_id}
        event["device"] = device
        event["privacy"] = privacy
        put(event, "referral", referral)
        event["screen"] = _screen(event["event_id"], message, properties)
    else:
        put(event, "session", {"session_id": session_id} if session_id else None)
        if device["type"] != "unknown" or len(device) > 1:
            event["device"] = device
        event["privacy"] = privacy
        if event_name == "identify":
            put(
                event,
                "traits",
                _traits(mapping(message.get("traits")) or mapping(context.get("traits"))),
            )
        else:
            put(event, "referral", referral)
            _payload(event_name, event, properties, mapping(context.get("traits")))
    return event


def _merged_context(batch: Mapping[str, Any] | None, own: Mapping[str, Any]) -> dict[str, Any]:
    """The batch's context with the message's own on top, one level deep (as Segment merges)."""
    merged: dict[str, Any] = dict(batch or {})
    for key, value in own.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _track_contract(message: Mapping[str, Any]) -> str:
    name = message.get("event")
    if not isinstance(name, str) or not name.strip():
        raise failed("/event: a track call needs an event name")
    found = TRACK_EVENTS.get(name.strip()) or _TRACK_BY_FOLDED.get(name.strip().lower())
    if found is None:
        known = ", ".join(repr(n) for n in TRACK_EVENTS if " " in n)
        raise AdapterError(
            UNMAPPED_EVENT,
            f"/event: track event {name[:80]!r} maps to no Refract contract (mapped: {known})",
        )
    return found


def _event_id(message: Mapping[str, Any]) -> str:
    """messageId when it is a UUID; else UUIDv5 of it; else UUIDv5 of the message's content.

    Deterministic either way, so a retried message (same messageId, or same bytes) is the same
    event and the gateway stores it once.
    """
    message_id = text(message.get("messageId"))
    if message_id is not None:
        return canonical_uuid(message_id) or derived_uuid("segment-message-id", message_id)
    return derived_uuid("segment-message-content", content_hash(message))


def _occurred_at(message: Mapping[str, Any], now: str) -> str:
    for field in ("timestamp", "originalTimestamp", "sentAt"):
        if message.get(field) is not None:
            return timestamp(message[field], f"/{field}")
    return now


def _user(message: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    user: dict[str, Any] = {}
    put(user, "user_id", text(message.get("userId")))
    put(user, "anonymous_id", text(message.get("anonymousId")))
    if not user:
        raise failed(
            "/: the message has neither userId nor anonymousId (Segment's no_user_anon_id)"
        )
    put(user, "device_id", text(mapping(context.get("device")).get("id")))
    return user


def _source(event_name: str, producer: Producer, context: Mapping[str, Any]) -> str:
    allowed = SOURCES[event_name]
    if producer.source in allowed:
        return producer.source
    if len(allowed) == 1:
        return allowed[0]
    if context.get("page") or context.get("userAgent"):
        guess = "web"
    elif context.get("app") or context.get("device"):
        guess = "mobile"
    else:
        guess = "backend"
    return guess if guess in allowed else allowed[-1]


def _producer(event_name: str, producer: Producer, context: Mapping[str, Any]) -> dict[str, Any]:
    library = mapping(context.get("library"))
    name = text(library.get("name"))
    version = text(library.get("version"))
    if name is None or version is None or not SEMVER.match(version):
        return producer_block(event_name, producer, SDK_FALLBACK)  # the adapter serialized it
    return producer_block(event_name, producer, name, version)


def _page(
    kind: str, properties: Mapping[str, Any], context_page: Mapping[str, Any]
) -> dict[str, Any]:
    """url, path, title, referrer, search: a page call's properties over context.page."""
    page: dict[str, Any] = {}
    for field in ("url", "path", "title", "referrer", "search"):
        value = properties.get(field) if kind == "page" else None
        page[field] = text(value) or text(context_page.get(field))
    return page


def _page_object(
    event_id: str, properties: Mapping[str, Any], page: Mapping[str, Any]
) -> dict[str, Any]:
    url = page.get("url")
    if url is None:
        raise failed(
            "/properties/url: a page call needs the page URL (properties.url or context.page.url)"
        )
    result: dict[str, Any] = {}
    view_id = text(properties.get("view_id"))
    result["view_id"] = (canonical_uuid(view_id) if view_id else None) or event_id
    result["url"] = url
    path = page.get("path")
    if path is None:
        try:
            path = urlsplit(url).path or "/"
        except ValueError:
            path = None
    put(result, "path", path)
    put(result, "title", page.get("title"))
    search = page.get("search")
    put(
        result,
        "search",
        search[1:] if isinstance(search, str) and search.startswith("?") else search,
    )
    return result


def _screen(
    event_id: str, message: Mapping[str, Any], properties: Mapping[str, Any]
) -> dict[str, Any]:
    name = text(message.get("name")) or text(properties.get("name"))
    if name is None:
        raise failed("/name: a screen call needs the screen name")
    screen: dict[str, Any] = {}
    view_id = text(properties.get("view_id"))
    screen["view_id"] = (canonical_uuid(view_id) if view_id else None) or event_id
    screen["name"] = screen_name(name)
    put(screen, "class_name", text(properties.get("class_name")))
    previous = text(properties.get("previous_name")) or text(properties.get("previous_screen"))
    put(screen, "previous_name", screen_name(previous) if previous else None)
    return screen


def screen_name(name: str) -> str:
    """A display name as the contract's snake_case screen name: `Prompt Editor` -> prompt_editor."""
    folded = _SCREEN_BAD.sub("_", name.lower()).strip("_")
    if not folded:
        return "unnamed"
    return (folded if folded[0].isalpha() else f"screen_{folded}")[:128]


def _device(context: Mapping[str, Any]) -> dict[str, Any]:
    device_ctx = mapping(context.get("device"))
    os_ctx = mapping(context.get("os"))
    agent = text(context.get("userAgent"))
    device: dict[str, Any] = {"type": _device_type(device_ctx, os_ctx, agent)}
    put(device, "os", _short(os_ctx.get("name")))
    put(device, "os_version", _short(os_ctx.get("version")))
    put(device, "model", _short(device_ctx.get("model")))
    put(device, "app_version", _short(mapping(context.get("app")).get("version")))
    put(device, "user_agent", agent[:1024] if agent else None)
    locale = text(context.get("locale"))
    put(device, "locale", locale.replace("_", "-") if locale else None)
    return device


def _short(value: Any) -> str | None:
    found = text(value)
    return found[:64] if found else None


def _device_type(device: Mapping[str, Any], os: Mapping[str, Any], agent: str | None) -> str:
    """desktop/mobile/tablet from what Segment reports; unknown rather than a guess."""
    declared = (text(device.get("type")) or "").lower()
    if declared in ("tablet", "ipad"):
        return "tablet"
    if declared in ("ios", "android", "mobile", "phone"):
        return "mobile"
    os_name = (text(os.get("name")) or "").lower()
    if os_name in ("ios", "android", "iphone os", "ipados"):
        return "tablet" if os_name == "ipados" else "mobile"
    if agent:
        if "iPad" in agent or "Tablet" in agent:
            return "tablet"
        if "Mobi" in agent or "iPhone" in agent or "Android" in agent:
            return "mobile"
        return "desktop"
    return "unknown"


def _privacy(context: Mapping[str, Any]) -> dict[str, Any]:
    privacy: dict[str, Any] = {}
    preferences = mapping(mapping(context.get("consent")).get("categoryPreferences"))
    analytics = _consent(preferences, ("analytics",))
    marketing = _consent(preferences, ("advertising", "marketing"))
    if analytics is not None and marketing is not None:
        privacy["consent"] = {"analytics": analytics, "marketing": marketing}
    ip = text(context.get("ip"))
    if ip is not None:
        # not an address: dropped rather than failing the event (docs/adapters.md)
        with contextlib.suppress(ValueError):
            privacy["ip_address"] = str(ipaddress.ip_address(ip.strip()))
    return privacy


def _consent(preferences: Mapping[str, Any], words: tuple[str, ...]) -> bool | None:
    values = [
        v
        for k, v in preferences.items()
        if isinstance(v, bool) and any(w in k.lower() for w in words)
    ]
    return all(values) if values else None


def _session_id(message: Mapping[str, Any], context: Mapping[str, Any]) -> str | None:
    integrations = mapping(message.get("integrations"))
    for candidate in (
        context.get("sessionId"),
        context.get("session_id"),
        mapping(integrations.get("Amplitude")).get("session_id"),
        mapping(integrations.get("Actions Amplitude")).get("session_id"),
    ):
        found = text(candidate)
        if found is not None:
            return found[:128]
    return None


def _traits(traits: Mapping[str, Any]) -> dict[str, Any]:
    """The identify contract's traits; Segment traits it has no field for are not carried."""
    result: dict[str, Any] = {}
    put(result, "email", text(traits.get("email")))
    name = text(traits.get("name"))
    if name is None:
        first = text(traits.get("firstName")) or text(traits.get("first_name"))
        last = text(traits.get("lastName")) or text(traits.get("last_name"))
        name = " ".join(p for p in (first, last) if p) or None
    put(result, "name", name)
    company = traits.get("company")
    put(
        result,
        "company",
        text(mapping(company).get("name")) if isinstance(company, Mapping) else text(company),
    )
    role = (text(traits.get("role")) or "").strip().lower()
    put(result, "role", role if role in _ROLES else None)
    put(result, "workspace_id", text(traits.get("workspace_id")) or text(traits.get("workspaceId")))
    return result


def _payload(
    event_name: str, event: dict[str, Any], properties: Mapping[str, Any], traits: Mapping[str, Any]
) -> None:
    """The business fields of the track events (signup, trial_started, subscription_started)."""

    def lower(*names: str, source: Mapping[str, Any] = properties) -> str | None:
        for name in names:
            found = text(source.get(name))
            if found is not None:
                return found.strip().lower()
        return None

    plan = lower("plan", "plan_name", "trial_plan_name") or lower("plan", source=traits)
    if event_name == "signup":
        method = lower("method", "signup_method")
        if method is None and lower("type") in _SIGNUP_METHODS:
            method = lower("type")  # the spec's `type` of Signed Up, when it names a method
        put(event, "method", method)
        put(event, "plan", plan)
        put(event, "company_size", text(properties.get("company_size")))
    elif event_name == "trial_started":
        put(event, "trial_id", text(properties.get("trial_id")))
        put(event, "plan", plan)
        days = properties.get("trial_length_days")
        start, end = properties.get("trial_start_date"), properties.get("trial_end_date")
        if days is None and start is not None and end is not None:
            days = _days_between(start, end)
        put(event, "trial_length_days", days)
        if end is not None:
            event["trial_ends_at"] = timestamp(end, "/properties/trial_end_date")
    else:
        put(event, "order_id", text(properties.get("order_id")))
        put(event, "subscription_id", text(properties.get("subscription_id")))
        put(event, "plan", plan)
        period = lower("billing_period", "billing_cycle", "interval")
        put(event, "billing_period", _PERIODS.get(period or "", period))
        for field in ("value", "total", "revenue"):
            amount = properties.get(field)
            if isinstance(amount, int | float) and not isinstance(amount, bool):
                event["value"] = amount
                break
        currency = text(properties.get("currency"))
        put(event, "currency", currency.strip().upper() if currency else None)
        put(event, "trial_id", text(properties.get("trial_id")))


def _days_between(start: Any, end: Any) -> int | None:
    from datetime import datetime

    first = timestamp(start, "/properties/trial_start_date")
    last = timestamp(end, "/properties/trial_end_date")
    delta = datetime.fromisoformat(last.replace("Z", "+00:00")) - datetime.fromisoformat(
        first.replace("Z", "+00:00")
    )
    return round(delta.total_seconds() / 86400)


def batch_messages(body: Any) -> tuple[list[Any], Mapping[str, Any]]:
    """The messages and shared context of a /v1/batch body; AdapterError when it is not one."""
    if not isinstance(body, Mapping) or not isinstance(body.get("batch"), list):
        raise failed("/batch: a batch body is an object with a 'batch' array")
    context = mapping(body.get("context"))
    sent_at = body.get("sentAt")
    messages = body["batch"]
    if sent_at is not None:
        messages = [
            {**m, "sentAt": sent_at} if isinstance(m, Mapping) and "sentAt" not in m else m
            for m in messages
        ]
    return messages, context
