"""This repository's contracts as registry registrations.

The registry holds bundled, self-contained schemas (common parts inlined under `$defs` by
codegen.bundle), because registry clients - the gateway's compiled validators, Confluent-style
tools - cannot follow the relative file references contracts use on disk. Loading on first
start and `refract registry push` both go through `contract_versions`, so the two cannot
disagree about what a contract version looks like in the registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.bundle import bundle
from compat.catalogue import load_catalogue
from compat.source import read_json_file

DEFAULT_CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


@dataclass(frozen=True)
class ContractVersion:
    """One event version ready to register: subject, SemVer, bundled schema, lens, level."""

    subject: str
    semver: str
    schema: dict[str, Any]
    lens: dict[str, Any] | None
    level: str  # Confluent name of the event's compatibility mode

    def body(self) -> dict[str, Any]:
        """The `POST /subjects/{s}/versions` body registering this version."""
        body: dict[str, Any] = {
            "schemaType": "JSON",
            "schema": json.dumps(self.schema, separators=(",", ":"), ensure_ascii=False),
        }
        if self.lens is not None:
            body["lens"] = self.lens
        return body


def contract_versions(root: Path) -> Iterator[ContractVersion]:
    """Every version of every event under `root`, events by name, versions oldest first.

    The first version of each later major carries its lens from the previous major (None when
    the contracts lack it: the registry then refuses that version, as lint does).
    InvalidInput when the tree or a file is malformed.
    """
    catalogue = load_catalogue(root)
    for name in sorted(catalogue.events):
        event = catalogue.events[name]
        level = event.config.compatibility.value.upper()
        majors = event.majors()
        for version in event.versions:
            lens = None
            major = version.version.major
            first = event.first_of_major(major)
            index = majors.index(major)
            if index > 0 and first is not None and first.version == version.version:
                path = event.lenses.get((majors[index - 1], major))
                if path is not None:
                    value = read_json_file(path).contents
                    lens = value if isinstance(value, dict) else None
            schema = bundle(version.schema_set)
            yield ContractVersion(name, str(version.version), schema, lens, level)
