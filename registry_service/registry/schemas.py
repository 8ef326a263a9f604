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

from compat.source import MAX_NESTING, InvalidInput, SchemaSet
from compat.versions import Version, parse_schema_ref
from registry_service.registry import errors, strict_json
from registry_service.registry.errors import RegistryError
from registry_service.registry.limits import MAX_SCHEMA_BYTES, MAX_SCHEMA_NODES


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
        """The schema for the diff engine: in memory, references only inside itself.

        A schema stored before references were confined may hold a `$ref` to a file; it is
        refused here (42201) like a new one, never resolved, so nothing it names is read.
        """
        try:
            return SchemaSet.from_value(self.value)
        except InvalidInput as exc:
            raise RegistryError(
                errors.INVALID_SCHEMA, f"Invalid schema: {_without_position(exc)}"
            ) from None
        except RecursionError:
            raise RegistryError(
                errors.INVALID_SCHEMA, "Invalid schema: nested too deeply"
            ) from None


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
    or - a convenience - the JSON value itself); 42201 naming the problem otherwise.

    The text is parsed strictly (strict_json) and bounded in size and node count (42209,
    Confluent's "schema too large") before the metaschema check and the diff engine see it.
    """
    if isinstance(value, str):
        if len(value) > MAX_SCHEMA_BYTES:
            raise _too_large(f"above {MAX_SCHEMA_BYTES} bytes")
        try:
            document = strict_json.loads(value, max_depth=MAX_NESTING)
        except strict_json.StrictJSONError as exc:
            raise RegistryError(errors.INVALID_SCHEMA, f"Invalid schema: not JSON: {exc}") from None
    elif isinstance(value, dict | bool):
        # The same strict reading for a value given inline (NaN, surrogates, depth).
        try:
            document = strict_json.loads(compact(value), max_depth=MAX_NESTING)
        except (strict_json.StrictJSONError, RecursionError) as exc:
            why = str(exc) if isinstance(exc, strict_json.StrictJSONError) else "nested too deeply"
            raise RegistryError(errors.INVALID_SCHEMA, f"Invalid schema: {why}") from None
    else:
        raise RegistryError(
            errors.INVALID_SCHEMA,
            "Invalid schema: the 'schema' field must be a string holding a JSON Schema document",
        )
    text = compact(document)
    size = len(text.encode())
    if size > MAX_SCHEMA_BYTES:
        raise _too_large(f"{size} bytes, above {MAX_SCHEMA_BYTES}")
    if strict_json.count_nodes(document, MAX_SCHEMA_NODES) > MAX_SCHEMA_NODES:
        raise _too_large(f"more than {MAX_SCHEMA_NODES} JSON values")
    try:
        SchemaSet.from_value(document)
    except InvalidInput as exc:
        raise RegistryError(
            errors.INVALID_SCHEMA, f"Invalid schema: {_without_position(exc)}"
        ) from None
    except RecursionError:
        raise RegistryError(errors.INVALID_SCHEMA, "Invalid schema: nested too deeply") from None
    declared = declared_version(document)
    return ParsedSchema(
        value=document,
        text=text,
        fingerprint=fingerprint(document),
        event=declared[0] if declared else None,
        semver=declared[1] if declared else None,
    )


def _without_position(exc: InvalidInput) -> str:
    """An InvalidInput about an in-memory schema, without its meaningless `<inline>:1:1`."""
    return str(exc).removeprefix("<inline>:1:1: ").removeprefix("<inline>: ")


def _too_large(why: str) -> RegistryError:
    return RegistryError(
        errors.SCHEMA_TOO_LARGE,
        f"Schema too large: {why}; the registry accepts schemas up to {MAX_SCHEMA_BYTES} bytes "
        f"and {MAX_SCHEMA_NODES} JSON values",
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
