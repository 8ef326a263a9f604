"""Benchmark test data: realistic 1.5-3 KB events of every source, as the gateway receives them.

Built from the contracts' own examples (so they look like production traffic: real user
agents, landing URLs with UTM parameters, CRM owners), each given fresh ids and padded to a
size drawn between 1.5 and 3 KB by lengthening a free-text field the contract allows to be
long. Every http(s) URL (landing page, referrer, deep link) carries a fixed-width visit token in
its query string, which `stamp` rewrites to a value never used before: replaying the same events
would otherwise let any cache keyed by the landing URL answer everything after the first pass,
whereas real landing URLs are nearly all distinct (paths, query strings, click ids). 20% are older contract versions that need upcasting, 5% are invalid (a required field
dropped, a value of the wrong type, a malformed URL or timestamp). Valid events carry the dedup
key the SDK would have computed, so the gateway verifies rather than computes it.
"""

from __future__ import annotations

import copy
import random
import re
import uuid
from pathlib import Path
from typing import Any

import orjson
from refract_sdk import dedup_key

from compat.catalogue import load_catalogue

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"

# Newest versions by share of traffic (web and backend dominate, CRM is a trickle).
NEWEST_MIX = {
    "page_view": 34,
    "api_request": 20,
    "screen_view": 10,
    "app_open": 8,
    "identify": 6,
    "signup": 4,
    "lead_created": 5,
    "lead_updated": 5,
    "subscription_started": 4,
    "trial_started": 4,
}
OLDER = [("page_view", "1.0.0"), ("page_view", "1.1.0"), ("signup", "1.0.0")]
PAD_FIELDS = [
    ("referral", "landing_url"),
    ("page", "url"),
    ("device", "user_agent"),
    ("user_agent",),
    ("query_string",),
    ("referral", "referrer_url"),
    ("page", "title"),
    ("referrer",),
    ("deep_link_url",),
    ("notes",),
]
WORDS = [
    "pricing",
    "docs",
    "prompt",
    "flow",
    "team",
    "plan",
    "trial",
    "workspace",
    "agent",
    "eval",
    "chat",
    "api",
    "key",
    "model",
]


