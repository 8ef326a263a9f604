"""Segment messages -> canonical events: every mapping, and AdapterError for what cannot map."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from registry_service.adapters import AdapterError
from registry_service.adapters.segment import batch_messages, map_message, screen_name
from registry_service.model import Producer
from tests.adapters.conftest import NOW, PRODUCER
from tests.adapters.contracts import errors

MESSAGE_ID = "6f1c2b7e-3d4a-4f8b-9c1d-2e3f4a5b6c7d"
CONTEXT: dict[str, Any] = {
    "page": {
        "url": "https://app.promptflow.io/pricing?utm_source=chatgpt.com&gclid=abc",
        "path": "/pricing",
        "title": "Pricing | PromptFlow",
        "referrer": "https://chatgpt.com/",
        "search": "?utm_source=chatgpt.com&gclid=abc",
    },
    "campaign": {
        "source": "chatgpt.com",
        "medium": "referral",
        "name": "spring",
        "term": "ai",
        "content": "v2",
    },
    "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "locale": "en_US",
    "ip": "203.0.113.42",
    "library": {"name": "analytics.js", "version": "5.2.1"},
    "consent": {"categoryPreferences": {"Analytics": True, "Advertising": False}},
}


def seg(**fields: Any) -> dict[str, Any]:
    return {
        "messageId": MESSAGE_ID,
        "anonymousId": "anon-1",
        "timestamp": "2026-03-14T10:26:53.589+01:00",
        "context": CONTEXT,
        **fields,
    }


def mapped(
    message: dict[str, Any], call: str | None = None, producer: Producer = PRODUCER
) -> dict[str, Any]:
    event = map_message(message, producer=producer, now=NOW, call=call)
    assert errors(event) == [], errors(event)
    return event


def test_page_maps_every_field() -> None:
    event = mapped(
        seg(type="page", properties={"title": "Pricing!"}, sentAt="2026-03-14T09:26:54Z")
    )
    assert event["schema"] == "page_view/2.0.0" and event["source"] == "web"
    assert event["event_id"] == MESSAGE_ID
    assert event["occurred_at"] == "2026-03-14T09:26:53.589Z"
    assert event["sent_at"] == "2026-03-14T09:26:54.000Z"
    assert event["user"] == {"anonymous_id": "anon-1"}
    assert event["producer"] == {
        "team": "web-platform",
        "app": "promptflow-web",
        "sdk": {"name": "analytics-js", "version": "5.2.1"},
    }
    assert event["page"] == {
        "view_id": MESSAGE_ID,
        "url": CONTEXT["page"]["url"],
        "path": "/pricing",
        "title": "Pricing!",  # the page call's properties win over context.page
        "search": "utm_source=chatgpt.com&gclid=abc",
    }
    assert event["referral"] == {
        "referrer_url": "https://chatgpt.com/",
        "landing_url": CONTEXT["page"]["url"],
        "utm_source": "chatgpt.com",
        "utm_medium": "referral",
        "utm_campaign": "spring",
        "utm_term": "ai",
        "utm_content": "v2",
        "click_ids": {"gclid": "abc"},
    }
    assert event["device"]["type"] == "desktop" and event["device"]["locale"] == "en-US"
    assert event["device"]["user_agent"] == CONTEXT["userAgent"]
    assert event["privacy"] == {
        "consent": {"analytics": True, "marketing": False},
        "ip_address": "203.0.113.42",
    }


def test_route_call_type_wins_and_path_comes_from_the_url() -> None:
    message = seg(
        properties={"url": "https://app.promptflow.io/docs/x?a=1"},
        context={"userAgent": "Mozilla/5.0 (iPhone; Mobile)"},
    )
    event = mapped(message, call="page")
    assert event["page"]["path"] == "/docs/x" and event["device"]["type"] == "mobile"


@pytest.mark.parametrize(
    "message_id", [MESSAGE_ID.upper(), "{" + MESSAGE_ID + "}", "urn:uuid:" + MESSAGE_ID]
)
def test_uuid_message_ids_are_kept_in_canonical_spelling(message_id: str) -> None:
    assert mapped(seg(type="page", messageId=message_id))["event_id"] == MESSAGE_ID


def test_other_message_ids_become_deterministic_uuid5s() -> None:
    event = mapped(seg(type="page", messageId="ajs-next-1a2b3c"))
    assert uuid.UUID(event["event_id"]).version == 5
    assert mapped(seg(type="page", messageId="ajs-next-1a2b3c"))["event_id"] == event["event_id"]
    assert mapped(seg(type="page", messageId="ajs-next-1a2b3d"))["event_id"] != event["event_id"]


def test_missing_message_id_derives_from_content() -> None:
    message = seg(type="page")
    del message["messageId"]
    first, again = mapped(message), mapped(dict(message))
    assert first["event_id"] == again["event_id"]
    assert mapped({**message, "anonymousId": "anon-2"})["event_id"] != first["event_id"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"timestamp": "2015-2-02T00:30:08.276Z"}, "2015-02-02T00:30:08.276Z"),
        ({"timestamp": "2026-03-14T09:26:53.123456-05:30"}, "2026-03-14T14:56:53.123Z"),
        ({"timestamp": "2026-03-14T09:26:53"}, "2026-03-14T09:26:53.000Z"),
        ({"timestamp": 1773480413589}, "2026-03-14T09:26:53.589Z"),
        (
            {"timestamp": None, "originalTimestamp": "2026-03-14T09:00:00.5Z"},
            "2026-03-14T09:00:00.500Z",
        ),
        ({"timestamp": None, "sentAt": "2026-03-14T08:00:00.000Z"}, "2026-03-14T08:00:00.000Z"),
        ({"timestamp": None}, NOW),
    ],
)
def test_occurred_at_is_utc_milliseconds(fields: dict[str, Any], expected: str) -> None:
    assert mapped(seg(type="page", **fields))["occurred_at"] == expected


def test_bad_timestamp_is_an_adapter_error() -> None:
    with pytest.raises(AdapterError) as caught:
        map_message(seg(type="page", timestamp="yesterday"), producer=PRODUCER, now=NOW)
    assert caught.value.reason == "adapter_failed"
    assert "/timestamp: 'yesterday' is not a timestamp" in caught.value.message


def test_screen_maps_to_screen_view() -> None:
    context = {
        "device": {"id": "dev-1", "type": "ios", "model": "iPhone16,1"},
        "os": {"name": "iOS", "version": "17.5.1"},
        "app": {"version": "5.12.0", "build": "512"},
        "sessionId": "ses_1",
        "locale": "en-US",
        "library": {"name": "analytics-swift", "version": "1.5.0"},
    }
    producer = Producer("k2", "mobile", "PromptFlow_iOS")
    event = mapped(
        {
            "type": "screen",
            "messageId": MESSAGE_ID,
            "userId": "u1",
            "name": "Prompt Editor",
            "properties": {"previous_screen": "Dashboard"},
            "context": context,
        },
        producer=producer,
    )
    assert event["source"] == "mobile" and event["producer"]["app"] == "promptflow-ios"
    assert event["user"] == {"user_id": "u1", "device_id": "dev-1"}
    assert event["session"] == {"session_id": "ses_1"}
    assert event["screen"] == {
        "view_id": MESSAGE_ID,
        "name": "prompt_editor",
        "previous_name": "dashboard",
    }
    assert event["device"] == {
        "type": "mobile",
        "os": "iOS",
        "os_version": "17.5.1",
        "model": "iPhone16,1",
        "app_version": "5.12.0",
        "locale": "en-US",
    }


def test_screen_without_session_is_refused_clearly() -> None:
    with pytest.raises(AdapterError, match="screen_view requires a session id"):
        map_message({"type": "screen", "userId": "u1", "name": "Home"}, producer=PRODUCER, now=NOW)


def test_session_from_amplitude_integration() -> None:
    message = {
        "type": "screen",
        "userId": "u1",
        "name": "Home",
        "integrations": {"Actions Amplitude": {"session_id": 1710000000000}},
    }
    assert map_message(message, producer=PRODUCER, now=NOW)["session"] == {
        "session_id": "1710000000000"
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Home", "home"),
        ("Prompt  Editor!", "prompt_editor"),
        ("3D View", "screen_3d_view"),
        ("!!!", "unnamed"),
    ],
)
def test_screen_names(name: str, expected: str) -> None:
    assert screen_name(name) == expected


def test_identify_maps_traits_the_contract_has() -> None:
    traits = {
        "email": "maria@example.com",
        "firstName": "Maria",
        "lastName": "Keller",
        "company": {"name": "Keller GmbH"},
        "role": "Engineering",
        "workspace_id": "ws_1",
        "favourite_colour": "blue",
    }
    event = mapped(seg(type="identify", userId="u1", traits=traits, context={"ip": "not-an-ip"}))
    assert event["schema"] == "identify/1.0.0"
    assert event["user"] == {"user_id": "u1", "anonymous_id": "anon-1"}
    assert event["traits"] == {
        "email": "maria@example.com",
        "name": "Maria Keller",
        "company": "Keller GmbH",
        "role": "engineering",
        "workspace_id": "ws_1",
    }
    assert event["privacy"] == {}  # an unreadable IP is dropped, not a reason to lose the event
    assert "device" not in event


def test_signed_up() -> None:
    event = mapped(
        seg(
            type="track",
            event="Signed Up",
            userId="u1",
            properties={"method": "Google", "plan": "Free", "company_size": "11-50"},
        )
    )
    assert (event["schema"], event["method"], event["plan"], event["company_size"]) == (
        "signup/1.1.0",
        "google",
        "free",
        "11-50",
    )
    assert event["referral"]["utm_source"] == "chatgpt.com"
    assert event["referral"]["landing_url"] == CONTEXT["page"]["url"]


def test_signed_up_type_and_trait_plan() -> None:
    message = seg(type="track", event="signed up", userId="u1", properties={"type": "github"})
    message["context"] = {**CONTEXT, "traits": {"plan": "starter"}}
    event = mapped(message)
    assert (event["method"], event["plan"]) == ("github", "starter")


def test_trial_started_computes_the_length() -> None:
    properties = {
        "trial_id": "trl_ABCDEFGH12",
        "trial_plan_name": "Growth",
        "trial_start_date": "2026-03-14T00:00:00Z",
        "trial_end_date": "2026-03-28T00:00:00Z",
    }
    event = mapped(seg(type="track", event="Trial Started", userId="u1", properties=properties))
    assert (
        event["trial_id"],
        event["plan"],
        event["trial_length_days"],
        event["trial_ends_at"],
    ) == ("trl_ABCDEFGH12", "growth", 14, "2026-03-28T00:00:00.000Z")


def test_order_completed_is_a_subscription_start() -> None:
    properties = {
        "order_id": "ord_12345678",
        "subscription_id": "sub_12345678",
        "plan": "Business",
        "billing_cycle": "year",
        "total": 1188.0,
        "currency": "eur",
    }
    event = mapped(seg(type="track", event="Order Completed", userId="u1", properties=properties))
    assert event["event_name"] == "subscription_started"
    assert (event["billing_period"], event["value"], event["currency"], event["plan"]) == (
        "annual",
        1188.0,
        "EUR",
        "business",
    )


@pytest.mark.parametrize("name", ["Button Clicked", "Product Viewed", "Signed In"])
def test_unmapped_track_names_are_unmapped_events(name: str) -> None:
    with pytest.raises(AdapterError) as caught:
        map_message(seg(type="track", event=name, userId="u1"), producer=PRODUCER, now=NOW)
    assert caught.value.reason == "unmapped_event"
    assert repr(name) in caught.value.message and "'Signed Up'" in caught.value.message


@pytest.mark.parametrize("kind", ["group", "alias"])
def test_group_and_alias_are_unmapped(kind: str) -> None:
    with pytest.raises(AdapterError) as caught:
        map_message({"type": kind, "userId": "u1"}, producer=PRODUCER, now=NOW)
    assert caught.value.reason == "unmapped_event"


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ([1, 2], "a Segment message is a JSON object"),
        ({"userId": "u1"}, "/type: missing"),
        ({"type": "track", "userId": "u1"}, "/event: a track call needs an event name"),
        (
            {"type": "page", "properties": {"url": "https://a.example/"}},
            "neither userId nor anonymousId",
        ),
        ({"type": "page", "userId": "u1"}, "a page call needs the page URL"),
        (
            {"type": "screen", "userId": "u1", "context": {"sessionId": "s"}},
            "a screen call needs the screen name",
        ),
    ],
)
def test_invalid_messages(message: Any, text: str) -> None:
    with pytest.raises(AdapterError) as caught:
        map_message(message, producer=PRODUCER, now=NOW)
    assert caught.value.reason == "adapter_failed" and text in caught.value.message


def test_batch_context_and_sent_at_are_merged() -> None:
    body = {
        "batch": [
            {
                "type": "page",
                "anonymousId": "a",
                "context": {"page": {"url": "https://app.promptflow.io/"}},
            }
        ],
        "context": {"page": {"referrer": "https://claude.ai/"}, "ip": "203.0.113.1"},
        "sentAt": "2026-03-14T09:00:00.000Z",
    }
    messages, context = batch_messages(body)
    event = map_message(messages[0], producer=PRODUCER, now=NOW, batch_context=context)
    assert event["referral"]["referrer_url"] == "https://claude.ai/"
    assert event["page"]["url"] == "https://app.promptflow.io/"
    assert event["privacy"]["ip_address"] == "203.0.113.1"
    assert event["sent_at"] == "2026-03-14T09:00:00.000Z"
    with pytest.raises(AdapterError, match="'batch' array"):
        batch_messages({"events": []})


def test_library_with_a_non_semver_version_is_reported_as_the_adapter() -> None:
    event = mapped(
        seg(
            type="page",
            context={**CONTEXT, "library": {"name": "analytics.js", "version": "next-1.70.0"}},
        )
    )
    assert event["producer"]["sdk"] == {"name": "segment-http-api", "version": "1.0.0"}


def test_source_follows_the_key_else_the_context() -> None:
    backend = Producer("k3", "backend", "accounts-service")
    event = mapped(
        seg(
            type="track",
            event="Signed Up",
            userId="u1",
            properties={"method": "email", "plan": "free"},
        ),
        producer=backend,
    )
    assert event["source"] == "backend"
    crm_key = Producer("k4", "crm", "odd")
    event = mapped(
        seg(
            type="track",
            event="Signed Up",
            userId="u1",
            properties={"method": "email", "plan": "free"},
        ),
        producer=crm_key,
    )
    assert event["source"] == "web"  # context.page is there
