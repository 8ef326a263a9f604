"""Helpers every adapter shares: timestamps, deterministic ids, the envelope's producer block.

Adapters are pure functions from a raw payload to a canonical event dict. They map what the
source says and invent nothing but what the contract requires and the source cannot say
(documented per field in docs/adapters.md). They do not re-implement validation: the gateway
validates every mapped event against its contract and dead-letters it with the validator's
message. An adapter raises AdapterError only when it cannot even build the event.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from registry_service.adapters.errors import AdapterError, failed
from registry_service.model import Producer, json_kind

ADAPTER_VERSION = "1.0.0"
CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"

# Namespaces of the ids adapters derive (UUIDv5); fixed forever, changing one changes every id.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://refract.promptflow.io/ns/adapter-event-id")

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SLUG_BAD = re.compile(r"[^a-z0-9-]+")
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$")


def derived_uuid(kind: str, *parts: str) -> str:
    """UUIDv5 of `kind` and `parts` under ID_NAMESPACE: the same input always gives the same id,
    so a retried webhook or a re-shipped log line is the same event for the gateway."""
    return str(uuid.uuid5(ID_NAMESPACE, json.dumps([kind, *parts], separators=(",", ":"))))


def canonical_uuid(value: str) -> str | None:
    """`value` as a lowercase 8-4-4-4-12 UUID when it is one (any case, braces, urn), else None."""
    text = value.strip()
    if _UUID.match(text):
        return text
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def content_hash(value: Any) -> str:
    """SHA-256 of a JSON value in a canonical spelling (sorted keys, no whitespace)."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def format_ms(moment: datetime) -> str:
    """``moment`` in UTC as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (four-digit year, also before 1000,
    where ``strftime("%Y")`` would not pad). OverflowError when UTC falls outside years
    1-9999 (``0001-01-01T00:00:00+01:00``): ``timestamp`` turns that into AdapterError."""
    m = moment.astimezone(UTC)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}."
        f"{m.microsecond // 1000:03d}Z"
    )


_LOOSE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def timestamp(value: Any, where: str) -> str:
    """Normalise a timestamp to the contracts' UTC millisecond spelling; AdapterError if not one.

    Accepts ISO 8601 with any offset or precision (also Segment's unpadded `2015-2-02T...`
    and Salesforce's `+0000`), epoch seconds or milliseconds as numbers or digit strings, and
    the access-log `10/Oct/2026:13:55:36 +0000`. A time without an offset is taken as UTC.

    Total: any input gives a string or AdapterError (one item dead-lettered), never another
    exception: values at the limits of datetime (`9999-12-31T23:59:59-01:00` is past year
    9999 in UTC), out-of-range epochs, huge digit strings and non-ASCII digits included.
    """
    if isinstance(value, bool) or value is None:
        raise failed(f"{where}: expected a timestamp, found {json_kind(value)}")
    if isinstance(value, int | float):
        try:
            return format_ms(_from_epoch(float(value), where))
        except OverflowError:
            raise _out_of_range(str(value), where) from None
    if not isinstance(value, str):
        raise failed(f"{where}: expected a timestamp, found {json_kind(value)}")
    text = value.strip()
    if len(text) > 64:
        raise failed(f"{where}: {text[:64]!r}... is not a timestamp (too long)")
    try:
        return _parse_text(text, where)
    except OverflowError:
        raise _out_of_range(text, where) from None


def _out_of_range(text: str, where: str) -> AdapterError:
    return failed(f"{where}: {text[:64]!r} is out of the representable range (years 1-9999 UTC)")


def _parse_text(text: str, where: str) -> str:
    if text.isascii() and text.replace(".", "", 1).isdigit():
        return format_ms(_from_epoch(float(text), where))
    match = _LOOSE.match(text) if text.isascii() else None
    try:
        if match:
            year, month, day, hour, minute, second, fraction, offset = match.groups()
            micro = int((fraction or "0")[:6].ljust(6, "0"))
            moment = datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second or 0),
                micro,
                tzinfo=UTC,
            )
            if offset and offset.upper() != "Z":
                sign = -1 if offset[0] == "-" else 1
                digits = offset[1:].replace(":", "")
                moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            return format_ms(moment)
        moment = datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z")
        return format_ms(moment)
    except ValueError:
        pass
    raise failed(f"{where}: {text[:64]!r} is not a timestamp (ISO 8601 or epoch expected)")


