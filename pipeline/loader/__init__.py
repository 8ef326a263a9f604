"""The loader: stream records -> raw.* tables in the warehouse, at least once and idempotent.

`sources` reads the local stream or Kinesis from stored checkpoints, `records` turns one
stream record into a raw row (or a `loader_unparsable` dead letter), `warehouse` appends rows
and checkpoints in one transaction, and `loader.Loader` ties them together (docs/loader.md).
"""
