"""Where the loader reads: the local stream (default) or Kinesis, from stored checkpoints.

A source never keeps its own idea of progress: every `read` gets the checkpoints the warehouse
holds (the last position loaded per (stream, shard)) and continues after them. A load that
failed before its commit therefore simply reads the same records again.

Positions (the `position` column of raw.*):
- local: the record offset zero-padded to 20 digits (sorts as text); the next read starts at
  offset + 1 (offsets can have gaps, docs/streams.md, so never count records).
- Kinesis: the record's SequenceNumber; the next read is AFTER_SEQUENCE_NUMBER it, or
  TRIM_HORIZON without a checkpoint. The records of a KPL aggregate (the sink packs a key's
  records together, pipeline/streams/aggregation.py) are `<SequenceNumber>:<index>` with a
  six-digit index; a checkpoint inside an aggregate is re-read AT_SEQUENCE_NUMBER and the
  records up to its index are skipped, so an aggregate loaded in part is never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pipeline.loader.records import SourceRecord
from pipeline.streams.aggregation import AggregateError, deaggregate
from pipeline.streams.base import KinesisOptions, local_stream_directory
from pipeline.streams.local import StreamReader

log = logging.getLogger("refract.loader")

RecordKind = Literal["events", "dead_letters"]
LOCAL_SHARD = "local"
Checkpoints = Mapping[tuple[str, str], str]


@dataclass(frozen=True, slots=True)
class ShardLag:
    """How far a shard's checkpoint is behind its end: records (local, an upper bound when the
    stream has offset gaps) or milliseconds (Kinesis MillisBehindLatest); None if unknown."""

    records: int | None = None
    millis_behind: int | None = None


@dataclass(slots=True)
class ShardRead:
    """Records read from one shard of one stream in one load, and where that leaves the shard."""

    stream: str
    kind: RecordKind
    shard_id: str
    records: list[SourceRecord] = field(default_factory=list)
    lag: ShardLag = field(default_factory=ShardLag)
    caught_up: bool = True
    """Nothing more was readable at the end of this read (the loader may sleep)."""


class Source(Protocol):
    """A stream source: `read` continues after the given checkpoints."""

    def read(self, checkpoints: Checkpoints, max_records: int) -> list[ShardRead]:
        """Up to `max_records` records per shard, after each shard's checkpoint."""
        ...

    def lag(self, checkpoints: Checkpoints) -> dict[tuple[str, str], ShardLag]:
        """Lag per (stream, shard) for these checkpoints, as well as the source knows it."""
        ...

    def close(self) -> None: ...


def local_position(offset: int) -> str:
    """A local offset as a raw.* position: 20 digits, so text order is offset order."""
    return f"{offset:020d}"


class LocalSource:
    """Both local streams of a data directory: `events` and `dead_letters`, shard `local`."""

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        self._readers: dict[RecordKind, StreamReader] = {
            "events": StreamReader(local_stream_directory(self.data_dir, "events")),
            "dead_letters": StreamReader(local_stream_directory(self.data_dir, "dead_letters")),
        }

    @staticmethod
    def _next_offset(checkpoints: Checkpoints, stream: str) -> int:
        position = checkpoints.get((stream, LOCAL_SHARD))
        if position is None:
            return 0
        if not position.isdigit():
            raise ValueError(
                f"raw.load_checkpoints ({stream}, {LOCAL_SHARD}): position {position!r} is not "
                "a local stream offset"
            )
        return int(position) + 1

    def read(self, checkpoints: Checkpoints, max_records: int) -> list[ShardRead]:
        reads = []
        for kind, reader in self._readers.items():
            start = self._next_offset(checkpoints, kind)
            got = reader.read(start, max_records)
            records = [
                SourceRecord(kind, LOCAL_SHARD, local_position(offset), r.partition_key, r.data)
                for offset, r in got
            ]
            after = got[-1][0] + 1 if got else start
            caught_up = len(got) < max_records
            behind = 0 if caught_up else max(0, reader.end_offset() - after)
            reads.append(ShardRead(kind, kind, LOCAL_SHARD, records, ShardLag(behind), caught_up))
        return reads

    def lag(self, checkpoints: Checkpoints) -> dict[tuple[str, str], ShardLag]:
        """end_offset - next offset per stream (counts offsets: a gap after an unclean
        shutdown overstates it until the loader passes the gap)."""
        return {
            (kind, LOCAL_SHARD): ShardLag(
                max(0, reader.end_offset() - self._next_offset(checkpoints, kind))
            )
            for kind, reader in self._readers.items()
        }

    def close(self) -> None:
        """Nothing to release: readers hold no lock or open file between reads."""


