"""Retention that actually runs: raw rows 180 days (by received_at), curated history 3 years
(by occurred_at), applied by the runner at start and then once a day, and by
`refract pipeline prune` for operators.

Why two clocks: raw.* exists to replay and rebuild recent data (late events, model changes),
and a full refresh can only rebuild what raw still holds; the curated incremental tables
(conformed.referral_events, conformed.session_events) are the long-lived history the marts
are rebuilt from. So the raw cutoff is on received_at (when the row reached us: what the loader
controls), the curated one on occurred_at (the business time the figures are about). Tables dbt
rebuilds in full (sessions, identities, marts, dq) follow at the next build (docs/pipeline.md,
Retention).

The warehouse is the caller's: a DuckDB file admits one writer, so run this where the caller
owns the file (the runner between loads; the prune command when no runner holds it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline.loader.warehouse import (
    CURATED_RETENTION_DAYS,
    RETENTION_DAYS,
    CuratedPruneResult,
    PruneResult,
    Warehouse,
    utc_now,
)

RAW_RETENTION_DAYS = RETENTION_DAYS
"""raw.events / raw.dead_letters: 180 days by received_at."""
CURATED_DAYS = CURATED_RETENTION_DAYS
"""conformed.referral_events / conformed.session_events: 3 years (1095 days) by occurred_at."""


class RetentionError(ValueError):
    """Retention asked with arguments that make no sense (the message says which)."""


@dataclass(frozen=True)
class RetentionResult:
    """What one application of retention deleted, per table, and the cutoffs it used."""

    at: datetime
    raw_days: int
    curated_days: int
    raw: PruneResult
    curated: CuratedPruneResult
    duration_s: float

    @property
    def deleted(self) -> dict[str, int]:
        """Rows deleted per table (raw tables always; curated tables that existed)."""
        return {
            "raw.events": self.raw.events_deleted,
            "raw.dead_letters": self.raw.dead_letters_deleted,
            **self.curated.deleted,
        }

    def to_json(self) -> dict[str, Any]:
        """The status.json / `--format json` shape (timestamps UTC ISO-8601 with `Z`)."""
        return {
            "at": _iso(self.at),
            "raw_days": self.raw_days,
            "curated_days": self.curated_days,
            "raw_cutoff": _iso(self.raw.cutoff),
            "curated_cutoff": _iso(self.curated.cutoff),
            "deleted": self.deleted,
            "skipped": list(self.curated.skipped),
            "duration_s": round(self.duration_s, 3),
            "error": None,
        }


def check_days(raw_days: object, curated_days: object) -> tuple[int, int]:
    """Both whole numbers of days >= 1 (curated may be shorter than raw: nothing requires the
    curated history to outlive the raw rows). One-line RetentionError otherwise."""
    checked: list[int] = []
    for name, value in (("raw_days", raw_days), ("curated_days", curated_days)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise RetentionError(f"retention {name} {value!r}: expected a whole number of days")
        if value < 1:
            raise RetentionError(f"retention {name} {value}: must be at least 1 day")
        checked.append(value)
    return checked[0], checked[1]


def apply_retention(
    warehouse: Warehouse,
    raw_days: int = RAW_RETENTION_DAYS,
    curated_days: int = CURATED_DAYS,
    now: datetime | None = None,
) -> RetentionResult:
    """Prune raw.* older than `raw_days` (received_at) and the curated incremental tables older
    than `curated_days` (occurred_at), both relative to `now` (default: the current UTC time).

    The raw tables are created first if missing (idempotent), so a warehouse the loader has not
    written yet prunes nothing instead of failing; curated tables that do not exist yet (no
    dbt build so far) are skipped and listed in `curated.skipped`. Each prune is one
    transaction: raw first, then curated."""
    raw_days, curated_days = check_days(raw_days, curated_days)
    started = time.monotonic()
    current = now if now is not None else utc_now()
    if current.tzinfo is not None:
        current = current.astimezone(UTC).replace(tzinfo=None)
    warehouse.ensure_raw()
    raw = warehouse.prune_raw(raw_days, current)
    curated = warehouse.prune_curated(curated_days, current)
    return RetentionResult(
        at=current,
        raw_days=raw_days,
        curated_days=curated_days,
        raw=raw,
        curated=curated,
        duration_s=time.monotonic() - started,
    )


def _iso(moment: datetime) -> str:
    """Naive UTC (as the warehouse stores it) to ISO-8601 with milliseconds and `Z`."""
    return moment.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


__all__ = [
    "CURATED_DAYS",
    "RAW_RETENTION_DAYS",
    "RetentionError",
    "RetentionResult",
    "apply_retention",
    "check_days",
]
