"""Hot-path shortcuts keep the exact outputs: stream records are orjson's own bytes, and the
cached format checks give the reference checks' verdicts."""

from __future__ import annotations

import orjson
import pytest

from registry_service.gateway.formats import CACHED_VALUE_CHARS, _reference, reference_formats


def test_records_are_the_bytes_orjson_writes() -> None:
    from pipeline.streams.base import Record
    from registry_service.gateway.core import GATEWAY_VERSION

    # The record is joined from bytes; re-serializing its parsed value must give it back
    # exactly (orjson keeps key order and writes no whitespace).
    event = {"event_id": "e", "schema": "x/1.0.0", "nested": {"ü": "\\u2028", "n": 1}}
    gateway = {"host": "h", "version": GATEWAY_VERSION, "origin": "sdk", "producer": None}
    gateway["upcast_from"] = None
    joined = (
        b'{"event":'
        + orjson.dumps(event)
        + b',"received_at":'
        + orjson.dumps("2026-03-14T09:26:53.901Z")
        + b',"gateway":'
        + orjson.dumps(gateway)
        + b"}"
    )
    whole = {"event": event, "received_at": "2026-03-14T09:26:53.901Z", "gateway": gateway}
    assert joined == orjson.dumps(whole)
    assert Record("k", joined).data == orjson.dumps(orjson.loads(joined))


@pytest.mark.parametrize("name", ["ipv4", "ipv6", "uuid", "hostname", "email"])
def test_cached_format_checks_agree_with_the_reference(name: str) -> None:
    check = reference_formats()[name]
    reference = _reference(name)
    values = [
        "203.0.113.42",
        "203.0.113.042",
        "2001:db8:85a3::8a2e:370:7334",
        "2001:db8::1%eth0",
        "::ffff:203.0.113.42",
        "not an address",
        "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "7A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D",
        "example.com",
        "a@b",
        "x" * (CACHED_VALUE_CHARS + 1),
        "",
    ]
    for _ in range(2):  # the second round answers from the cache
        for value in values:
            assert check(value) == reference(value), (name, value)
