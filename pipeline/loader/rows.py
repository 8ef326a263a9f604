"""The rows the loader writes to raw.events, raw.dead_letters and raw.load_checkpoints.

Plain frozen dataclasses shared by the record parser (records.py) and the warehouses
(warehouse.py), so neither depends on the other. JSON columns are carried as JSON text
(already serialized once), timestamps as naive UTC datetimes (the warehouse layout stores
DuckDB TIMESTAMP / Snowflake TIMESTAMP_NTZ in UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class EventRow:
    """One raw.events row: one events-stream record, keyed by (stream, shard_id, position)."""

    stream: str
    shard_id: str
    position: str
    partition_key: str
    event_id: str
    event_name: str
    schema_ref: str
    dedup_key: str | None
    source: str
    occurred_at: datetime
    received_at: datetime
    payload: str
    """The event object as JSON text (newest contract version, as on the stream)."""
    gateway: str
    """The record's gateway object as JSON text."""


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    """One raw.dead_letters row: a dead-letter-stream record, or a record the loader could not
    parse (reason `loader_unparsable`, from either stream), keyed by its own stream position."""

    stream: str
    shard_id: str
    position: str
    reason: str
    message: str
    origin: str
    producer_key_id: str | None
    producer_source: str | None
    producer_name: str | None
    event_id: str | None
    received_at: datetime
    payload: str | None
    """The original JSON value as JSON text, when it was JSON."""
    payload_base64: str | None = None
    payload_bytes: int | None = None
    payload_truncated: bool = False


@dataclass(frozen=True, slots=True)
class ShardBatch:
    """What one shard of one stream contributes to a load: its rows and its new checkpoint.

    `checkpoint` is the position of the last record read (loaded or dead-lettered); None when
    nothing was read, in which case the stored checkpoint is left as it is.
    """

    stream: str
    shard_id: str
    events: Sequence[EventRow] = field(default_factory=tuple)
    dead_letters: Sequence[DeadLetterRow] = field(default_factory=tuple)
    checkpoint: str | None = None


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Rows actually inserted by one append; the rest were already there (duplicates)."""

    events_inserted: int = 0
    dead_letters_inserted: int = 0
    events_offered: int = 0
    dead_letters_offered: int = 0

    @property
    def duplicates(self) -> int:
        return (
            self.events_offered
            - self.events_inserted
            + self.dead_letters_offered
            - self.dead_letters_inserted
        )
