"""Format checks for the compiled validator that give the reference `jsonschema`'s verdicts.

The registry's reference validator (compat.source.SchemaSet.validator: Draft 2020-12 with its
FORMAT_CHECKER) and the gateway's compiled one (jsonschema_rs) must accept exactly the same
events, or an event the contract tooling calls valid would be dead-lettered at the gateway (or
the reverse). Their format checks differ: jsonschema only checks `date-time` when the optional
rfc3339-validator is installed (it is not here), checks `email` as "contains @", and checks IP
addresses with Python's ipaddress; jsonschema_rs has its own, stricter RFC implementations.
So the compiled validator gets the reference's own checker functions for every format the
reference knows, and a pass-through for formats the reference does not check. The contracts
pin the spelling that matters with patterns anyway (timestamps, UUIDs), which both engines
enforce identically.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import jsonschema

# Formats used by the contracts, plus the ones a future contract is likely to use.
KNOWN_FORMATS = (
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "regex",
    "json-pointer",
    "relative-json-pointer",
    "uri-template",
)


def _pass(_value: str) -> bool:
    return True


def _reference(name: str) -> Callable[[str], bool]:
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    if name not in checker.checkers:
        return _pass
    func, raises = checker.checkers[name]

    def check(value: str) -> bool:
        try:
            return bool(func(value))
        except raises:
            return False
        except Exception:  # the reference would report any other exception as invalid too
            return False

    check.__name__ = f"reference_{name.replace('-', '_')}"
    return check


_CANONICAL_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
).fullmatch


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}").fullmatch


CACHED_VALUE_CHARS = 64
"""Verdicts of the reference checks (pure functions of the string) are remembered for values
up to this length: an IPv6 address is checked by parsing it with ipaddress (~4 us), and one
user's address repeats in every event of a session. Longer values are checked each time, so
the cache stays small (4096 entries per format)."""


def _cached(check: Callable[[str], bool]) -> Callable[[str], bool]:
    remembered = functools.lru_cache(maxsize=4096)(check)

    def cached_check(value: str) -> bool:
        if len(value) <= CACHED_VALUE_CHARS:
            return remembered(value)
        return check(value)

    return cached_check


def _fast(name: str, check: Callable[[str], bool]) -> Callable[[str], bool]:
    """The reference check behind a fast path that only ever answers True for values the
    reference accepts: a canonical lowercase UUID is always a valid ``uuid`` for it (building
    a uuid.UUID per identifier was a fifth of the validation time)."""
    if check is not _pass and name in ("ipv4", "ipv6", "uuid", "hostname", "idn-hostname"):
        check = _cached(check)
    if name == "uuid":

        def uuid_check(value: str) -> bool:
            return _CANONICAL_UUID(value) is not None or check(value)

        return uuid_check
    if name == "ipv4":
        # ipaddress.IPv4Address accepts exactly ASCII dotted quads of 0-255 without leading
        # zeros; anything with a colon (an IPv6 address in an anyOf) is refused at once.
        def ipv4_check(value: str) -> bool:
            if _DOTTED_QUAD(value) is not None:
                return True
            return ":" not in value and check(value)

        return ipv4_check
    return check


def reference_formats() -> dict[str, Callable[[str], bool]]:
    """The reference's checker (or none) for each format, behind the fast paths."""
    return {name: _fast(name, _reference(name)) for name in KNOWN_FORMATS}


NATIVE_FORMATS = frozenset({"ipv4", "ipv6"})
"""Formats jsonschema_rs checks itself, because its own checks give exactly the reference's
verdicts (Python's ipaddress as jsonschema uses it: no leading zeros, ASCII digits only, no
IPv6 scope id, IPv4-mapped suffixes in dotted quads): a call back into Python per IP address
cost more than the rest of its validation. tests/gateway/test_hot_path.py compares them on
generated strings; the agreement tests cover every contract."""


def compiled_formats() -> dict[str, Callable[[str], bool]]:
    """``formats=`` for jsonschema_rs: the reference's checks, except the native ones."""
    return {
        name: check for name, check in reference_formats().items() if name not in NATIVE_FORMATS
    }


_UUID_PATTERNS = frozenset(
    {
        "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    }
)


def prune_formats(node: Any) -> Any:
    """A copy of a schema without the ``format`` keywords that cannot change a verdict, so the
    compiled validator does not call back into Python for them:

    * formats the reference does not check at all (``date-time`` without rfc3339-validator:
      the contracts' timestamp pattern does the work);
    * ``uuid`` next to a pattern that only matches canonical UUIDs (every such string is a
      valid uuid for the reference, so the format adds nothing to the pattern).
    """
    checked = jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers
    return _prune(node, checked)


def _prune(node: Any, checked: Any) -> Any:
    if isinstance(node, list):
        return [_prune(item, checked) for item in node]
    if not isinstance(node, dict):
        return node
    result = {}
    for key, value in node.items():
        if key in ("const", "enum", "default", "examples"):
            result[key] = value
        elif key == "format" and isinstance(value, str) and _redundant(value, node, checked):
            continue
        else:
            result[key] = _prune(value, checked)
    return result


def _redundant(name: str, node: dict[str, Any], checked: Any) -> bool:
    if name not in checked:
        return True
    return name == "uuid" and node.get("pattern") in _UUID_PATTERNS