@dataclass(slots=True)
class _Cursor:
    """A shard iterator valid for reading after `after` (None = from TRIM_HORIZON)."""

    after: str | None
    iterator: str


class KinesisSource:
    """The events and dead-letter Kinesis streams, every shard, parents before children.

    Shard iterators are kept between reads while the stored checkpoint is where the iterator
    was left (the previous load committed); otherwise (a failed commit, a restart, an expired
    iterator) a new one is taken AFTER_SEQUENCE_NUMBER the checkpoint. After a reshard, a
    child shard is read only once each parent still listed is closed, read to its end and its
    last position committed, so a key's records are loaded in order across the reshard.
    """

    def __init__(
        self,
        client: Any,
        events_stream: str,
        dead_letter_stream: str | None = None,
        *,
        page_limit: int = 10_000,
        max_calls_per_shard: int = 5,
    ) -> None:
        self.client = client
        self.streams: dict[str, RecordKind] = {events_stream: "events"}
        if dead_letter_stream:
            self.streams[dead_letter_stream] = "dead_letters"
        self.page_limit = page_limit
        self.max_calls_per_shard = max_calls_per_shard
        self._cursors: dict[tuple[str, str], _Cursor] = {}
        # Closed shards read to their end: (stream, shard) -> last position handed out then.
        self._finished: dict[tuple[str, str], str | None] = {}
        self._lag: dict[tuple[str, str], ShardLag] = {}

    @classmethod
    def from_options(cls, options: KinesisOptions, client: Any = None) -> KinesisSource:
        """The events and dead-letter streams named by the gateway's Kinesis settings
        (REFRACT_KINESIS_STREAM / _DEAD_LETTER_STREAM / _REGION / _ENDPOINT)."""
        if client is None:
            import boto3  # type: ignore[import-untyped]
            from botocore.config import Config  # type: ignore[import-untyped]

            session = boto3.session.Session()
            client = session.client(
                "kinesis",
                region_name=options.region or session.region_name or "us-east-1",
                endpoint_url=options.endpoint_url,
                # botocore's standard retries (throttling, 5xx) are right for reads: a
                # repeated GetRecords with the same iterator returns the same records.
                config=Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=15),
            )
        return cls(client, options.stream_name("events"), options.stream_name("dead_letters"))

    def list_shards(self, stream: str) -> list[dict[str, Any]]:
        """Every shard of `stream` still within retention (open and closed), in listing order."""
        shards: list[dict[str, Any]] = []
        page = self.client.list_shards(StreamName=stream)
        shards.extend(page["Shards"])
        while page.get("NextToken"):
            page = self.client.list_shards(NextToken=page["NextToken"])
            shards.extend(page["Shards"])
        return shards

    def _iterator(self, stream: str, shard_id: str, after: str | None) -> str:
        if after is None:
            response = self.client.get_shard_iterator(
                StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )
        else:
            # A position inside an aggregate reads that aggregate again (AT): _expand skips
            # the records already loaded.
            sequence, index = _split_position(after)
            response = self.client.get_shard_iterator(
                StreamName=stream,
                ShardId=shard_id,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER"
                if index is None
                else "AT_SEQUENCE_NUMBER",
                StartingSequenceNumber=sequence,
            )
        return str(response["ShardIterator"])

    def _done(self, key: tuple[str, str], checkpoints: Checkpoints) -> bool:
        """A closed shard read to its end whose last position is committed."""
        return key in self._finished and self._finished[key] == checkpoints.get(key)

    def read(self, checkpoints: Checkpoints, max_records: int) -> list[ShardRead]:
        reads: list[ShardRead] = []
        for stream, kind in self.streams.items():
            shards = self.list_shards(stream)
            listed = {shard["ShardId"] for shard in shards}
            for shard in shards:
                shard_id = shard["ShardId"]
                key = (stream, shard_id)
                parents = [
                    parent
                    for parent in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId"))
                    if parent and parent in listed
                ]
                if any(not self._done((stream, parent), checkpoints) for parent in parents):
                    self._lag[key] = ShardLag()
                    reads.append(ShardRead(stream, kind, shard_id, caught_up=False))
                    continue
                if self._done(key, checkpoints):
                    continue
                reads.append(self._read_shard(stream, kind, shard_id, checkpoints, max_records))
        return reads

    def _read_shard(
        self,
        stream: str,
        kind: RecordKind,
        shard_id: str,
        checkpoints: Checkpoints,
        max_records: int,
    ) -> ShardRead:
        key = (stream, shard_id)
        after = checkpoints.get(key)
        cursor = self._cursors.pop(key, None)
        iterator = (
            cursor.iterator
            if cursor is not None and cursor.after == after
            else self._iterator(stream, shard_id, after)
        )
        out = ShardRead(stream, kind, shard_id, caught_up=False)
        last = after
        calls = 0
        next_iterator: str | None = iterator
        while next_iterator is not None and calls < self.max_calls_per_shard:
            calls += 1
            try:
                page = self.client.get_records(
                    ShardIterator=next_iterator,
                    Limit=min(self.page_limit, max_records - len(out.records)),
                )
            except self.client.exceptions.ExpiredIteratorException:
                log.info("kinesis %s/%s: shard iterator expired, re-reading after %s", *key, last)
                next_iterator = self._iterator(stream, shard_id, last)
                continue
            except self.client.exceptions.ProvisionedThroughputExceededException:
                log.warning("kinesis %s/%s: read throttled, continuing next load", *key)
                break
            for record in page["Records"]:
                expanded = _expand(stream, shard_id, record, last)
                out.records.extend(expanded)
                if expanded:
                    last = expanded[-1].position
            millis = page.get("MillisBehindLatest")
            out.lag = ShardLag(None, int(millis) if millis is not None else None)
            next_iterator = page.get("NextShardIterator")
            if next_iterator is None:  # closed and read to its end
                self._finished[key] = last
                out.caught_up = True
                out.lag = ShardLag(None, 0)
                break
            if len(out.records) >= max_records:
                break
            if not page["Records"] and (millis is None or int(millis) == 0):
                out.caught_up = True
                break
        if next_iterator is not None:
            self._cursors[key] = _Cursor(last, next_iterator)
        self._lag[key] = out.lag
        return out

    def lag(self, checkpoints: Checkpoints) -> dict[tuple[str, str], ShardLag]:
        """MillisBehindLatest per shard as of the last read (no extra Kinesis calls)."""
        return dict(self._lag)

    def close(self) -> None:
        self._cursors.clear()


