"""The registry template fixture, registered for the whole suite (tests/conftest.py): a
registry.db holding this repository's contracts, built once per test session (per xdist worker)
because loading them takes seconds; tests copy it into their own data directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry_service.registry.bootstrap import open_registry
from registry_service.settings import Settings


@pytest.fixture(scope="session")
def registry_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory of a registry.db loaded with contracts/ (copy it, never write to it)."""
    directory = tmp_path_factory.mktemp("registry-template")
    registry, _keys = open_registry(Settings(data_dir=directory))
    registry.store.close()
    return directory
