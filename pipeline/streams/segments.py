"""The on-disk format of the local stream: segment files of length-prefixed, checksummed records.

A segment is named after the offset of its first record (`00000000000000000000.seg`) and
starts with a 24-byte header; records follow back to back as frames:

    header  = magic "REFRACTS" | version u16 | flags u16 | base offset u64 | CRC32 u32
    frame   = CRC32 u32 | data length u32 | key length u16 | key (UTF-8) | data

All integers are big-endian. A frame's CRC32 covers its two lengths, key and data, so a frame
torn by a crash (short, or with stale bytes) fails the check; the header CRC covers the 20
bytes before it. The format is documented in docs/streams.md.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pipeline.streams.base import MAX_PARTITION_KEY_CHARS, MAX_RECORD_BYTES, Record, SinkError

MAGIC = b"REFRACTS"
VERSION = 1
HEADER = struct.Struct(">8sHHQ")
HEADER_SIZE = HEADER.size + 4
FRAME = struct.Struct(">IIH")
LENGTHS = struct.Struct(">IH")
SUFFIX = ".seg"
_MAX_KEY_BYTES = MAX_PARTITION_KEY_CHARS * 4


class CorruptStream(SinkError):
    """A segment that should be complete fails its checks; the message names file and byte."""


def segment_name(base: int) -> str:
    return f"{base:020d}{SUFFIX}"


def list_segments(directory: Path) -> list[int]:
    """Base offsets of the segments in `directory`, ascending (other files are ignored)."""
    bases = []
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    for name in names:
        stem, dot, ext = name.partition(".")
        if dot and "." + ext == SUFFIX and len(stem) == 20 and stem.isdigit():
            bases.append(int(stem))
    bases.sort()
    return bases


def encode_header(base: int) -> bytes:
    head = HEADER.pack(MAGIC, VERSION, 0, base)
    return head + struct.pack(">I", zlib.crc32(head))


def decode_header(raw: bytes, path: Path) -> int | None:
    """The base offset recorded in a segment header, or None when it is short or damaged.

    Raises CorruptStream when the header is intact but from an unknown version or for another
    base offset than the file name says (a copied or renamed file: never guess).
    """
    if len(raw) < HEADER_SIZE:
        return None
    head, (crc,) = raw[: HEADER.size], struct.unpack(">I", raw[HEADER.size : HEADER_SIZE])
    if zlib.crc32(head) != crc:
        return None
    magic, version, _flags, base = HEADER.unpack(head)
    if magic != MAGIC:
        return None
    if version != VERSION:
        raise CorruptStream(f"{path}: segment format version {version}, this build reads {VERSION}")
    if path.name != segment_name(base):
        raise CorruptStream(f"{path}: header says base offset {base}, the file name disagrees")
    return int(base)


def encode_frame(record: Record) -> bytes:
    key = record.partition_key.encode("utf-8")
    lengths = LENGTHS.pack(len(record.data), len(key))
    crc = zlib.crc32(record.data, zlib.crc32(key, zlib.crc32(lengths)))
    return struct.pack(">I", crc) + lengths + key + record.data


@dataclass
class Scan:
    """Where a scan of one segment stopped: the byte position after the last valid frame,
    how many valid frames it passed, and whether it stopped at bytes that are not a frame."""

    position: int
    count: int
    damaged: bool


def iter_frames(handle: BinaryIO, position: int, scan: Scan) -> Iterator[Record]:
    """Yield the valid frames from `position` on, updating `scan` as it goes.

    Stops at end of file (damaged=False) or at the first short or failing frame (damaged=True):
    the caller decides whether that is a torn tail, a write in progress or corruption.
    """
    handle.seek(position)
    scan.position = position
    while True:
        head = handle.read(FRAME.size)
        if not head:
            scan.damaged = False
            return
        if len(head) < FRAME.size:
            scan.damaged = True
            return
        crc, data_len, key_len = FRAME.unpack(head)
        if not 0 < key_len <= _MAX_KEY_BYTES or data_len > MAX_RECORD_BYTES:
            scan.damaged = True
            return
        body = handle.read(key_len + data_len)
        if len(body) < key_len + data_len:
            scan.damaged = True
            return
        if zlib.crc32(body, zlib.crc32(head[4:])) != crc:
            scan.damaged = True
            return
        try:
            key = body[:key_len].decode("utf-8")
        except UnicodeDecodeError:
            scan.damaged = True
            return
        scan.position += FRAME.size + key_len + data_len
        scan.count += 1
        yield Record(key, body[key_len:])


def fsync_directory(directory: Path) -> None:
    """Make a file creation, rename or removal in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