SUB_POSITION = ":"
"""Separates an aggregate's SequenceNumber from a record's index in a Kinesis position."""


def _expand(
    stream: str, shard_id: str, record: dict[str, Any], after: str | None
) -> list[SourceRecord]:
    """The stream records of one Kinesis record: itself, or the records of a KPL aggregate
    after the checkpoint ``after`` when it points inside this aggregate."""
    sequence = str(record["SequenceNumber"])
    data = bytes(record["Data"])
    arrival = record.get("ApproximateArrivalTimestamp")
    try:
        parts = deaggregate(data)
    except AggregateError as exc:  # as the KCL does: not an aggregate after all, kept whole
        log.warning("kinesis %s/%s/%s: %s; loaded as one record", stream, shard_id, sequence, exc)
        parts = None
    if parts is None:
        return [
            SourceRecord(stream, shard_id, sequence, str(record["PartitionKey"]), data, arrival)
        ]
    done = -1
    if after is not None:
        at, index = _split_position(after)
        if at == sequence and index is not None:
            done = index
    return [
        SourceRecord(stream, shard_id, f"{sequence}{SUB_POSITION}{i:06d}", key, payload, arrival)
        for i, (key, payload) in enumerate(parts)
        if i > done
    ]


def _split_position(position: str) -> tuple[str, int | None]:
    """(SequenceNumber, index in its aggregate or None) of a Kinesis position."""
    sequence, inside, index = position.partition(SUB_POSITION)
    return (sequence, int(index)) if inside and index.isdigit() else (position, None)
