"""Compiled validators per contract version, cached and refreshed from the registry.

Validation is the gateway's hot path, so every (event, version) is compiled once with
jsonschema_rs from the registry's bundled, self-contained schema and reused. The registry
changes at run time (new versions get registered), so:

* the cache polls ``Registry.generation()`` at most every ``schema_refresh_seconds`` and drops
  everything when it moved (contract versions are immutable, but a registry restored from a
  backup or edited by an operator must not leave stale validators behind);
* a version the cache does not know is looked up in the registry at once, so a producer that
  starts sending a version registered a second ago is served without waiting for the poll;
* a lookup that finds nothing is remembered for ``negative_cache_seconds`` only (seconds, never
  forever): a flood of events naming an unknown version costs one registry query per
  interval, and the version is picked up shortly after it is registered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import jsonschema_rs

from registry_service.gateway.formats import compiled_formats, prune_formats


class ContractSource(Protocol):
    """What the cache needs from the registry (registry_service.registry.Registry)."""

    def contract(self, event: str, version: str) -> dict[str, Any] | None: ...

    def versions(self, event: str) -> list[str]: ...

    def generation(self) -> int: ...


@dataclass(frozen=True)
class Compiled:
    """One contract version ready for the hot path."""

    event: str
    version: str
    schema: dict[str, Any]
    validator: Any  # jsonschema_rs validator (untyped extension type)

    def first_error(self, instance: Any) -> str | None:
        """None when ``instance`` is valid, else one line naming where and what is wrong."""
        if self.validator.is_valid(instance):
            return None
        # validate() stops at the first error, as iter_errors' first would, at half its cost.
        try:
            self.validator.validate(instance)
        except jsonschema_rs.ValidationError as error:
            where = "/" + "/".join(str(p) for p in error.instance_path)
            if len(where) > 240:  # a deeply nested instance: the start of its pointer
                where = where[:237] + "..."
            message = error.message
            if len(message) > 240:
                message = message[:237] + "..."
            return f"{where}: {message}"
        return "/: invalid"  # is_valid and validate disagree: never seen, still rejected


@dataclass(frozen=True)
class Missing:
    """Why a version could not be served: ``unknown_contract`` or ``unknown_version``."""

    reason: str
    message: str


class OutsideReference(ValueError):
    """A schema named a resource outside itself (a file, a URL): never fetched."""


def _refuse_retrieval(uri: str) -> Any:
    """jsonschema_rs's retriever: contracts are bundled and self-contained, so a reference
    to anything else is refused instead of read. jsonschema_rs's default retriever reads
    ``file://`` URIs and fetches URLs, and a schema stored before the registry refused such
    references (or written to its database by hand) must not make the gateway do either."""
    raise OutsideReference(f"references outside the schema are not resolved: {uri[:200]}")


def compile_schema(schema: dict[str, Any]) -> Any:
    """A jsonschema_rs Draft 2020-12 validator that agrees with the reference validator.

    Raises ValueError (jsonschema_rs's ValidationError is one) for a schema it cannot compile,
    a reference outside the schema included."""
    return jsonschema_rs.Draft202012Validator(
        prune_formats(schema),
        validate_formats=True,
        formats=compiled_formats(),
        retriever=_refuse_retrieval,
    )


class ValidatorCache:
    """Compiled validators by (event, version); see the module docstring for refreshing."""

    def __init__(
        self,
        registry: ContractSource,
        *,
        refresh_seconds: float = 5.0,
        negative_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.refresh_seconds = refresh_seconds
        self.negative_seconds = negative_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._compiled: dict[tuple[str, str], Compiled] = {}
        self._missing: dict[tuple[str, str], tuple[float, Missing]] = {}
        self._generation: int | None = None
        self._checked_at = float("-inf")
        self.compilations = 0
        self.lookups = 0
        self.epoch = 0
        """Bumped whenever the compiled validators are dropped: what callers derived from
        them (the gateway's per-version plans) is stale from then on."""

    def maybe_refresh(self) -> None:
        """Poll the registry generation if the interval has passed; clear on change."""
        now = self.clock()
        if now - self._checked_at < self.refresh_seconds:
            return
        self._checked_at = now
        generation = self.registry.generation()
        if generation != self._generation:
            with self._lock:
                self._generation = generation
                self._compiled = {}
                self._missing = {}
                self.epoch += 1

    def get(self, event: str, version: str) -> Compiled | Missing:
        key = (event, version)
        hit = self._compiled.get(key)
        if hit is not None:
            return hit
        miss = self._missing.get(key)
        if miss is not None and self.clock() < miss[0]:
            return miss[1]
        return self._load(event, version)

    def _load(self, event: str, version: str) -> Compiled | Missing:
        self.lookups += 1
        schema = self.registry.contract(event, version)
        if schema is None:
            known = self.registry.versions(event)
            if known:
                missing = Missing(
                    "unknown_version",
                    f"/schema: {event} has no version {version!r} in the registry "
                    f"(known: {', '.join(known)})",
                )
            else:
                missing = Missing("unknown_contract", f"/schema: no contract named {event!r}")
            with self._lock:
                self._missing[(event, version)] = (self.clock() + self.negative_seconds, missing)
            return missing
        try:
            validator = compile_schema(schema)
        except ValueError as exc:  # a stored schema the gateway cannot use: its events wait
            first = str(exc).splitlines()[0][:300]
            missing = Missing(
                "unknown_version",
                f"/schema: {event} {version} is registered but cannot be compiled: {first}",
            )
            with self._lock:
                self._missing[(event, version)] = (self.clock() + self.negative_seconds, missing)
            return missing
        compiled = Compiled(event, version, schema, validator)
        self.compilations += 1
        with self._lock:
            self._compiled[(event, version)] = compiled
            self._missing.pop((event, version), None)
        return compiled
