"""Streams the gateway writes to: one small interface (`StreamSink`) and two sinks.

`LocalStream` (the default) keeps append-only segment files under the data directory, and
`StreamReader` reads them back from any offset; `KinesisSink` writes to Kinesis Data Streams.
See docs/streams.md for the formats, offsets, durability and limits.
"""

from pipeline.streams.base import (
    MAX_PARTITION_KEY_CHARS,
    MAX_RECORD_BYTES,
    KinesisOptions,
    Record,
    SinkError,
    StreamSink,
    local_stream_directory,
    open_sink,
    partition_key_for,
)
from pipeline.streams.local import LocalStream, Recovery, StreamReader
from pipeline.streams.segments import CorruptStream

__all__ = [
    "MAX_PARTITION_KEY_CHARS",
    "MAX_RECORD_BYTES",
    "CorruptStream",
    "KinesisOptions",
    "LocalStream",
    "Record",
    "Recovery",
    "SinkError",
    "StreamReader",
    "StreamSink",
    "local_stream_directory",
    "open_sink",
    "partition_key_for",
]
