"""Deterministic dedup keys (see docs/dedup-key.md for the algorithm and test vectors).

The same business event reported by several emitters (browser and server, SDK and webhook)
must get the same ``dedup_key`` in every language, so the key is a UUIDv5 over a canonical
encoding that is fully specified here and reproducible without Python:

    name = event_name + canonical_json([[pointer, value], ...])   # pointers in contract order
    dedup_key = uuid5(DEDUP_NAMESPACE, name)                      # name encoded as UTF-8

``canonical_json`` is RFC 8785 (JCS): object keys sorted by UTF-16 code units, no whitespace,
strings with only the mandatory JSON escapes (non-ASCII written as UTF-8), numbers as
ECMAScript ``Number.prototype.toString`` spells them (shortest round-trip digits, integral
values without ``.0``). Python integers are written exactly.

When any pointed-at value is absent (or null) the event has no cross-emitter key and the
function returns None: encoding the absence would give every such event the same key (all
``page_view`` 2.0.0 events upgraded from 1.x lack ``page.view_id``) and deduplicate them into
one.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "DEDUP_NAMESPACE",
    "canonical_json",
    "dedup_key",
    "dedup_key_for",
    "dedup_key_from_values",
    "resolve_pointer",
]

DEDUP_NAMESPACE = uuid.UUID("a590ddc7-bb87-5dc2-8355-da718e19a58d")
"""``uuid5(NAMESPACE_URL, "https://refract.promptflow.io/ns/dedup-key")``; fixed forever."""

_ABSENT = object()


def resolve_pointer(instance: Any, pointer: str) -> Any:
    """The value at an RFC 6901 JSON pointer, or ``_ABSENT`` when the path does not exist."""
    if pointer == "":
        return instance
    if not pointer.startswith("/"):
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    node = instance
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping):
            if token not in node:
                return _ABSENT
            node = node[token]
        elif isinstance(node, list):
            if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
                return _ABSENT
            index = int(token)
            if index >= len(node):
                return _ABSENT
            node = node[index]
        else:
            return _ABSENT
    return node


def _number(value: float) -> str:
    """ECMAScript Number::toString for a finite double (what RFC 8785 prescribes)."""
    if not math.isfinite(value):
        raise ValueError("NaN and infinities have no JSON encoding")
    if value == 0:
        return "0"  # also -0.0
    sign = "-" if value < 0 else ""
    text = repr(abs(value))  # shortest round-trip digits
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)  # value = 0.digits * 10**point
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * -n + digits
    else:
        exp = n - 1
        exp_text = f"e{'+' if exp >= 0 else '-'}{abs(exp)}"
        body = (digits if k == 1 else digits[0] + "." + digits[1:]) + exp_text
    return sign + body


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be")


def _encode(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, key in enumerate(sorted(value, key=_utf16_key)):
            if not isinstance(key, str):
                raise TypeError("object keys must be strings")
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} has no canonical JSON encoding")


def canonical_json(value: Any) -> str:
    """RFC 8785 canonical JSON text of a JSON value (see the module docstring)."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out)


def _uuid5(name: str) -> str:
    """``str(uuid.uuid5(DEDUP_NAMESPACE, name))`` without building UUID objects (hot path)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_NAMESPACE_BYTES = DEDUP_NAMESPACE.bytes
_dump_str = json.JSONEncoder(ensure_ascii=False).encode


def dedup_key_for(
    event_name: str, instance: Mapping[str, Any], pointers: Sequence[str]
) -> str | None:
    """The dedup key of ``instance`` over explicit ``pointers`` (in the contract's order).

    Returns None when ``pointers`` is empty or any pointed-at value is absent or null.
    """
    values = []
    for pointer in pointers:
        value = resolve_pointer(instance, pointer)
        values.append(None if value is _ABSENT else value)
    return dedup_key_from_values(event_name, list(zip(pointers, values, strict=True)))


def dedup_key_from_values(event_name: str, pairs: Sequence[tuple[str, Any]]) -> str | None:
    """The dedup key from already resolved ``(pointer, value)`` pairs (None: absent)."""
    if not pairs:
        return None
    parts: list[str] = []
    for pointer, value in pairs:
        if value is None:
            return None
        # Same text as canonical_json([[pointer, value], ...]); strings (nearly every key
        # value) take the short way.
        encoded = _dump_str(value) if type(value) is str else canonical_json(value)
        parts.append(f"[{_dump_str(pointer)},{encoded}]")
    return _uuid5(event_name + "[" + ",".join(parts) + "]")


def dedup_key(event: Any) -> str | None:
    """The dedup key of a generated model or contract-shaped mapping.

    The event is first upcast to the newest version of its contract (``refract_sdk.upcast``)
    and the key is taken over that version's ``x-dedup-key`` pointers, so emitters on different
    versions of the same major or of different majors agree. Unknown events have no key.
    """
    from pydantic import BaseModel

    from refract_sdk import _catalogue
    from refract_sdk.upcasting import upcast

    if isinstance(event, BaseModel):
        payload: dict[str, Any] = event.model_dump(mode="json", by_alias=True, exclude_none=True)
    elif isinstance(event, Mapping):
        payload = dict(event)
    else:
        raise TypeError("an event is a generated model or a mapping")
    name = payload.get("event_name")
    if not isinstance(name, str) or name not in _catalogue.DEDUP_KEYS:
        return None
    if payload.get("schema") != f"{name}/{_catalogue.LATEST[name]}":
        payload = upcast(payload)  # the newest version needs no upcasting
    return dedup_key_for(name, payload, _catalogue.DEDUP_KEYS[name])
