"""Backend API access-log lines (NDJSON) -> api_request events.

`map_line` is pure: one parsed log object and the producer in, one canonical api_request out,
or AdapterError. Field names vary between servers and log shippers, so each contract field
accepts a few common spellings (docs/adapters.md lists them); the first one present wins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from registry_service.adapters.common import (
    content_hash,
    derived_uuid,
    producer_block,
    put,
    query_of,
    referral_block,
    text,
    timestamp,
)
from registry_service.adapters.errors import failed
from registry_service.model import Producer

SCHEMA = "api_request/1.0.0"
SDK_NAME = "refract-log-adapter"

ALIASES: dict[str, tuple[str, ...]] = {
    "method": ("method", "http_method", "request_method", "verb"),
    "path": ("path", "uri", "request_uri", "url", "request_path"),
    "route": ("route", "route_template", "endpoint"),
    "status": ("status", "status_code", "http_status", "response_status"),
    "referer": ("referer", "referrer", "http_referer", "http_referrer"),
    "query_string": ("query_string", "query", "qs", "args"),
    "user_id": ("user_id", "userId", "uid"),
    "anonymous_id": ("anonymous_id", "anonymousId", "anon_id"),
    "timestamp": ("timestamp", "time", "ts", "@timestamp", "time_iso8601", "time_local"),
    "request_id": ("request_id", "requestId", "x_request_id", "req_id", "trace_id"),
    "ip": ("ip", "remote_addr", "client_ip", "remote_ip"),
    "user_agent": ("user_agent", "http_user_agent", "userAgent", "ua"),
}
# Durations: milliseconds under these names, seconds under request_time (nginx), microseconds
# under duration_us.
_MS = ("duration_ms", "latency_ms", "response_time_ms", "elapsed_ms")


def map_line(line: Any, *, producer: Producer, now: str) -> dict[str, Any]:
    """One access-log object as an api_request event."""
    if not isinstance(line, Mapping):
        raise failed(f"/: a log line is a JSON object, found {type(line).__name__}")
    method = _get(line, "method")
    raw_path = _get(line, "path")
    if method is None:
        raise failed(f"/method: missing (one of {', '.join(ALIASES['method'])})")
    if raw_path is None:
        raise failed(f"/path: missing (one of {', '.join(ALIASES['path'])})")
    path, query_in_path = _split_path(raw_path)
    status = _status(line)
    duration = _duration(line)
    when = _first(line, "timestamp")
    if when is None:
        raise failed(f"/timestamp: missing (one of {', '.join(ALIASES['timestamp'])})")
    occurred_at = timestamp(line[when], f"/{when}")
    query = _get(line, "query_string")
    query = query.removeprefix("?") if query else query_in_path
    request_id = _get(line, "request_id") or f"log_{content_hash(dict(line))[:32]}"
    event: dict[str, Any] = {
        "event_id": derived_uuid("access-log", request_id),
        "schema": SCHEMA,
        "event_name": "api_request",
        "occurred_at": occurred_at,
        "sent_at": now,
        "source": "backend",
        "producer": producer_block("api_request", producer, SDK_NAME),
    }
    user: dict[str, Any] = {}
    put(user, "user_id", _get(line, "user_id"))
    put(user, "anonymous_id", _get(line, "anonymous_id"))
    put(event, "user", user)
    referer = _get(line, "referer")
    if referer == "-":  # combined log format's "no referer"
        referer = None
    params = query_of(f"http://x/?{query}") if query else {}
    put(
        event,
        "referral",
        referral_block(landing_url=None, referrer_url=referer, utm={}, query=params),
    )
    event["request_id"] = request_id
    event["method"] = method.strip().upper()
    event["path"] = path
    put(event, "route", _get(line, "route"))
    event["status"] = status
    event["duration_ms"] = duration
    put(event, "referer", referer)
    put(event, "query_string", query)
    ip = _get(line, "ip")
    put(event, "ip", ip if ip != "-" else None)
    agent = _get(line, "user_agent")
    put(event, "user_agent", agent if agent != "-" else None)
    return event


def _first(line: Mapping[str, Any], field: str) -> str | None:
    for name in ALIASES[field]:
        if line.get(name) not in (None, ""):
            return name
    return None


def _get(line: Mapping[str, Any], field: str) -> str | None:
    name = _first(line, field)
    return text(line[name]) if name else None


def _split_path(raw: str) -> tuple[str, str | None]:
    """`/a?b=1` -> ("/a", "b=1"); a full URL keeps only its path and query."""
    try:
        parts = urlsplit(raw.strip())
    except ValueError:
        raise failed(f"/path: {raw[:80]!r} is not a request path") from None
    path = parts.path or "/"
    return path, parts.query or None


def _status(line: Mapping[str, Any]) -> int:
    name = _first(line, "status")
    if name is None:
        raise failed(f"/status: missing (one of {', '.join(ALIASES['status'])})")
    value = line[name]
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        if len(value.strip()) > 3:
            raise failed(f"/{name}: {value[:40]!r} is not an HTTP status code")
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool):
        raise failed(f"/{name}: expected an HTTP status code, found {value!r:.40}")
    return value


def _duration(line: Mapping[str, Any]) -> float | int:
    for name in _MS:
        if name in line:
            return _number(line[name], name, 1)
    if "request_time" in line:
        return _number(line["request_time"], "request_time", 1000)
    if "duration_us" in line:
        return _number(line["duration_us"], "duration_us", 0.001)
    raise failed(
        f"/duration_ms: missing (one of {', '.join(_MS)}, request_time in seconds, duration_us)"
    )


def _number(value: Any, name: str, scale: float) -> float | int:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise failed(f"/{name}: {value[:40]!r} is not a number") from None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise failed(f"/{name}: expected a number, found {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise failed(f"/{name}: {value!r} is not a finite number")
    scaled = value * scale
    if isinstance(scaled, float) and not math.isfinite(scaled):
        raise failed(f"/{name}: {value!r} is out of range")
    return round(scaled, 3) if isinstance(scaled, float) else scaled


def parse_ndjson(data: bytes) -> list[tuple[int, Any, bytes]]:
    """(line number, parsed value or the ValueError, raw bytes) per non-blank line."""
    import orjson

    lines = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            lines.append((number, orjson.loads(raw), raw))
        except orjson.JSONDecodeError as exc:
            lines.append((number, ValueError(f"line {number}: not JSON: {exc}"), raw))
    return lines
