"""Registered schema documents: parsing, identity, and the contract version they declare.

Confluent gives one global id per distinct schema; here "distinct" means a different JSON
value, whatever the key order or whitespace it was sent with, so the fingerprint hashes a
canonical form (sorted keys, compact). The stored text keeps the sender's key order (contracts
put the envelope first), compacted.

A Refract contract names its own version in `properties.schema.default`
(`"page_view/1.1.0"`); that is how the registry knows a version's SemVer and major.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compat.source import InvalidInput, SchemaSet
from compat.versions import Version, parse_schema_ref
from registry_service.registry import errors
from registry_service.registry.errors import RegistryError


@dataclass(frozen=True)
class ParsedSchema:
    """A schema accepted for registration (metaschema-valid, every `$ref` resolvable)."""

    value: Any
    text: str
    fingerprint: str
    event: str | None
    semver: Version | None

    @property
    def ref(self) -> str | None:
        return f"{self.event}/{self.semver}" if self.event and self.semver else None

    def schema_set(self) -> SchemaSet:
        return SchemaSet.from_value(self.value)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def fingerprint(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def declared_version(value: Any) -> tuple[str, Version] | None:
    """(event, version) from `properties.schema.default`, None when the schema has none."""
    if not isinstance(value, Mapping):
        return None
    properties = value.get("properties")
    field = properties.get("schema") if isinstance(properties, Mapping) else None
    default = field.get("default") if isinstance(field, Mapping) else None
    if not isinstance(default, str):
        return None
    try:
        return parse_schema_ref(default)
    except ValueError:
        return None


def parse_schema(value: Any) -> ParsedSchema:
    """A registrable schema from the request's `schema` field (a JSON string, as in Confluent,
    or - a convenience - the JSON value itself); 42201 naming the problem otherwise."""
    if isinstance(value, str):
        try:
            document = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RegistryError(
                errors.INVALID_SCHEMA,
                f"Invalid schema: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            ) from None
    elif isinstance(value, dict | bool):
        document = value
    else:
        raise RegistryError(
            errors.INVALID_SCHEMA,
            "Invalid schema: the 'schema' field must be a string holding a JSON Schema document",
        )
    try:
        SchemaSet.from_value(document)
    except InvalidInput as exc:
        message = str(exc).removeprefix("<inline>:1:1: ").removeprefix("<inline>: ")
        raise RegistryError(errors.INVALID_SCHEMA, f"Invalid schema: {message}") from None
    except RecursionError:
        raise RegistryError(errors.INVALID_SCHEMA, "Invalid schema: nested too deeply") from None
    declared = declared_version(document)
    return ParsedSchema(
        value=document,
        text=compact(document),
        fingerprint=fingerprint(document),
        event=declared[0] if declared else None,
        semver=declared[1] if declared else None,
    )


def stored_schema(text: str, semver: str | None) -> ParsedSchema:
    """A schema read back from the store (already validated when it was registered)."""
    value = json.loads(text)
    declared = declared_version(value)
    return ParsedSchema(
        value=value,
        text=text,
        fingerprint=fingerprint(value),
        event=declared[0] if declared else None,
        semver=Version.parse(semver) if semver else None,
    )
