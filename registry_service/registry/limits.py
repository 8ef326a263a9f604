"""The registry's bounds on what one request may make it read, parse, store or compute.

The registry answers anyone who can reach it (reads and compatibility checks need no token
unless `--registry-read-auth` is on), so every input is bounded *before* the work it would
cause: the body before it is buffered, nesting before a recursive parser sees it, a schema's
size before the diff engine walks it, and the counterexample search by a per-request budget.
docs/registry.md lists these limits; docs/security.md the threat model they serve.
"""

from __future__ import annotations

from compat.source import MAX_NESTING

MIB = 1024 * 1024

MAX_BODY_BYTES = 4 * MIB
"""A request body as sent; larger ones get 413 (41301) before they are buffered."""

MAX_BODY_DEPTH = MAX_NESTING + 8
"""Nesting of a request body: a schema's own bound (compat.source.MAX_NESTING) plus the few
levels of the registration envelope (`{"schema": {...}}`, a lens)."""

MAX_SCHEMA_BYTES = 1 * MIB
"""A schema's compact JSON text (Confluent Cloud's default cap too); larger is 42209."""

MAX_SCHEMA_NODES = 20_000
"""JSON values in one schema (objects, arrays and scalars); more is 42209. The repository's
largest bundled contract has a few hundred; the diff engine's work grows with this count."""

MAX_SUBJECT_LENGTH = 255
"""Characters in a subject name; longer is 42208."""

MAX_SCHEMA_ID = 2**63 - 1
"""Schema ids are int64 in both stores; an id outside [1, this] names no schema (40403)."""

COUNTEREXAMPLE_SECONDS = 2.0
"""Per compatibility check or registration: total time the counterexample search may take
over all incompatible changes. Past it, remaining changes are reported without one and the
answer says the search was cut short (`counterexamples_cut_short: true`)."""
