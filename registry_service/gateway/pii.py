"""The contracts' PII rules, applied to every accepted event before it reaches the stream.

Contracts mark fields ``x-pii: direct`` (identifies a person on its own: email, name, IP
address) or ``indirect``. The gateway removes direct identifiers from the stream, keeping what
analytics needs:

* IP addresses (fields whose schema has format ipv4/ipv6) are truncated: IPv4 to its /24
  (``203.0.113.77`` -> ``203.0.113.0``), IPv6 to its /48 (``2001:db8:85a3::8a2e:370:7334`` ->
  ``2001:db8:85a3::``). The result is still an address of the same family, so geo lookups at
  city level and the contracts' formats keep working.
* Every other direct string is replaced by ``HMAC-SHA256(REFRACT_PII_KEY, value)`` in lowercase
  hex (64 characters). Keyed, so nobody without the key can confirm a guess by hashing it;
  deterministic, so the same person joins across events and sources. Email addresses are
  trimmed and lowercased first (the same address typed twice must give one hash).

The pointers come from the newest version's annotations (``refract_sdk._catalogue.PII``, which
``refract codegen`` generates from the contracts; ``*`` stands for every array element): the
gateway applies them after upcasting. Indirect fields are kept; they are governed by access
rules in the warehouse, not removed here.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from refract_sdk import _catalogue

Rule = tuple[tuple[str, ...], str]  # (pointer tokens, "ip" | "email" | "hash")


_DOTTED_QUAD = re.compile(
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}"
).fullmatch


def truncate_ip(value: str) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network address of ``value``; None if it is no address."""
    if _DOTTED_QUAD(value):  # the common case, without building ipaddress objects
        return value.rpartition(".")[0] + ".0"
    return _truncate_slow(value)


@functools.lru_cache(maxsize=16384)
def _truncate_slow(value: str) -> str | None:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return str(network.network_address)


class PiiRules:
    """Compiled per-event rules; ``apply`` rewrites an upcast event in place."""

    def __init__(
        self,
        key: bytes,
        pii: Mapping[str, Mapping[str, str]] | None = None,
        schemas: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """``pii``: event -> {pointer: direct|indirect} (default: the SDK catalogue);
        ``schemas``: event -> newest bundled schema, to tell IP and email fields apart."""
        if not key:
            raise ValueError("the PII key must not be empty")
        self._key = bytes(key)
        self.rules: dict[str, tuple[Rule, ...]] = {}
        pii = _catalogue.PII if pii is None else pii
        for event, pointers in pii.items():
            schema = (schemas or {}).get(event)
            rules = []
            for pointer, kind in sorted(pointers.items()):
                if kind != "direct":
                    continue
                tokens = tuple(
                    t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")
                )
                rules.append((tokens, _field_kind(schema, tokens)))
            self.rules[event] = tuple(rules)

    def hash(self, value: str) -> str:
        """HMAC-SHA256 of ``value`` in lowercase hex (one-shot: no HMAC object per call)."""
        return hmac.digest(self._key, value.encode(), "sha256").hex()

    def apply(self, event: dict[str, Any], *, owned: bool = False) -> dict[str, Any]:
        """``event`` with its direct identifiers replaced; copy-on-write, so containers shared
        with the producer's original payload (kept for dead letters, reused by callers) are
        never modified: only the objects on a rewritten path are copied. ``owned=True`` says
        the top-level dict belongs to the caller (the gateway's own copy): it is rewritten in
        place instead of being copied once more."""
        rules = self.rules.get(event.get("event_name"))  # type: ignore[arg-type]
        if not rules:
            return event
        result: Any = event
        for tokens, kind in rules:
            result = self._rewrite(result, tokens, 0, kind, in_place=owned or result is not event)
        return result  # type: ignore[no-any-return]

    def _rewrite(
        self, node: Any, tokens: tuple[str, ...], i: int, kind: str, in_place: bool = False
    ) -> Any:
        """``node`` with the field at ``tokens[i:]`` transformed: a copy when it changed, or
        ``node`` itself rewritten when ``in_place`` (only ever the caller's own top level)."""
        token = tokens[i]
        last = i == len(tokens) - 1
        if token == "*":
            if not isinstance(node, list):
                return node
            items = [
                self._leaf(item, kind) if last else self._rewrite(item, tokens, i + 1, kind)
                for item in node
            ]
            return items if any(a is not b for a, b in zip(items, node, strict=True)) else node
        if not isinstance(node, dict) or token not in node:
            return node
        child = node[token]
        new = self._leaf(child, kind) if last else self._rewrite(child, tokens, i + 1, kind)
        if new is child:
            return node
        copied = node if in_place else dict(node)
        copied[token] = new
        return copied

    def _leaf(self, value: Any, kind: str) -> Any:
        return self._transform(value, kind) if isinstance(value, str) else value

    def _transform(self, value: str, kind: str) -> str:
        if kind == "ip":
            truncated = truncate_ip(value)
            if truncated is not None:
                return truncated
        elif kind == "email":
            value = value.strip().lower()
        return self.hash(value)


def _field_kind(schema: Mapping[str, Any] | None, tokens: tuple[str, ...]) -> str:
    """``ip`` / ``email`` / ``hash`` from the field's schema (its formats), else its name."""
    node = _subschema(schema, tokens) if schema is not None else None
    formats = _formats(schema, node) if schema is not None and node is not None else set()
    if formats & {"ipv4", "ipv6"}:
        return "ip"
    if formats & {"email", "idn-email"}:
        return "email"
    if node is None:  # no schema to read: fall back on the field name
        name = tokens[-1]
        if name in ("ip", "ip_address"):
            return "ip"
        if "email" in name:
            return "email"
    return "hash"


def _deref(root: Mapping[str, Any], node: Any) -> Any:
    for _ in range(32):
        if not isinstance(node, Mapping):
            return node
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return node
        target: Any = root
        for raw in ref[2:].split("/"):
            key = raw.replace("~1", "/").replace("~0", "~")
            target = target.get(key) if isinstance(target, Mapping) else None
        if target is None:
            return node
        merged = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **merged}
    return node


def _subschema(root: Mapping[str, Any], tokens: tuple[str, ...]) -> Any:
    node: Any = _deref(root, root)
    for token in tokens:
        if not isinstance(node, Mapping):
            return None
        if token == "*":
            node = _deref(root, node.get("items"))
        else:
            props = node.get("properties")
            node = _deref(root, props.get(token)) if isinstance(props, Mapping) else None
    return node


def _formats(root: Mapping[str, Any], node: Any, depth: int = 0) -> set[str]:
    node = _deref(root, node)
    if not isinstance(node, Mapping) or depth > 8:
        return set()
    found = {node["format"]} if isinstance(node.get("format"), str) else set()
    for keyword in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(keyword) or ():
            found |= _formats(root, branch, depth + 1)
    return found
