"""The generator's vocabulary: producers, planned HTTP requests and the injected counts.

A plan is data, not actions: `traffic.plan()` returns every request the demo will make (in
simulated-time order) with its exact body, so determinism is a property one can test by
comparing two plans, and `send.send_plan()` is the only part that touches the network.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

WINDOW_END = datetime(2026, 11, 1, tzinfo=UTC)
"""End of the simulated window: fixed, so business figures never depend on the wall clock."""
WINDOW_DAYS = 40
WINDOW_START = WINDOW_END - timedelta(days=WINDOW_DAYS)

PROBE_PRODUCER = "refract-latency-probe"
"""The synthetic producer (dbt var `synthetic_producers`): excluded from business figures."""

UNKNOWN_WRITE_KEY = "rfk_0000000000000000_" + "x" * 43
"""Well-formed but never issued: the gateway answers 401 and dead-letters the body."""

ROUTE_SDK = "sdk"
ROUTE_EVENTS = "/v1/events"
ROUTE_SEGMENT = "/v1/batch"
ROUTE_CRM = "/v1/crm/leads"
ROUTE_LOGS = "/v1/logs"


@dataclass(frozen=True)
class ProducerSpec:
    """One producer of the demo: the write key's name and source, how it sends, and the
    team/app an SDK emitter stamps (None for producers that are not refract_sdk emitters)."""

    name: str
    source: str
    route: str
    team: str | None = None
    app: str | None = None


PRODUCERS: tuple[ProducerSpec, ...] = (
    ProducerSpec("promptflow-web", "web", ROUTE_SDK, "web-platform", "promptflow-web"),
    ProducerSpec("promptflow-mobile", "mobile", ROUTE_SDK, "mobile", "promptflow-mobile"),
    ProducerSpec("legacy-web-tracker", "web", ROUTE_EVENTS),
    ProducerSpec("web-ssr", "web", ROUTE_EVENTS),
    ProducerSpec("accounts-service", "backend", ROUTE_EVENTS),
    ProducerSpec("billing-service", "backend", ROUTE_EVENTS),
    ProducerSpec("docs-site-segment", "web", ROUTE_SEGMENT),
    ProducerSpec("api-access-logs", "backend", ROUTE_LOGS),
    ProducerSpec("hubspot", "crm", ROUTE_CRM),
    ProducerSpec("salesforce", "crm", ROUTE_CRM),
    ProducerSpec(PROBE_PRODUCER, "web", ROUTE_EVENTS),
)
PRODUCER_BY_NAME = {p.name: p for p in PRODUCERS}


def ts(moment: datetime) -> str:
    """A contract timestamp: UTC, milliseconds, `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Request:
    """One planned HTTP request (or, for ROUTE_SDK, one `Emitter.track()` call).

    `items` are the JSON items of the body (events, Segment messages, lead webhooks, log
    lines); `raw` replaces the whole body for deliberately malformed requests. `attempts` > 1
    sends the identical body again, as a client does after a lost response.
    """

    at: datetime
    producer: str
    route: str
    items: tuple[Any, ...] = ()
    raw: bytes | None = None
    content_type: str = "application/json"
    use_unknown_key: bool = False
    attempts: int = 1
    fault: str | None = None
    """The dead-letter reason this request is built to get (faults.py); None for good traffic."""

    def body(self) -> bytes:
        """The exact bytes sent (ROUTE_SDK items are tracked, not encoded here)."""
        if self.raw is not None:
            return self.raw
        sent_at = ts(self.at)
        if self.route == ROUTE_EVENTS:
            return orjson.dumps(
                {"sent_at": sent_at, "events": [{**e, "sent_at": sent_at} for e in self.items]}
            )
        if self.route == ROUTE_SEGMENT:
            return orjson.dumps({"batch": list(self.items), "sentAt": sent_at})
        if self.route == ROUTE_CRM:
            return orjson.dumps(list(self.items))
        if self.route == ROUTE_LOGS:
            return b"".join(
                item if isinstance(item, bytes) else orjson.dumps(item) + b"\n"
                for item in self.items
            )
        raise ValueError(f"{self.route}: no body encoding (tracked through the SDK)")

    def fingerprint_json(self) -> Any:
        """What identifies the request in a plan fingerprint (raw bytes as text)."""
        return {
            "at": ts(self.at),
            "producer": self.producer,
            "route": self.route,
            "items": [
                i.decode("utf-8", "replace") if isinstance(i, bytes) else i for i in self.items
            ],
            "raw": None if self.raw is None else self.raw.decode("utf-8", "replace"),
            "content_type": self.content_type,
            "unknown_key": self.use_unknown_key,
            "attempts": self.attempts,
            "fault": self.fault,
        }


@dataclass
class Expected:
    """What the generator injected, to compare with what the warehouse measured.

    `emissions` counts event copies the gateway should accept (raw.events rows, synthetic
    probes excluded); `business_events` the distinct identities among them (dedup_key, else
    event_id: conformed.referral_events rows). The difference is `duplicates`, split by kind.
    """

    seed: int
    requests: int = 0
    emissions: int = 0
    business_events: int = 0
    duplicates_by_kind: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    """Requests refused before their body was read (reason -> requests): nothing is stored."""
    late_events: int = 0
    duplicate_sessions: int = 0
    """Visits with an event reported by a client and by the server (signup, subscription)."""
    users: int = 0
    visits_by_channel: Counter[str] = field(default_factory=Counter)
    signups_by_channel: Counter[str] = field(default_factory=Counter)
    subscriptions_by_channel: Counter[str] = field(default_factory=Counter)
    revenue_by_channel: dict[str, float] = field(default_factory=dict)
    events_by_producer: Counter[str] = field(default_factory=Counter)

    @property
    def duplicates(self) -> int:
        return self.emissions - self.business_events

    @property
    def dead_letter_total(self) -> int:
        return sum(self.dead_letters.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "requests": self.requests,
            "emissions": self.emissions,
            "business_events": self.business_events,
            "duplicates": self.duplicates,
            "duplicates_by_kind": dict(sorted(self.duplicates_by_kind.items())),
            "dead_letters": dict(sorted(self.dead_letters.items())),
            "refused": dict(sorted(self.refused.items())),
            "late_events": self.late_events,
            "duplicate_sessions": self.duplicate_sessions,
            "users": self.users,
            "visits_by_channel": dict(sorted(self.visits_by_channel.items())),
            "signups_by_channel": dict(sorted(self.signups_by_channel.items())),
            "subscriptions_by_channel": dict(sorted(self.subscriptions_by_channel.items())),
            "revenue_by_channel": {
                k: round(v, 2) for k, v in sorted(self.revenue_by_channel.items())
            },
            "events_by_producer": dict(sorted(self.events_by_producer.items())),
        }


@dataclass
class Plan:
    """Every request of a demo run, in sending order, and what they inject."""

    seed: int
    requests: list[Request]
    expected: Expected

    def fingerprint(self) -> str:
        """SHA-256 over the whole request sequence: equal plans, equal fingerprints."""
        digest = hashlib.sha256()
        for request in self.requests:
            digest.update(orjson.dumps(request.fingerprint_json(), option=orjson.OPT_SORT_KEYS))
        return digest.hexdigest()

    @property
    def event_items(self) -> int:
        """Items sent (events, messages, leads, log lines), retries counted."""
        return sum((len(r.items) or 1) * r.attempts for r in self.requests)
