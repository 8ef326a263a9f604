"""Hot-path shortcuts keep the exact outputs: stream records are orjson's own bytes, and the
cached format checks give the reference checks' verdicts."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry_service.gateway.formats import (
    CACHED_VALUE_CHARS,
    NATIVE_FORMATS,
    _reference,
    reference_formats,
)


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


def _native(name: str) -> Any:
    import jsonschema_rs

    from registry_service.gateway.validators import compile_schema

    validator = compile_schema({"type": "string", "format": name})
    assert name in NATIVE_FORMATS
    assert isinstance(validator, jsonschema_rs.Draft202012Validator)
    return validator


IP_PIECES = ["0", "00", "1", "01", "9", "25", "255", "256", "300", "1000", "ffff", "FFFF", "db8"]
IP_PIECES += ["2001", "0000", "00000", "12345", "g", "", ".", ":", "::", "%eth0", "%1", " "]
IP_PIECES += ["\n", "\u0663", "\u0661", "+", "-", "/24", "1.2.3.4", "01.2.3.4", "x"]


@pytest.mark.parametrize("name", sorted(NATIVE_FORMATS))
@settings(max_examples=3000, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(IP_PIECES), max_size=12),
    separator=st.sampled_from([".", ":", "::", ""]),
)
def test_native_ip_formats_agree_with_the_reference(
    name: str, pieces: list[str], separator: str
) -> None:
    validator = _native(name)
    reference = _reference(name)
    value = separator.join(pieces)
    assert validator.is_valid(value) == reference(value), value


@pytest.mark.parametrize("name", sorted(NATIVE_FORMATS))
def test_native_ip_formats_on_known_spellings(name: str) -> None:
    validator = _native(name)
    reference = _reference(name)
    for value in [
        "203.0.113.42",
        "203.0.113.042",
        "256.1.1.1",
        "1.2.3",
        "1.2.3.4.",
        "1.2.3.4\n",
        " 1.2.3.4",
        "\u0661.2.3.4",
        "0x1.2.3.4",
        "2001:db8:85a3::8a2e:370:7334",
        "2001:DB8::1",
        "2001:db8::1%eth0",
        "::ffff:203.0.113.42",
        "::ffff:01.2.3.4",
        "1::2::3",
        "::1\n",
        "",
    ]:
        assert validator.is_valid(value) == reference(value), value


USER_VALUES = [None, "", "u-1", "x" * 256, "x" * 257, 5, [], {}, True, "\u00e9"]


@settings(max_examples=2000, deadline=None)
@given(
    user=st.none()
    | st.sampled_from([[], "user"])
    | st.dictionaries(
        st.sampled_from(["user_id", "anonymous_id", "device_id", "other"]),
        st.sampled_from(USER_VALUES),
    ),
    event_id=st.sampled_from([None, "", "e-1", 7, "y" * 300]),
)
def test_inline_partition_key_is_the_shared_one(user: Any, event_id: Any) -> None:
    from pipeline.streams.base import SinkError, partition_key_for
    from registry_service.gateway.core import _partition_key

    event: dict[str, Any] = {"event_id": event_id}
    if user is not None:
        event["user"] = user
    try:
        expected: Any = partition_key_for(event)
    except SinkError as exc:
        expected = ("raises", str(exc))
    try:
        got: Any = _partition_key(event)
    except SinkError as exc:
        got = ("raises", str(exc))
    assert got == expected, event


PII_LEAVES = st.one_of(
    st.sampled_from(["203.0.113.77", "2001:db8::1", "not-an-ip", "  Ann@Example.COM ", ""]),
    st.integers(),
    st.none(),
    st.lists(st.sampled_from(["198.51.100.9", 3]), max_size=2),
)


def _pii_tree(depth: int) -> Any:
    """Objects shaped around the rule paths below (present, absent or of the wrong type)."""
    leaf_or_object = PII_LEAVES if depth == 0 else PII_LEAVES | _pii_tree(depth - 1)
    return st.dictionaries(
        st.sampled_from(["privacy", "ip_address", "owner", "email", "ips", "other"]),
        leaf_or_object,
        max_size=4,
    )


@settings(max_examples=1500, deadline=None)
@given(event=_pii_tree(2), owned=st.booleans())
def test_pii_paths_rewrite_like_the_reference_and_copy_on_write(event: Any, owned: bool) -> None:
    """``PiiRules.apply`` rewrites an owned top-level dict in place: it must give the
    copy-on-write rewrite's result, and never touch a container of the producer's payload
    (nor the top level unless it is owned)."""
    import copy

    from registry_service.gateway.pii import PiiRules

    rules = PiiRules(
        b"k",
        {
            "e": {
                "/privacy/ip_address": "direct",
                "/owner/email": "direct",
                "/email": "direct",
                "/ips/*": "direct",
                "/other": "indirect",
            }
        },
        {},
    )
    # without schemas the field kind comes from the name: ip_address -> ip, email -> email
    event["event_name"] = "e"
    snapshot = copy.deepcopy(event)
    nested = {key: value for key, value in event.items() if isinstance(value, dict | list)}
    expected: Any = event
    for tokens, kind in rules.rules["e"]:
        expected = rules._rewrite(expected, tokens, 0, kind)
    expected = copy.deepcopy(expected)
    assert event == snapshot  # the reference is copy-on-write too

    got = rules.apply(event, owned=owned)

    assert got == expected
    for key, value in nested.items():
        assert value == snapshot[key], key  # nested containers are never modified
    if not owned:
        assert event == snapshot