class Templates:
    """Examples of every contract version with the reference validator to keep padding valid."""

    def __init__(self) -> None:
        catalogue = load_catalogue(CONTRACTS)
        self.examples: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.validators: dict[tuple[str, str], Any] = {}
        for name, event in catalogue.events.items():
            for version in event.versions:
                key = (name, str(version.version))
                self.examples[key] = list(version.schema_set.schema["examples"])
                self.validators[key] = version.schema_set.validator()


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _fresh_ids(event: dict[str, Any], rng: random.Random) -> None:
    event["event_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    for parent in ("page", "screen"):
        if isinstance(event.get(parent), dict) and "view_id" in event[parent]:
            event[parent]["view_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    for field in ("request_id", "launch_id", "order_id", "trial_id", "lead_id"):
        value = event.get(field)
        if isinstance(value, str):
            if _UUID.match(value):
                event[field] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            else:
                event[field] = f"{value.split('_')[0]}_{rng.getrandbits(64):016x}"
    user = event.get("user")
    if isinstance(user, dict) and isinstance(user.get("user_id"), str):
        user["user_id"] = f"usr_{rng.getrandbits(64):016x}"


UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro Build/AP2A.240805.005; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/127.0.6533.103 Mobile Safari/537.36 PromptFlow/4.12.0"
)
REFERRAL = {
    "referrer_url": "https://www.perplexity.ai/search/best-prompt-management-tools-for-teams",
    "landing_url": "https://app.promptflow.io/signup?utm_source=perplexity&utm_medium=referral"
    "&utm_campaign=ai-answers-q1&utm_content=comparison-table",
    "utm_source": "perplexity",
    "utm_medium": "referral",
    "utm_campaign": "ai-answers-q1",
    "utm_content": "comparison-table",
}


def _enrich(event: dict[str, Any], validator: Any) -> None:
    """Add optional context real producers send (user agent, referral) where allowed."""
    additions = [("referral", None, REFERRAL), ("device", "user_agent", UA)]
    for field, sub, value in additions:
        before = copy.deepcopy(event.get(field))
        if sub is None:
            if field in event:
                continue
            event[field] = copy.deepcopy(value)
        else:
            if not isinstance(event.get(field), dict) or sub in event[field]:
                continue
            event[field][sub] = value
        if not validator.is_valid(event):
            if before is None:
                event.pop(field, None)
            else:
                event[field] = before


VISIT_PARAM = "visit"
VISIT_DIGITS = 16
_VISIT_BLANK = f"{VISIT_PARAM}={'0' * VISIT_DIGITS}"
_VISIT_TOKEN = re.compile(rb"(?<=[?&]" + VISIT_PARAM.encode() + rb"=)[0-9a-f]{%d}" % VISIT_DIGITS)


def _add_visit_tokens(event: dict[str, Any], validator: Any) -> None:
    """Give every http(s) URL of the event a visit token (where the contract allows it)."""
    for parent, key in _url_fields(event):
        original = parent[key]
        base, hash_mark, fragment = original.partition("#")
        joiner = "&" if "?" in base else "?"
        parent[key] = f"{base}{joiner}{_VISIT_BLANK}{hash_mark}{fragment}"
        if not validator.is_valid(event):
            parent[key] = original


def _url_fields(node: Any) -> list[tuple[dict[str, Any], str]]:
    found: list[tuple[dict[str, Any], str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and value.startswith(("http://", "https://")):
                found.append((node, key))
            elif isinstance(value, dict):
                found += _url_fields(value)
    return found


class Stamper:
    """Rewrites the visit tokens of request bodies to values never used before."""

    def __init__(self) -> None:
        self.next = 1

    def _token(self, _match: re.Match[bytes]) -> bytes:
        value = self.next
        self.next += 1
        return b"%0*x" % (VISIT_DIGITS, value)

    def stamp(self, body: bytes) -> bytes:
        return _VISIT_TOKEN.sub(self._token, body)


def _pad(event: dict[str, Any], target: int, validator: Any, rng: random.Random) -> None:
    """Lengthen free-text fields until the event is about ``target`` bytes, staying valid."""
    _enrich(event, validator)
    _add_visit_tokens(event, validator)
    for path in [*PAD_FIELDS, *_string_paths(event)]:
        parent: Any = event
        for step in path[:-1]:
            parent = parent.get(step) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or not isinstance(parent.get(path[-1]), str):
            continue
        missing = target - len(orjson.dumps(event))
        if missing <= 0:
            return
        original = parent[path[-1]]
        words = []
        while sum(len(w) + 1 for w in words) < missing:
            words.append(rng.choice(WORDS))
        is_url = "://" in original
        suffix = ("/" + "-".join(words)) if is_url else (" " + " ".join(words))
        for length in (missing, 1500, 800, 400, 200, 100, 50, 20):
            if length > missing:
                continue
            if is_url:  # a long slug in the path, the query string stays as it was
                base, mark, query = original.partition("?")
                parent[path[-1]] = base.rstrip("/") + suffix[:length] + mark + query
            else:
                parent[path[-1]] = original + suffix[:length]
            if validator.is_valid(event):
                break
        else:
            parent[path[-1]] = original


_FIXED = {"event_id", "schema", "event_name", "occurred_at", "sent_at", "source", "view_id"}


def _string_paths(node: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every string field (not ids, names or timestamps), as candidates for padding."""
    found: list[tuple[str, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _FIXED or key.endswith(("_id", "_at")):
                continue
            if isinstance(value, str):
                found.append((*path, key))
            elif isinstance(value, dict):
                found += _string_paths(value, (*path, key))
    return found


def _spoil(event: dict[str, Any], rng: random.Random) -> None:
    choice = rng.randrange(4)
    if choice == 0:
        event.pop("occurred_at", None)
    elif choice == 1:
        event["occurred_at"] = "14/03/2026 09:26"
    elif choice == 2:
        event["source"] = 42
    else:
        event["event_id"] = "not-a-uuid"


def make_events(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` events: 20% older versions, 5% invalid, 1.5-3 KB each."""
    rng = random.Random(seed)
    templates = Templates()
    names = list(NEWEST_MIX)
    weights = list(NEWEST_MIX.values())
    newest = {
        name: max(
            (v for n, v in templates.examples if n == name),
            key=lambda s: tuple(map(int, s.split("."))),
        )
        for name in names
    }
    events = []
    for _ in range(count):
        if rng.random() < 0.20:
            key = rng.choice(OLDER)
        else:
            name = rng.choices(names, weights)[0]
            key = (name, newest[name])
        event = copy.deepcopy(rng.choice(templates.examples[key]))
        event.pop("dedup_key", None)
        _fresh_ids(event, rng)
        _pad(event, rng.randint(1500, 3000), templates.validators[key], rng)
        if rng.random() < 0.05:
            _spoil(event, rng)
        else:
            key_value = dedup_key(event)
            if key_value is not None and key[1] == newest.get(key[0]):
                event["dedup_key"] = key_value
        events.append(event)
    return events


def batches(events: list[dict[str, Any]], size: int = 100) -> list[bytes]:
    """Request bodies of ``size`` events, as the SDK sends them (before gzip)."""
    return [
        orjson.dumps({"sent_at": "2026-03-14T09:26:53.802Z", "events": events[i : i + size]})
        for i in range(0, len(events), size)
    ]
