"""The schema registry: stores, Confluent-style REST API, compatibility and lens checks, keys.

Others use: `open_registry(settings) -> (Registry, KeyStore)`, `registry_router(registry,
settings)`, `Registry.contract/versions/generation`, `KeyStore.create/revoke/list/verify`.
"""

from registry_service.registry.bootstrap import open_registry
from registry_service.registry.keys import KeyStore
from registry_service.registry.router import registry_router
from registry_service.registry.service import Registry

__all__ = ["KeyStore", "Registry", "open_registry", "registry_router"]
