"""Opening the registry the service runs on, and filling it on first start.

`open_registry(settings)` picks the store (PostgreSQL when a DSN is configured, else SQLite at
<data_dir>/registry.db) and, when nothing was ever registered in it, registers this
repository's contracts through the same rules as any client would (compatibility, lenses), so
a fresh installation serves the contracts it was built with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from registry_service.registry.contracts import DEFAULT_CONTRACTS, contract_versions
from registry_service.registry.keys import KeyStore
from registry_service.registry.postgres_store import PostgresStore
from registry_service.registry.service import Registry
from registry_service.registry.sqlite_store import SqliteStore
from registry_service.registry.store import Store

REGISTRY_FILE = "registry.db"


class StoreSettings(Protocol):
    """What opening a registry needs from the service settings."""

    @property
    def data_dir(self) -> Path: ...
    @property
    def registry_dsn(self) -> str | None: ...


def open_store(settings: StoreSettings) -> Store:
    if settings.registry_dsn:
        return PostgresStore(settings.registry_dsn)
    return SqliteStore(Path(settings.data_dir) / REGISTRY_FILE)


def open_registry(
    settings: StoreSettings, *, contracts: Path | None = DEFAULT_CONTRACTS
) -> tuple[Registry, KeyStore]:
    """The registry and key store of this installation, loaded with `contracts` when empty."""
    store = open_store(settings)
    registry = Registry(store)
    # generation 0: nothing was ever registered or configured here (keys do not count), so
    # an operator's later deletions are never undone by a restart
    if contracts is not None and contracts.is_dir() and registry.generation() == 0:
        load_contracts(registry, contracts)
    return registry, KeyStore(store)


def load_contracts(registry: Registry, root: Path) -> int:
    """Register every contract version under `root` (identical ones are no-ops); returns how
    many versions were new. Each event's compatibility mode becomes its subject's level."""
    registered = 0
    for item in contract_versions(root):
        if registry.get_config(item.subject, default_to_global=True) != item.level:
            registry.set_config(item.subject, item.level)
        known = item.semver in registry.versions(item.subject)
        registry.register(item.subject, item.body())
        registered += not known
    return registered