def _from_epoch(number: float, where: str) -> datetime:
    seconds = number / 1000 if number > 1e11 else number  # 1e11 s is the year 5138: so ms
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise failed(f"{where}: {number!r} is out of range for an epoch timestamp") from None


def slug(value: str, fallback: str) -> str:
    """`value` as a producer slug (^[a-z][a-z0-9-]{1,62}$), or `fallback` when nothing is left."""
    text = _SLUG_BAD.sub("-", value.lower()).strip("-")
    while text and not text[0].isalpha():
        text = text[1:].lstrip("-")
    text = text[:63].rstrip("-")
    return text if len(text) >= 2 else fallback


def producer_block(
    event: str, producer: Producer, sdk_name: str, sdk_version: str = ADAPTER_VERSION
) -> dict[str, Any]:
    """The envelope's `producer`: the contract's owning team, the write key's producer name as
    the app, and the library that serialized the payload (the adapter itself when unknown)."""
    version = sdk_version if SEMVER.match(sdk_version) else ADAPTER_VERSION
    return {
        "team": contract_owner(event),
        "app": slug(producer.name, "unknown-app"),
        "sdk": {"name": slug(sdk_name, "refract-adapter"), "version": version},
    }


_OWNERS: dict[str, str] = {}


def contract_owner(event: str) -> str:
    """The `owner` of contracts/events/<event>/event.json (read once)."""
    owner = _OWNERS.get(event)
    if owner is None:
        try:
            config = json.loads((CONTRACTS / "events" / event / "event.json").read_text("utf-8"))
            owner = str(config["owner"])
        except (OSError, ValueError, KeyError) as exc:
            raise failed(f"contract {event!r} has no readable event.json: {exc}") from None
        _OWNERS[event] = owner
    return owner


def text(value: Any) -> str | None:
    """A non-empty string as given (numbers, which some SDKs send for ids, as their text)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value if value.strip() else None
    return None


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` only when there is a value: absent stays absent, never null or empty."""
    if value is not None and value != "" and value != {}:
        target[key] = value


UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
CLICK_IDS = ("gclid", "gbraid", "wbraid", "fbclid", "msclkid", "ttclid", "li_fat_id", "twclid")


def http_url(value: Any) -> str | None:
    """`value` when it is an absolute http(s) URL the contracts accept, else None."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    head = url[:8].lower()
    if not (head.startswith("http://") or head.startswith("https://")) or len(url) > 2048:
        return None
    if any(c.isspace() for c in url) or len(url) < 8:
        return None
    return url


def query_of(url: str | None) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    if not url:
        return {}
    try:
        query = urlsplit(url).query
    except ValueError:
        return {}
    found: dict[str, str] = {}
    for name, value in parse_qsl(query):
        found.setdefault(name.lower(), value)
    return found


def referral_block(
    *,
    landing_url: str | None,
    referrer_url: str | None,
    utm: Mapping[str, Any],
    app_referrer: str | None = None,
    query: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The raw signals of common/referral: explicit UTM values first, then the landing URL's
    (or `query`'s) UTM parameters and click ids. The gateway adds `classification`."""
    params = dict(query) if query is not None else query_of(landing_url)
    referral: dict[str, Any] = {}
    referrer = text(referrer_url)
    put(referral, "referrer_url", referrer[:2048] if referrer else None)
    put(referral, "landing_url", http_url(landing_url))
    for field in UTM_FIELDS:
        value = text(utm.get(field)) or text(params.get(field))
        put(referral, field, value.strip()[:256] if value and value.strip() else None)
    clicks = {name: params[name][:512] for name in CLICK_IDS if params.get(name)}
    put(referral, "click_ids", clicks)
    put(referral, "app_referrer", app_referrer)
    return referral
