"""Kinesis Data Streams sink: boto3 PutRecords within the service limits, retrying what failed.

Limits (docs/streams.md, "Kinesis"): a record of more than 1 MiB (data plus UTF-8 partition
key) is rejected with SinkError before anything is sent; batches are split into calls of at
most 500 records and 5 MiB (partition keys included).

Partial failures: PutRecords answers per record; only the records that failed with a
retriable code (throttling, internal failure, KMS throttling) are sent again, with exponential
backoff and full jitter, until `max_retry_time` has passed; then SinkError says how many records
were not accepted and why. Whole-call throttling and lost connections are retried the same way
(a lost response can duplicate records: at-least-once, the dedup key removes them downstream).

Ordering: PutRecords processes a call's records independently, so if two records of one
partition key are in the same call and the first fails, the second is already in the shard
before the first's retry. To keep every key in order, a call carries at most one record per
partition key (`preserve_order=True`, the default): the first call takes the first pending
record of every key, the next the following ones, and a key's next record is only sent once
the previous one was accepted. A batch of many keys goes in one call.

Aggregation (`aggregate=True`, the default): before sending, a key's consecutive records are
packed into KPL aggregated records of up to 1 MiB (pipeline/streams/aggregation.py), so a
batch of one user's events is one Kinesis record and one call instead of one call per event,
and an aggregate is accepted or retried whole. Consumers de-aggregate (our loader does, and so
do the KCL, Lambda and Firehose); a key with a single record in a batch is sent plain.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from pipeline.streams.aggregation import AggregateError, aggregate, deaggregate
from pipeline.streams.base import Record, SinkError, check_records

log = logging.getLogger("refract.streams")

MAX_CALL_RECORDS = 500
MAX_CALL_BYTES = 5 * 1024 * 1024

RETRIABLE_RECORD_ERRORS = frozenset(
    {"ProvisionedThroughputExceededException", "InternalFailure", "KMSThrottlingException"}
)
"""Per-record ErrorCodes worth another try; others (KMS disabled, access denied...) are not."""

RETRIABLE_CALL_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "KMSThrottlingException",
        "ThrottlingException",
        "InternalFailure",
        "InternalFailureException",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


class _CallFailed(Exception):
    """A whole PutRecords call failed; `code` names why, `retriable` whether to try again."""

    def __init__(self, code: str, message: str, retriable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.retriable = retriable


class KinesisSink:
    """A StreamSink writing to one Kinesis data stream (events or dead letters)."""

    def __init__(
        self,
        stream_name: str,
        region: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
        *,
        max_retry_time: float = 30.0,
        backoff_base: float = 0.05,
        backoff_max: float = 2.0,
        preserve_order: bool = True,
        aggregate: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not stream_name:
            raise SinkError("Kinesis sink needs a stream name")
        self.stream_name = stream_name
        self.max_retry_time = max_retry_time
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.preserve_order = preserve_order
        self.aggregate = aggregate
        self._sleep = sleep
        self._random = rng or random.Random()
        self._client = client if client is not None else _make_client(region, endpoint_url)

    def probe(self) -> None:
        """Ready when the stream exists and is ACTIVE or UPDATING (one DescribeStreamSummary)."""
        try:
            summary = self._client.describe_stream_summary(StreamName=self.stream_name)
        except Exception as exc:  # botocore errors, refused connections, missing credentials
            raise SinkError(
                f"Kinesis stream {self.stream_name}: {type(exc).__name__}: {exc}"
            ) from None
        status = summary.get("StreamDescriptionSummary", {}).get("StreamStatus")
        if status not in ("ACTIVE", "UPDATING"):
            raise SinkError(f"Kinesis stream {self.stream_name}: status {status}")

    def put(self, records: Sequence[Record]) -> None:
        """Send `records`; returns once Kinesis accepted every one, else raises SinkError."""
        if not records:
            return
        where = f"Kinesis stream {self.stream_name}"
        check_records(records, where)
        total = len(records)
        if self.aggregate:
            records = aggregate(records)
        started = time.monotonic()
        deadline = started + self.max_retry_time
        # One queue per partition key keeps a key's records in order (one per call); without
        # ordering every record is its own queue and a call simply takes the next 500.
        queues: dict[Hashable, deque[Record]] = {}
        for index, record in enumerate(records):
            queue_key: Hashable = record.partition_key if self.preserve_order else index
            queues.setdefault(queue_key, deque()).append(record)
        attempt = 0
        last_errors: Counter[str] = Counter()
        last_message = ""
        while queues:
            call = _next_call(queues)
            call_failed = False
            try:
                codes = self._send([record for _, record in call])
            except _CallFailed as failure:
                if not failure.retriable:
                    raise SinkError(
                        f"{where}: PutRecords failed ({failure.code}: {failure}); "
                        f"{_pending(queues)} of {total} records not accepted"
                    ) from failure
                codes = [failure.code] * len(call)
                call_failed = True
                last_message = str(failure)
            failed: Counter[str] = Counter()
            for (queue_key, record), code in zip(call, codes, strict=True):
                if code is None:
                    queue = queues[queue_key]
                    assert queue[0] is record
                    queue.popleft()
                    if not queue:
                        del queues[queue_key]
                    continue
                failed[code] += 1
            # (A failed call that was not retriable raised above.)
            if not call_failed and any(code not in RETRIABLE_RECORD_ERRORS for code in failed):
                raise SinkError(
                    f"{where}: record(s) rejected, not retriable: {_describe(failed)}; "
                    f"{_pending(queues)} of {total} records not accepted"
                )
            if not failed:
                attempt = 0
                continue
            last_errors = failed
            attempt += 1
            now = time.monotonic()
            if now >= deadline:
                raise SinkError(
                    f"{where}: {_pending(queues)} of {total} records not accepted after "
                    f"{now - started:.1f}s and {attempt} failed attempt(s); last failures: "
                    f"{_describe(last_errors)}{f' ({last_message})' if last_message else ''}"
                )
            delay = self._random.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))
            log.info(
                "%s: %s, retrying %d record(s) in %.3fs",
                where,
                _describe(failed),
                sum(failed.values()),
                delay,
            )
            self._sleep(min(delay, max(0.0, deadline - now)))

    def close(self) -> None:
        """Release the HTTP connections of a client this sink created."""
        close = getattr(self._client, "close", None)
        if callable(close):
            close()

    def _send(self, records: list[Record]) -> list[str | None]:
        """One PutRecords call; the ErrorCode (or None when accepted) of each record."""
        from botocore.exceptions import (  # type: ignore[import-untyped]
            BotoCoreError,
            ClientError,
            HTTPClientError,
        )
        from botocore.exceptions import ConnectionError as EndpointError

        entries = [{"Data": r.data, "PartitionKey": r.partition_key} for r in records]
        try:
            response = self._client.put_records(StreamName=self.stream_name, Records=entries)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "Unknown"))
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            retriable = code in RETRIABLE_CALL_ERRORS or status >= 500
            raise _CallFailed(code, str(error), retriable) from error
        except BotoCoreError as error:
            # Connection refused, timeouts and lost responses are worth retrying; missing
            # credentials or invalid parameters are not.
            retriable = isinstance(error, EndpointError | HTTPClientError)
            raise _CallFailed(type(error).__name__, str(error), retriable) from error
        results = response.get("Records", [])
        if len(results) != len(records):
            raise _CallFailed(
                "MalformedResponse",
                f"PutRecords answered {len(results)} results for {len(records)} records",
                False,
            )
        return [result.get("ErrorCode") or None for result in results]


def _next_call(queues: dict[Hashable, deque[Record]]) -> list[tuple[Hashable, Record]]:
    """The head record of as many queues as fit in one call (500 records, 5 MiB)."""
    call: list[tuple[Hashable, Record]] = []
    size = 0
    for queue_key, queue in queues.items():
        record = queue[0]
        record_size = record.size()
        if len(call) == MAX_CALL_RECORDS or size + record_size > MAX_CALL_BYTES:
            break
        call.append((queue_key, record))
        size += record_size
    return call


def _pending(queues: dict[Hashable, deque[Record]]) -> int:
    """Stream records not yet accepted (an aggregate counts the records it holds)."""
    return sum(_held(record) for queue in queues.values() for record in queue)


def _held(record: Record) -> int:
    try:
        parts = deaggregate(record.data)
    except AggregateError:
        return 1
    return 1 if parts is None else len(parts)


def _describe(codes: Counter[str]) -> str:
    return ", ".join(f"{code} x {count}" for code, count in codes.most_common())


def _make_client(region: str | None, endpoint_url: str | None) -> Any:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    config = Config(
        # This sink owns retries (per record, bounded by max_retry_time); botocore's own
        # would retry whole calls, including records that were already accepted.
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=15,
        max_pool_connections=64,
    )
    session = boto3.session.Session()
    return session.client(
        "kinesis",
        region_name=region or session.region_name or "us-east-1",
        endpoint_url=endpoint_url,
        config=config,
    )
