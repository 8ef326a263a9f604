"""The dedup key on the hot path: ``refract_sdk.dedup.dedup_key_for`` with its work done once.

The SDK's function resolves every JSON pointer token by token (unescaping each token per
call) and writes the canonical JSON (RFC 8785) of ``[[pointer, value], ...]`` with
``json.dumps`` per part. Nearly every key value is a string or an integer, and for those
orjson writes exactly the RFC 8785 text: no whitespace, only the mandatory escapes (``"``,
``\\``, the control characters, with ``\\b \\f \\n \\r \\t`` short and the others as lowercase
``\\u00xx``), non-ASCII as UTF-8, integers as their digits. So a ``DedupPlan`` keeps each
pointer's unescaped tokens and hashes ``event_name`` + ``orjson.dumps(pairs)`` directly.

Anything else (a float, an object, an array, a path through an array, a lone surrogate,
an integer beyond 64 bits) goes to the SDK's own function, so the key is always the one
``refract_sdk.dedup`` gives: tests/gateway/test_dedup_plan.py checks that on the documented
vectors (docs/dedup-key.md) and on generated strings and integers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from refract_sdk.dedup import DEDUP_NAMESPACE, dedup_key_for

_NAMESPACE = DEDUP_NAMESPACE.bytes
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1
_VARIANT = {f"{n:x}": f"{8 | (n & 3):x}" for n in range(16)}


class DedupPlan:
    """The dedup key of one event name over its contract's pointers."""

    __slots__ = ("_paths", "_prefix", "name", "pointers")

    def __init__(self, name: str, pointers: Sequence[str]) -> None:
        self.name = name
        self.pointers = tuple(pointers)
        self._prefix = _NAMESPACE + name.encode()
        paths: list[tuple[str, tuple[str, ...]]] | None = []
        for pointer in self.pointers:
            if not pointer.startswith("/"):
                paths = None  # not a pointer the fast path reads: the SDK decides (and raises)
                break
            tokens = tuple(t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/"))
            paths.append((pointer, tokens))  # type: ignore[union-attr]
        self._paths = tuple(paths) if paths is not None else None

    def key(self, instance: Mapping[str, Any]) -> str | None:
        """``refract_sdk.dedup.dedup_key_for(name, instance, pointers)``."""
        paths = self._paths
        if paths is None:
            return dedup_key_for(self.name, instance, self.pointers)
        pairs = []
        for pointer, tokens in paths:
            node: Any = instance
            for token in tokens:
                if type(node) is dict:
                    node = node.get(token)  # absent and null both mean "no key"
                    if node is None:
                        return None
                else:  # an array on the path (or another mapping type): the SDK's resolver
                    return dedup_key_for(self.name, instance, self.pointers)
            kind = type(node)
            if kind is str or (kind is int and _INT_MIN <= node <= _INT_MAX):
                pairs.append((pointer, node))
            else:  # floats, objects, arrays, booleans: the SDK's canonical JSON
                return dedup_key_for(self.name, instance, self.pointers)
        if not pairs:
            return None
        try:
            text = orjson.dumps(pairs)
        except TypeError:  # a lone surrogate: let the SDK say what it says about it
            return dedup_key_for(self.name, instance, self.pointers)
        # UUIDv5 (RFC 9562): the first 16 bytes of the SHA-1, version nibble 5, variant 10xx.
        h = hashlib.sha1(self._prefix + text).hexdigest()
        return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"
