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

from collections.abc import Callable

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


def reference_formats() -> dict[str, Callable[[str], bool]]:
    """``formats=`` for jsonschema_rs: the reference's checker (or none) for each format."""
    return {name: _reference(name) for name in KNOWN_FORMATS}
