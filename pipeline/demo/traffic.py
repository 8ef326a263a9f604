"""The demo's traffic: a simulated population over 40 days, rendered as the payloads each of
PromptFlow's producers really sends, planned as HTTP requests (model.Plan).

Deterministic for a seed: one `random.Random(seed)` drives everything and the window ends at
a fixed date (model.WINDOW_END), so the same seed gives byte-identical requests and identical
business figures. What it simulates (docs/demo.md):

* users acquired through ChatGPT, Claude, Gemini, Perplexity, Copilot, Google/Bing, social,
  email or direct (channels.py), on the web app (refract_sdk, current versions), the legacy
  tracker (page_view 1.0.0/1.1.0, signup 1.0.0), the Segment-instrumented docs site
  (/v1/batch) or the mobile app (app_open, screen_view);
* visits with page or screen views, identify on signup and on a new device, signup / trial /
  subscription conversions at channel-dependent rates, returning visits on D1/D7/D30;
* server-side copies with the client's dedup fields (web-ssr page views, accounts-service
  signups and trials, billing-service subscriptions), API access logs, HubSpot and
  Salesforce lead webhooks;
* retried requests (same event ids), late events (mobile offline queues, nightly billing and
  CRM syncs), and malformed requests of every kind (faults.py).

`plan(seed, events)` returns the requests; `send.send_plan` makes them.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from refract_sdk.dedup import dedup_key, dedup_key_from_values

from pipeline.demo import faults
from pipeline.demo.channels import (
    CHANNEL_BY_KEY,
    CHANNELS,
    INNER_PATHS,
    LANDING_PATHS,
    Channel,
    Touch,
    app_touch,
    web_touch,
)
from pipeline.demo.model import (
    PRODUCER_BY_NAME,
    ROUTE_SDK,
    WINDOW_END,
    WINDOW_START,
    Expected,
    Plan,
    Request,
    ts,
)

DEFAULT_EVENTS = 20_000
LATE_AFTER = timedelta(hours=1)
"""An event sent this long after it occurred counts as late."""

# How each non-SDK producer batches: at most this many items, spanning at most this long.
BATCHING: dict[str, tuple[int, timedelta]] = {
    "legacy-web-tracker": (20, timedelta(minutes=5)),
    "web-ssr": (50, timedelta(minutes=10)),
    "accounts-service": (50, timedelta(minutes=30)),
    "billing-service": (100, timedelta(hours=24)),
    "docs-site-segment": (20, timedelta(minutes=5)),
    "api-access-logs": (200, timedelta(hours=6)),
    "hubspot": (10, timedelta(hours=1)),
    "salesforce": (10, timedelta(hours=1)),
}
RETRY_RATE = {  # share of requests whose response is "lost", so they are sent twice
    "legacy-web-tracker": 0.04,
    "web-ssr": 0.03,
    "accounts-service": 0.05,
    "billing-service": 0.05,
    "docs-site-segment": 0.05,
    "api-access-logs": 0.03,
    "hubspot": 0.10,
    "salesforce": 0.08,
}
KINDS = (("sdk", 0.62), ("legacy", 0.10), ("segment", 0.10), ("mobile", 0.18))
PLANS = (("starter", 19.0), ("growth", 49.0), ("business", 199.0))
COMPANY_SIZES = ("1", "2-10", "11-50", "51-200", "201-1000", "1001+")
DESKTOP_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
MOBILE_WEB_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
SERVER_PRODUCER = {"sdk": {"name": "refract-python", "version": "1.5.0"}}


@dataclass(frozen=True)
class Emission:
    """One item a producer sends: its simulated send time and its JSON."""

    sent: datetime
    producer: str
    item: Any
    identity: str
    occurred: datetime


@dataclass
class User:
    """A simulated person: how they arrived, on what, and what they did."""

    index: int
    channel: Channel
    kind: str
    first_seen: datetime
    anonymous_id: str
    device: dict[str, Any]
    user_id: str | None = None
    company_size: str = "1"
    email: str = ""
    plan: tuple[str, float] = PLANS[0]
    trial_id: str | None = None
    trial_at: datetime | None = None
    subscribed: bool = False
    lead: tuple[str, str] | None = None
    lead_stage: str = "lead"
    lead_created: datetime | None = None
    identified: set[str] = field(default_factory=set)


class Simulation:
    """Builds the emissions of one seed (not thread-safe; one per plan)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.emissions: list[Emission] = []
        self.expected = Expected(seed=seed)
        self.visit_has_copies = False
        """The current visit holds an event reported by a client and by the server."""

    # -- ids -------------------------------------------------------------------------------

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def token(self, length: int) -> str:
        alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def hex(self, length: int) -> str:
        return f"{self.rng.getrandbits(length * 4):0{length}x}"

    # -- emitting ----------------------------------------------------------------------------

    def emit(
        self,
        producer: str,
        item: Any,
        occurred: datetime,
        identity: str,
        delay: timedelta = timedelta(seconds=1),
    ) -> None:
        sent = occurred + delay
        self.emissions.append(Emission(sent, producer, item, identity, occurred))

    def emit_event(
        self,
        producer: str,
        event: dict[str, Any],
        occurred: datetime,
        delay: timedelta | None = None,
    ) -> None:
        """A canonical event (SDK, legacy tracker, server copy): its identity is its dedup key."""
        identity = dedup_key(event) or event["event_id"]
        self.emit(producer, event, occurred, identity, delay or timedelta(seconds=1))

    def emit_web_copy(
        self, user: User, session: str, fields: dict[str, Any], moment: datetime
    ) -> None:
        """The web app's client copy of a conversion the backend also reports (same fields)."""
        client = {
            "event_id": self.uuid(),
            **fields,
            "source": "web",
            "user": {"user_id": user.user_id, "anonymous_id": user.anonymous_id},
            "session": {"session_id": session},
            "device": user.device,
        }
        self.emit_event("promptflow-web", client, moment)

    # -- the population ----------------------------------------------------------------------

    def run(self, target_items: int) -> None:
        """Simulate users until the planned items reach `target_items`."""
        weights = [c.weight for c in CHANNELS]
        index = 0
        while len(self.emissions) < target_items:
            channel = self.rng.choices(CHANNELS, weights)[0]
            kind = self.rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
            self.simulate_user(index, channel, kind)
            index += 1
        self.expected.users = index

    def simulate_user(self, index: int, channel: Channel, kind: str) -> None:
        rng = self.rng
        first = WINDOW_START + timedelta(
            seconds=rng.uniform(0, (WINDOW_END - WINDOW_START).total_seconds())
        )
        first = first.replace(microsecond=(first.microsecond // 1000) * 1000)
        device = (
            {
                "type": "mobile",
                "os": rng.choice(["iOS", "Android"]),
                "app_version": "3.4.0",
                "locale": "en-US",
            }
            if kind == "mobile"
            else (
                {
                    "type": "desktop",
                    "os": "macOS",
                    "browser": "Chrome",
                    "user_agent": DESKTOP_UA,
                    "locale": "en-US",
                }
                if rng.random() < 0.75
                else {
                    "type": "mobile",
                    "os": "iOS",
                    "browser": "Safari",
                    "user_agent": MOBILE_WEB_UA,
                    "locale": "en-GB",
                }
            )
        )
        user = User(index, channel, kind, first, self.uuid(), device)
        starts = [(first, channel.key)]
        signup_boost = 1.0
        will_signup = rng.random() < channel.signup
        if will_signup:
            signup_boost = 1.6
        for days, chance in zip((1, 7, 30), channel.retention, strict=True):
            if rng.random() < min(0.95, chance * signup_boost):
                start = first + timedelta(days=days, minutes=rng.uniform(0, 45))
                starts.append((start, self.return_channel(channel)))
        for _ in range(rng.choice((0, 0, 0, 1, 2))):
            start = first + timedelta(days=rng.randint(2, 25), hours=rng.uniform(0, 12))
            starts.append((start, self.return_channel(channel)))
        starts = sorted(s for s in starts if s[0] < WINDOW_END - timedelta(hours=2))
        for number, (start, key) in enumerate(starts):
            signup = will_signup and number == 0
            self.visit(user, start, key, first_visit=number == 0, signup=signup)
        trial_unconverted = user.trial_at is not None and not user.subscribed
        # no later visit converted it: the subscription may start when the trial ends
        if trial_unconverted and rng.random() < channel.subscribe * 0.6:
            assert user.trial_at is not None
            end = user.trial_at + timedelta(days=14, minutes=5)
            if end < WINDOW_END:
                self.subscription(user, end, session=None, touch=None)

    def return_channel(self, channel: Channel) -> str:
        roll = self.rng.random()
        if roll < 0.65:
            return "direct"
        if roll < 0.9:
            return channel.key
        return "email"

    # -- visits ------------------------------------------------------------------------------

    def visit(
        self, user: User, start: datetime, key: str, *, first_visit: bool, signup: bool
    ) -> None:
        rng = self.rng
        self.expected.visits_by_channel[key] += 1
        if user.kind != "mobile" and not first_visit and rng.random() < 0.1:
            user.anonymous_id = self.uuid()  # a new browser: a login will stitch it
        month = start.strftime("%Y-%m")
        touch = app_touch(key) if user.kind == "mobile" else web_touch(rng, key, month)
        session = ("ses_m_" if user.kind == "mobile" else "ses_") + self.hex(12)
        offline = user.kind == "mobile" and rng.random() < 0.12
        delay = timedelta(days=rng.uniform(1, 3)) if offline else None
        moment = start
        pages = 1 + min(7, int(rng.expovariate(0.6)))
        if user.kind == "mobile":
            self.app_open(user, touch, session, moment, first_visit, delay)
            moment += timedelta(milliseconds=rng.randint(400, 2500))  # the first screen renders
        previous: str | None = None
        landing_path = rng.choice(LANDING_PATHS)
        for number in range(pages):
            path = landing_path if number == 0 else rng.choice(INNER_PATHS)
            if user.kind == "mobile":
                previous = self.screen_view(user, session, moment, path[0], previous, delay)
            else:
                self.page_view(user, touch, session, moment, path, landing_path[0], number, delay)
            moment += timedelta(seconds=rng.uniform(20, 240))
        if user.user_id is not None and user.anonymous_id not in user.identified:
            self.identify(user, session, moment, delay)
            moment += timedelta(seconds=5)
        if signup:
            self.signup(user, touch, session, moment, landing_path[0])
            moment += timedelta(minutes=2)
            if rng.random() < user.channel.trial:
                self.trial(user, touch, session, moment)
                moment += timedelta(minutes=3)
        elif (
            user.trial_id is not None
            and not user.subscribed
            and user.trial_at is not None
            and moment > user.trial_at + timedelta(hours=12)
            and rng.random() < user.channel.subscribe
        ):
            self.subscription(user, moment, session=session, touch=touch)
        if user.user_id is not None:
            self.api_requests(user, moment, touch)
        if self.visit_has_copies:
            self.expected.duplicate_sessions += 1
            self.visit_has_copies = False

    def referral(self, touch: Touch, landing: str, number: int) -> dict[str, Any]:
        """The web SDK keeps the session's landing URL (and its UTMs) on every page."""
        referral: dict[str, Any] = {"landing_url": touch.landing_url(landing)}
        if number == 0 and touch.referrer:
            referral["referrer_url"] = touch.referrer
        elif number > 0:
            referral["referrer_url"] = touch.landing_url(landing)
        for name, value in touch.utm:
            referral[name] = value
        return referral

    def user_block(self, user: User) -> dict[str, Any]:
        block: dict[str, Any] = {"anonymous_id": user.anonymous_id}
        if user.user_id is not None:
            block["user_id"] = user.user_id
        return block

    def page_view(
        self,
        user: User,
        touch: Touch,
        session: str,
        moment: datetime,
        path: tuple[str, str],
        landing: str,
        number: int,
        delay: timedelta | None,
    ) -> None:
        url = touch.landing_url(path[0]) if number == 0 else f"https://app.promptflow.io{path[0]}"
        if user.kind == "legacy":
            self.legacy_page_view(user, touch, moment, url, path, number)
            return
        if user.kind == "segment":
            self.segment_page(user, touch, moment, url, path, number)
            return
        view_id = self.uuid()
        page: dict[str, Any] = {"view_id": view_id, "url": url, "path": path[0], "title": path[1]}
        if "?" in url:
            page["search"] = url.split("?", 1)[1]
        referral = self.referral(touch, landing, number)
        event = {
            "event_id": self.uuid(),
            "schema": "page_view/2.0.0",
            "event_name": "page_view",
            "occurred_at": ts(moment),
            "source": "web",
            "user": self.user_block(user),
            "session": {"session_id": session},
            "device": user.device,
            "referral": referral,
            "privacy": {"consent": {"analytics": True, "marketing": self.rng.random() < 0.5}},
            "page": page,
        }
        self.emit_event("promptflow-web", event, moment, delay)
        if number == 0 and self.rng.random() < 0.35:  # server-rendered landing page
            copy = {
                "event_id": self.uuid(),
                "schema": "page_view/2.0.0",
                "event_name": "page_view",
                "occurred_at": ts(moment - timedelta(milliseconds=300)),
                "source": "web",
                "producer": {"team": "web-platform", "app": "web-ssr", **SERVER_PRODUCER},
                "user": {"anonymous_id": user.anonymous_id},
                "device": {"type": "server", "user_agent": user.device.get("user_agent", "")},
                "referral": referral,
                "privacy": {},
                "page": page,
            }
            self.emit_event("web-ssr", copy, moment)

    def legacy_page_view(
        self,
        user: User,
        touch: Touch,
        moment: datetime,
        url: str,
        path: tuple[str, str],
        number: int,
    ) -> None:
        version = "1.1.0" if user.index % 2 else "1.0.0"
        event: dict[str, Any] = {
            "event_id": self.uuid(),
            "schema": f"page_view/{version}",
            "event_name": "page_view",
            "occurred_at": ts(moment),
            "anonymous_id": user.anonymous_id,
            "url": url,
            "path": path[0],
        }
        if user.user_id is not None:
            event["user_id"] = user.user_id
        referrer = touch.referrer if number == 0 else "https://app.promptflow.io/"
        if referrer:
            event["referrer"] = referrer
        if number == 0:
            for name, value in touch.utm:
                event[name] = value
        if version == "1.1.0":
            event["locale"] = "en-US"
            event["is_bot"] = False
        self.emit_event("legacy-web-tracker", event, moment)

    def segment_page(
        self,
        user: User,
        touch: Touch,
        moment: datetime,
        url: str,
        path: tuple[str, str],
        number: int,
    ) -> None:
        referrer = touch.referrer if number == 0 else "https://app.promptflow.io/docs"
        view_id = self.uuid()
        context: dict[str, Any] = {
            "page": {"url": url, "path": path[0], "title": path[1]},
            "userAgent": user.device.get("user_agent", DESKTOP_UA),
            "locale": "en_US",
            "library": {"name": "analytics.js", "version": "2.11.1"},
        }
        if referrer:
            context["page"]["referrer"] = referrer
        campaign = {k.removeprefix("utm_"): v for k, v in touch.utm} if number == 0 else {}
        if campaign:
            context["campaign"] = campaign
        message: dict[str, Any] = {
            "type": "page",
            "messageId": self.uuid(),
            "anonymousId": user.anonymous_id,
            "timestamp": ts(moment),
            "properties": {"url": url, "path": path[0], "title": path[1], "view_id": view_id},
            "context": context,
        }
        if user.user_id is not None:
            message["userId"] = user.user_id
        identity = dedup_key_from_values("page_view", [("/page/view_id", view_id)])
        self.emit("docs-site-segment", message, moment, identity or view_id)

    def app_open(
        self,
        user: User,
        touch: Touch,
        session: str,
        moment: datetime,
        first: bool,
        delay: timedelta | None,
    ) -> None:
        referral: dict[str, Any] = {}
        if touch.app_referrer:
            referral["app_referrer"] = touch.app_referrer
        event = {
            "event_id": self.uuid(),
            "schema": "app_open/1.0.0",
            "event_name": "app_open",
            "occurred_at": ts(moment),
            "source": "mobile",
            "user": self.user_block(user),
            "session": {"session_id": session},
            "device": user.device,
            "referral": referral,
            "privacy": {"consent": {"analytics": True, "marketing": False}},
            "launch_id": self.uuid(),
            "launch_type": "cold",
            "is_first_launch": first,
        }
        self.emit_event("promptflow-mobile", event, moment, delay)

    def screen_view(
        self,
        user: User,
        session: str,
        moment: datetime,
        path: str,
        previous: str | None,
        delay: timedelta | None,
    ) -> str:
        name = path.strip("/").replace("/", "_").replace("-", "_") or "home"
        screen: dict[str, Any] = {"view_id": self.uuid(), "name": name}
        if previous is not None:
            screen["previous_name"] = previous
        event = {
            "event_id": self.uuid(),
            "schema": "screen_view/1.0.0",
            "event_name": "screen_view",
            "occurred_at": ts(moment),
            "source": "mobile",
            "user": self.user_block(user),
            "session": {"session_id": session},
            "device": user.device,
            "privacy": {"consent": {"analytics": True, "marketing": False}},
            "screen": screen,
        }
        self.emit_event("promptflow-mobile", event, moment, delay)
        return name

    # -- identity and conversions --------------------------------------------------------------

    def identify(
        self, user: User, session: str, moment: datetime, delay: timedelta | None = None
    ) -> None:
        assert user.user_id is not None
        user.identified.add(user.anonymous_id)
        traits = {"email": user.email, "company": f"Company {user.index}", "role": "product"}
        if user.kind == "segment":
            message = {
                "type": "identify",
                "messageId": self.uuid(),
                "userId": user.user_id,
                "anonymousId": user.anonymous_id,
                "timestamp": ts(moment),
                "traits": traits,
                "context": {"library": {"name": "analytics.js", "version": "2.11.1"}},
            }
            identity = dedup_key_from_values(
                "identify",
                [("/user/user_id", user.user_id), ("/user/anonymous_id", user.anonymous_id)],
            )
            self.emit("docs-site-segment", message, moment, identity or "")
            return
        if user.kind == "legacy":
            return  # the legacy tracker has no identify; its signup carries both ids
        producer = "promptflow-mobile" if user.kind == "mobile" else "promptflow-web"
        event = {
            "event_id": self.uuid(),
            "schema": "identify/1.0.0",
            "event_name": "identify",
            "occurred_at": ts(moment),
            "source": "mobile" if user.kind == "mobile" else "web",
            "user": {"user_id": user.user_id, "anonymous_id": user.anonymous_id},
            "session": {"session_id": session},
            "device": user.device,
            "traits": traits,
        }
        self.emit_event(producer, event, moment, delay)

    def signup(
        self, user: User, touch: Touch, session: str, moment: datetime, landing: str
    ) -> None:
        rng = self.rng
        user.user_id = "usr_" + self.token(26)
        user.email = f"user{user.index}.{self.hex(6)}@example.com"
        user.company_size = rng.choice(COMPANY_SIZES)
        user.plan = rng.choice(PLANS)
        method = rng.choice(("email", "google", "github", "microsoft"))
        self.expected.signups_by_channel[user.channel.key] += 1
        self.visit_has_copies = True  # every signup has a client copy and the server's
        client_ids = {"user_id": user.user_id, "anonymous_id": user.anonymous_id}
        if user.kind == "segment":
            message = {
                "type": "track",
                "event": "Signed Up",
                "messageId": self.uuid(),
                "userId": user.user_id,
                "anonymousId": user.anonymous_id,
                "timestamp": ts(moment),
                "properties": {"method": method, "plan": "free"},
                "context": {"library": {"name": "analytics.js", "version": "2.11.1"}},
            }
            identity = dedup_key_from_values("signup", [("/user/user_id", user.user_id)])
            self.emit("docs-site-segment", message, moment, identity or "")
        elif user.kind == "legacy":
            event = {
                "event_id": self.uuid(),
                "schema": "signup/1.0.0",
                "event_name": "signup",
                "occurred_at": ts(moment),
                "source": "web",
                "producer": {
                    "team": "web-platform",
                    "app": "promptflow-web",
                    "sdk": {"name": "pf-legacy-tracker", "version": "1.1.0"},
                },
                "user": client_ids,
                "referral": self.referral(touch, landing, 0),
                "method": method,
                "plan": "free",
            }
            self.emit_event("legacy-web-tracker", event, moment)
        else:
            mobile = user.kind == "mobile"
            event = {
                "event_id": self.uuid(),
                "schema": "signup/1.1.0",
                "event_name": "signup",
                "occurred_at": ts(moment),
                "source": "mobile" if mobile else "web",
                "user": client_ids,
                "session": {"session_id": session},
                "device": user.device,
                "referral": (
                    {"app_referrer": touch.app_referrer}
                    if mobile and touch.app_referrer
                    else ({} if mobile else self.referral(touch, landing, 0))
                ),
                "method": method,
                "plan": "free",
                "company_size": user.company_size,
            }
            self.emit_event("promptflow-mobile" if mobile else "promptflow-web", event, moment)
        server = {
            "event_id": self.uuid(),
            "schema": "signup/1.1.0",
            "event_name": "signup",
            "occurred_at": ts(moment + timedelta(milliseconds=40)),
            "source": "backend",
            "producer": {"team": "growth", "app": "accounts-service", **SERVER_PRODUCER},
            "user": {"user_id": user.user_id},
            "method": method,
            "plan": "free",
            "company_size": user.company_size,
        }
        self.emit_event("accounts-service", server, moment)
        self.identify(user, session, moment + timedelta(seconds=1))
        if user.company_size != "1" and rng.random() < 0.6:
            self.lead_created(user, touch, moment + timedelta(minutes=rng.uniform(1, 30)), landing)

    def trial(self, user: User, touch: Touch, session: str, moment: datetime) -> None:
        assert user.user_id is not None
        user.trial_id = "trl_" + self.token(16)
        user.trial_at = moment
        fields = {
            "schema": "trial_started/1.0.0",
            "event_name": "trial_started",
            "occurred_at": ts(moment),
            "trial_id": user.trial_id,
            "plan": user.plan[0],
            "trial_length_days": 14,
            "trial_ends_at": ts(moment + timedelta(days=14)),
        }
        if user.kind == "sdk":
            self.emit_web_copy(user, session, fields, moment)
        server = {
            "event_id": self.uuid(),
            **fields,
            "source": "backend",
            "producer": {"team": "growth", "app": "accounts-service", **SERVER_PRODUCER},
            "user": {"user_id": user.user_id},
        }
        self.emit_event("accounts-service", server, moment)
        self.lead_updated(
            user,
            moment + timedelta(hours=self.rng.uniform(2, 20)),
            "marketing_qualified_lead",
            ["lifecyclestage"],
        )

    def subscription(
        self, user: User, moment: datetime, *, session: str | None, touch: Touch | None
    ) -> None:
        assert user.user_id is not None and user.trial_id is not None
        user.subscribed = True
        annual = self.rng.random() < 0.25
        value = round(user.plan[1] * (10 if annual else 1), 2)
        self.expected.subscriptions_by_channel[user.channel.key] += 1
        revenue = self.expected.revenue_by_channel
        revenue[user.channel.key] = round(revenue.get(user.channel.key, 0.0) + value, 2)
        fields = {
            "schema": "subscription_started/1.0.0",
            "event_name": "subscription_started",
            "occurred_at": ts(moment),
            "order_id": "ord_" + self.token(20),
            "subscription_id": "sub_" + self.token(20),
            "plan": user.plan[0],
            "billing_period": "annual" if annual else "monthly",
            "value": value,
            "currency": "USD",
            "trial_id": user.trial_id,
        }
        if session is not None and user.kind == "sdk":
            self.emit_web_copy(user, session, fields, moment)
            self.visit_has_copies = True
        server = {
            "event_id": self.uuid(),
            **fields,
            "source": "backend",
            "producer": {"team": "billing", "app": "billing-service", **SERVER_PRODUCER},
            "user": {"user_id": user.user_id},
        }
        # the billing service exports nightly: its copy arrives hours later
        nightly = timedelta(hours=self.rng.uniform(2, 20))
        self.emit_event("billing-service", server, moment, nightly)
        self.lead_updated(
            user,
            moment + timedelta(hours=self.rng.uniform(1, 6)),
            "customer",
            ["lifecyclestage", "hs_analytics_last_touch_converting_campaign"],
        )

    def api_requests(self, user: User, moment: datetime, touch: Touch) -> None:
        rng = self.rng
        routes = (
            ("GET", "/api/v2/reports/{id}", "/api/v2/reports/"),
            ("POST", "/api/v2/events", "/api/v2/events"),
            ("GET", "/api/v2/dashboards", "/api/v2/dashboards"),
        )
        for _ in range(rng.randint(1, 4)):
            method, route, path = rng.choice(routes)
            if route.endswith("{id}"):
                path += self.hex(8)
            request_id = "req_" + self.hex(24)
            moment += timedelta(seconds=rng.uniform(1, 60))
            line = {
                "time": ts(moment),
                "method": method,
                "path": path,
                "route": route,
                "status": rng.choice((200, 200, 200, 201, 204, 304, 404, 500)),
                "latency_ms": round(rng.uniform(4, 900), 1),
                "request_id": request_id,
                "user_id": user.user_id,
                "user_agent": "promptflow-web/3.4",
                "referer": "https://app.promptflow.io/app/dashboard",
            }
            identity = dedup_key_from_values("api_request", [("/request_id", request_id)])
            self.emit(
                "api-access-logs",
                line,
                moment,
                identity or request_id,
                timedelta(minutes=rng.uniform(1, 30)),
            )

    # -- CRM -----------------------------------------------------------------------------------

    def lead_created(self, user: User, touch: Touch, moment: datetime, landing: str) -> None:
        crm = "hubspot" if self.rng.random() < 0.7 else "salesforce"
        lead_id = (
            str(self.rng.randint(10**9, 10**10)) if crm == "hubspot" else "00Q" + self.token(15)
        )
        user.lead = (crm, lead_id)
        user.lead_created = moment
        created = ts(moment)
        first_url = touch.landing_url(landing)
        if crm == "hubspot":
            props: dict[str, Any] = {
                "email": user.email,
                "firstname": f"User{user.index}",
                "lastname": "Example",
                "company": f"Company {user.index}",
                "lifecyclestage": "lead",
                "createdate": created,
                "lastmodifieddate": created,
                "hs_analytics_source": _hubspot_source(touch),
                "hs_analytics_first_url": first_url,
            }
            if touch.referrer:
                props["hs_analytics_first_referrer"] = touch.referrer
            item: dict[str, Any] = {
                "crm": "hubspot",
                "change": "created",
                "user_id": user.user_id,
                "record": {"id": lead_id, "properties": props},
            }
        else:
            record: dict[str, Any] = {
                "attributes": {"type": "Lead"},
                "Id": lead_id,
                "Email": user.email,
                "FirstName": f"User{user.index}",
                "LastName": "Example",
                "Company": f"Company {user.index}",
                "Status": "Open",
                "LeadSource": "Web",
                "CreatedDate": created,
                "SystemModstamp": created,
                "Landing_Page__c": first_url,
            }
            if touch.referrer:
                record["Original_Referrer__c"] = touch.referrer
            item = {
                "crm": "salesforce",
                "change": "created",
                "user_id": user.user_id,
                "record": record,
            }
        identity = dedup_key_from_values("lead_created", [("/crm", crm), ("/lead_id", lead_id)])
        self.emit(
            crm, item, moment, identity or lead_id, timedelta(minutes=self.rng.uniform(1, 10))
        )

    def lead_updated(self, user: User, moment: datetime, stage: str, changed: list[str]) -> None:
        if user.lead is None or user.lead_created is None:
            return
        crm, lead_id = user.lead
        previous = user.lead_stage
        user.lead_stage = stage
        created, updated = ts(user.lead_created), ts(moment)
        if crm == "hubspot":
            hs = {
                "lead": "lead",
                "marketing_qualified_lead": "marketingqualifiedlead",
                "customer": "customer",
            }
            item: dict[str, Any] = {
                "crm": "hubspot",
                "change": "updated",
                "changed_properties": changed,
                "previous": {"lifecyclestage": hs[previous]},
                "user_id": user.user_id,
                "record": {
                    "id": lead_id,
                    "properties": {
                        "email": user.email,
                        "lifecyclestage": hs[stage],
                        "createdate": created,
                        "lastmodifieddate": updated,
                    },
                },
            }
        else:
            sf = {
                "lead": "Open",
                "marketing_qualified_lead": "Marketing Qualified",
                "customer": "Closed - Converted",
            }
            item = {
                "crm": "salesforce",
                "change": "updated",
                "changed_properties": ["Status"],
                "previous": {"Status": sf[previous]},
                "user_id": user.user_id,
                "record": {
                    "attributes": {"type": "Lead"},
                    "Id": lead_id,
                    "Status": sf[stage],
                    "CreatedDate": created,
                    "SystemModstamp": updated,
                },
            }
        identity = dedup_key_from_values(
            "lead_updated", [("/crm", crm), ("/lead_id", lead_id), ("/updated_at", updated)]
        )
        # CRM syncs run a few times a day: updates arrive hours after they happened
        self.emit(crm, item, moment, identity or lead_id, timedelta(hours=self.rng.uniform(1, 8)))


def _hubspot_source(touch: Touch) -> str:
    return {
        "ai_assistant": "OTHER_CAMPAIGNS",
        "search": "ORGANIC_SEARCH",
        "social": "SOCIAL_MEDIA",
        "email": "EMAIL_MARKETING",
    }.get(_channel_kind(touch), "DIRECT_TRAFFIC")


def _channel_kind(touch: Touch) -> str:
    channel = CHANNEL_BY_KEY.get(touch.channel)
    return channel.channel if channel else "direct"


# -- planning ------------------------------------------------------------------------------------


def plan(seed: int, events: int = DEFAULT_EVENTS) -> Plan:
    """Every request of a demo run with `events` items (approximately; retries and malformed
    requests included), in sending order, and the counts they inject."""
    if events < 50:
        raise ValueError(f"--events {events}: the demo needs at least 50 events")
    simulation = Simulation(seed)
    fault_budget = faults.budget(events)
    simulation.run(events - fault_budget)
    requests = batch(simulation, simulation.rng)
    requests += faults.requests(simulation.rng, events, simulation.expected, simulation.uuid)
    requests.sort(key=lambda r: (r.at, r.producer))
    simulation.expected.requests = sum(r.attempts for r in requests)
    return Plan(seed, requests, simulation.expected)


def batch(simulation: Simulation, rng: random.Random) -> list[Request]:
    """Group each producer's emissions into requests (SDK events stay single: the emitter
    batches them itself) and count what the requests inject."""
    expected = simulation.expected
    by_producer: dict[str, list[Emission]] = {}
    for emission in sorted(simulation.emissions, key=lambda e: (e.sent, e.producer)):
        by_producer.setdefault(emission.producer, []).append(emission)
    requests: list[Request] = []
    seen: dict[str, set[str]] = {}
    for producer in sorted(by_producer):
        spec = PRODUCER_BY_NAME[producer]
        emissions = by_producer[producer]
        groups: list[list[Emission]] = []
        if spec.route == ROUTE_SDK:
            groups = [[e] for e in emissions]
        else:
            limit, span = BATCHING[producer]
            for emission in emissions:
                if (
                    groups
                    and len(groups[-1]) < limit
                    and emission.sent - groups[-1][0].sent <= span
                ):
                    groups[-1].append(emission)
                else:
                    groups.append([emission])
        for group in groups:
            at = group[-1].sent
            attempts = 2 if spec.route != ROUTE_SDK and rng.random() < RETRY_RATE[producer] else 1
            requests.append(
                Request(at, producer, spec.route, tuple(e.item for e in group), attempts=attempts)
            )
            for _ in range(attempts):
                for emission in group:
                    _count(expected, seen, emission, _event_id(emission))
            expected.late_events += sum(1 for e in group if at - e.occurred >= LATE_AFTER)
    return requests


def _event_id(emission: Emission) -> str:
    """The id the gateway will give the item (adapters derive theirs deterministically)."""
    item = emission.item
    if emission.producer == "docs-site-segment":
        return str(item["messageId"])
    if emission.producer == "api-access-logs":
        return "log:" + str(item["request_id"])
    if emission.producer in ("hubspot", "salesforce"):
        return "crm:" + emission.identity
    return str(item["event_id"])


def _count(
    expected: Expected, seen: dict[str, set[str]], emission: Emission, event_id: str
) -> None:
    expected.emissions += 1
    expected.events_by_producer[emission.producer] += 1
    ids = seen.get(emission.identity)
    if ids is None:
        seen[emission.identity] = {event_id}
        expected.business_events += 1
    elif event_id in ids:
        expected.duplicates_by_kind["retried_request"] += 1
    else:
        ids.add(event_id)
        expected.duplicates_by_kind["client_server_copy"] += 1
