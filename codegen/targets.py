"""Code generation targets: what `refract codegen` can produce from the contracts.

A target renders the whole catalogue into files: `render(catalogue)` returns every file it
owns as {path relative to its output directory: text}. Rendering is a pure function of the
contracts (no clock, no machine paths), so `refract codegen --check` can compare the result
with what is checked in, and the writer can delete generated files that no longer
correspond to a contract (they carry the generated header, see codegen.names.header).

Today there is one target, "python-sdk". The two planned ones plug in the same way:

- "typescript-sdk": render `.d.ts`/`.ts` files (one interface per event version, the newest
  re-exported by event name) into e.g. `sdk-js/src/events/`, reusing codegen.bundle for
  self-contained schemas and codegen.names for names; its header would be a `//` comment,
  so the target declares its own comment prefix via `header_prefix`.
- "dbt-contracts": render one `models/<event>.yml` per event with dbt model contracts
  (`contract: {enforced: true}`, column names and data types of the newest version, flattened
  from nested objects) into e.g. `warehouse/models/contracts/`.

Each is a class with `name`, `default_output` and `render`, added to TARGETS.
"""

from __future__ import annotations

from typing import Protocol

from compat.catalogue import Catalogue


class Target(Protocol):
    """One kind of generated output."""

    @property
    def name(self) -> str:
        """The target's name on the command line (`refract codegen --target NAME`)."""
        ...

    @property
    def default_output(self) -> str:
        """Where the files go by default, relative to the repository root."""
        ...

    @property
    def header_prefix(self) -> str:
        """The first-line prefix marking a file as generated (to find stale extra files)."""
        ...

    @property
    def suffixes(self) -> tuple[str, ...]:
        """File name suffixes this target writes (only those are scanned for extra files)."""
        ...

    def render(self, catalogue: Catalogue) -> dict[str, str]:
        """Every file of the target: relative POSIX path -> complete text."""
        ...


def targets() -> dict[str, Target]:
    """The registered targets by name (imported lazily: each pulls in its generator)."""
    from codegen.python_sdk import PythonSdkTarget

    registered: list[Target] = [PythonSdkTarget()]
    return {target.name: target for target in registered}
