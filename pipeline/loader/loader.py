"""The loader: one `load_once` reads every shard after its checkpoint, parses the records and
appends rows + checkpoints to the warehouse in one transaction.

At least once and idempotent: a load that fails anywhere before its commit leaves the
warehouse as it was (the next load reads the same records again); records that were already
loaded (a reset checkpoint, a replayed stream, a crash between commit and anything else)
insert nothing, because raw rows are keyed by their stream position. Bad records become
`loader_unparsable` dead letters (records.py) and never stop the load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.loader.records import UNPARSABLE, parse_dead_letter_record, parse_event_record
from pipeline.loader.rows import DeadLetterRow, EventRow, ShardBatch
from pipeline.loader.sources import ShardLag, ShardRead, Source
from pipeline.loader.warehouse import Warehouse

DEFAULT_BATCH_RECORDS = 5000


@dataclass(slots=True)
class StreamStats:
    """One stream's share of a load (all its shards)."""

    stream: str
    records_read: int = 0
    events_inserted: int = 0
    dead_letters_inserted: int = 0
    duplicates_skipped: int = 0
    unparsable: int = 0
    """Records that became loader_unparsable dead letters (counted in records_read)."""

    @property
    def rows_inserted(self) -> int:
        return self.events_inserted + self.dead_letters_inserted


@dataclass(slots=True)
class LoadStats:
    """What one `load_once` did."""

    streams: dict[str, StreamStats] = field(default_factory=dict)
    lag: dict[tuple[str, str], ShardLag] = field(default_factory=dict)
    checkpoints: dict[tuple[str, str], str] = field(default_factory=dict)
    """The checkpoints after this load (committed)."""
    caught_up: bool = True
    """Every shard was read to its current end: an immediate next load would find nothing."""
    max_received_at: datetime | None = None
    """Newest received_at among the rows of this load (for freshness), None if none."""
    duration_s: float = 0.0

    @property
    def records_read(self) -> int:
        return sum(s.records_read for s in self.streams.values())

    @property
    def rows_inserted(self) -> int:
        return sum(s.rows_inserted for s in self.streams.values())

    @property
    def duplicates_skipped(self) -> int:
        return sum(s.duplicates_skipped for s in self.streams.values())


def build_batch(read: ShardRead) -> tuple[ShardBatch, int]:
    """A shard's records as rows (events or dead letters) and its new checkpoint, and the
    number of records that could not be parsed."""
    events: list[EventRow] = []
    dead_letters: list[DeadLetterRow] = []
    unparsable = 0
    if read.kind == "events":
        for record in read.records:
            row = parse_event_record(record)
            if isinstance(row, EventRow):
                events.append(row)
            else:
                dead_letters.append(row)
                unparsable += 1
    else:
        for record in read.records:
            dead = parse_dead_letter_record(record)
            if dead.reason == UNPARSABLE:  # the gateway never writes this reason
                unparsable += 1
            dead_letters.append(dead)
    checkpoint = read.records[-1].position if read.records else None
    return ShardBatch(read.stream, read.shard_id, events, dead_letters, checkpoint), unparsable


class Loader:
    """Reads a `Source` into a `Warehouse`, `batch_records` per shard per load.

    `warehouse` is an open Warehouse (the caller closes it) or a factory called per load and
    closed after it — a DuckDB file admits one writing process, so a runner that also runs dbt
    in between can pass `lambda: open_warehouse(path)`.
    """

    def __init__(
        self,
        source: Source,
        warehouse: Warehouse | Callable[[], Warehouse],
        batch_records: int = DEFAULT_BATCH_RECORDS,
    ) -> None:
        if batch_records < 1:
            raise ValueError(f"batch_records must be >= 1, got {batch_records}")
        self.source = source
        self.batch_records = batch_records
        self._warehouse = warehouse
        self._checkpoints: dict[tuple[str, str], str] | None = None
        self._raw_ready: set[int] = set()

    def _open(self) -> tuple[Warehouse, bool]:
        if isinstance(self._warehouse, Warehouse):
            warehouse, owned = self._warehouse, False
        else:
            warehouse, owned = self._warehouse(), True
        if owned or id(warehouse) not in self._raw_ready:
            warehouse.ensure_raw()
            self._raw_ready.add(id(warehouse))
        return warehouse, owned

    def load_once(self) -> LoadStats:
        """Read after the committed checkpoints, append rows and checkpoints in one transaction."""
        started = time.monotonic()
        warehouse, owned = self._open()
        try:
            checkpoints = warehouse.checkpoints()
            reads = self.source.read(checkpoints, self.batch_records)
            stats = LoadStats()
            batches: list[ShardBatch] = []
            for read in reads:
                batch, unparsable = build_batch(read)
                batches.append(batch)
                stream = stats.streams.setdefault(read.stream, StreamStats(read.stream))
                stream.records_read += len(read.records)
                stream.unparsable += unparsable
                stats.lag[(read.stream, read.shard_id)] = read.lag
                stats.caught_up = stats.caught_up and read.caught_up
                for received in [r.received_at for r in batch.events] + [
                    r.received_at for r in batch.dead_letters
                ]:
                    if stats.max_received_at is None or received > stats.max_received_at:
                        stats.max_received_at = received
            todo = [b for b in batches if b.events or b.dead_letters or b.checkpoint is not None]
            results = warehouse.append_batches(todo) if todo else []
            for batch, result in zip(todo, results, strict=True):
                stream = stats.streams[batch.stream]
                stream.events_inserted += result.events_inserted
                stream.dead_letters_inserted += result.dead_letters_inserted
                stream.duplicates_skipped += result.duplicates
                if batch.checkpoint is not None:
                    checkpoints[(batch.stream, batch.shard_id)] = batch.checkpoint
            stats.checkpoints = dict(checkpoints)
            self._checkpoints = stats.checkpoints
        finally:
            if owned:
                warehouse.close()
        stats.duration_s = time.monotonic() - started
        return stats

    def load_until_caught_up(self, max_loads: int = 1000) -> list[LoadStats]:
        """load_once until a load finds every shard at its end (tests, catch-up, `--once`)."""
        out: list[LoadStats] = []
        for _ in range(max_loads):
            stats = self.load_once()
            out.append(stats)
            if stats.caught_up:
                break
        return out

    def lag(self) -> dict[tuple[str, str], ShardLag]:
        """Lag per (stream, shard) against the last committed checkpoints (read from the
        warehouse if this loader has not loaded yet)."""
        if self._checkpoints is None:
            warehouse, owned = self._open()
            try:
                self._checkpoints = warehouse.checkpoints()
            finally:
                if owned:
                    warehouse.close()
        return self.source.lag(self._checkpoints)

    def close(self) -> None:
        """Close the source (an open Warehouse passed in stays the caller's to close)."""
        self.source.close()
