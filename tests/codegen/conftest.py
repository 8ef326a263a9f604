"""Shared fixtures for the codegen tests: the repository's catalogue and one rendering of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from compat.catalogue import Catalogue, load_catalogue

REPO = Path(__file__).resolve().parents[2]
CONTRACTS = REPO / "contracts"
SDK_PACKAGE_DIR = REPO / "sdk" / "src" / "refract_sdk"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(CONTRACTS)


@pytest.fixture(scope="session")
def rendered(catalogue: Catalogue) -> dict[str, str]:
    """The python-sdk target rendered once per session (datamodel-code-generator is slow)."""
    from codegen.python_sdk import PythonSdkTarget

    return PythonSdkTarget().render(catalogue)
