"""The embedded local stream: append-only segment files, fsync'd before `put` returns.

One writer process per stream directory (an exclusive `fcntl.flock` on <dir>/LOCK), any number
of readers (`StreamReader`, no lock). Offsets are record numbers: the first record is offset 0,
each record gets the next number, and an offset is never given to two different records.
They are contiguous within one writer session; a gap is left in two cases so that an offset a
reader may already have seen is never reused (docs/streams.md, "Offsets"):

- after an unclean shutdown (no CLEAN marker), the next session starts at end + UNCLEAN_GAP,
  because records written but not yet fsync'd were visible to readers and may be gone;
- after a failed write or fsync, the failed batch's offsets are skipped.

Durability: a batch is written with one `write` and the file fsync'd before `put` returns
(puts that arrive while another is writing share the next write and fsync: group commit);
a new segment's header is fsync'd and its directory entry too before records go into it, and
the previous segment was fsync'd before the rotation. On open, a torn tail of the last segment
(a crash mid-write) is detected by its CRC, truncated and reported in `recovery`.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.streams.base import Record, SinkError, check_records
from pipeline.streams.private import FILE_MODE, private_directory
from pipeline.streams.segments import (
    HEADER_SIZE,
    CorruptStream,
    Scan,
    decode_header,
    encode_frame,
    encode_header,
    fsync_directory,
    iter_frames,
    list_segments,
    segment_name,
)

log = logging.getLogger("refract.streams")

SEGMENT_BYTES = 64 * 1024 * 1024
"""Default size at which the writer starts a new segment (a segment may exceed it by one batch)."""

UNCLEAN_GAP = 1 << 20
"""Offsets skipped after an unclean shutdown; above the largest batch `put` accepts."""

MAX_PUT_RECORDS = UNCLEAN_GAP
LOCK_FILE = "LOCK"
CLEAN_FILE = "CLEAN"
PROBE_FILE = "PROBE"
PROBE_BYTES = 64 * 1024
"""What the readiness probe writes and fsyncs after a failed write (the size of a large batch
of the gateway), to learn whether the disk has room again."""
MIN_FREE_BYTES = 1024 * 1024
"""Readiness needs this much free space on the stream's file system: one full-size record
(1 MiB) must fit, else every put would fail."""


@dataclass(frozen=True)
class Recovery:
    """What opening the stream found and repaired after an unclean shutdown."""

    unclean: bool
    """No CLEAN marker: the previous writer did not close (crash, SIGKILL, power loss)."""
    end_offset: int
    """One past the last intact record found."""
    next_offset: int
    """Where this session starts writing (end_offset + UNCLEAN_GAP when unclean)."""
    truncated_bytes: int = 0
    """Bytes of a torn tail removed from the last segment (never acknowledged records)."""
    removed_segments: tuple[str, ...] = field(default_factory=tuple)
    """Segments removed because their header was never completely written."""

    def describe(self) -> str:
        parts = [
            f"unclean shutdown: resuming at offset {self.next_offset} "
            f"(last intact record ends at {self.end_offset})"
        ]
        if self.truncated_bytes:
            parts.append(f"truncated a torn tail of {self.truncated_bytes} bytes")
        if self.removed_segments:
            parts.append(f"removed segments with a torn header: {', '.join(self.removed_segments)}")
        return "; ".join(parts)


class LocalStream:
    """Writer of one local stream directory (and a convenience reader of it)."""

    def __init__(self, directory: str | Path, *, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = Path(directory)
        self.segment_bytes = segment_bytes
        self._mutex = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Ticket] = []
        self._fd: int | None = None
        self._size = 0
        self._next = 0
        self._broken: str | None = None
        self._last_failure: str | None = None
        self._segment: Path | None = None
        self._empty_segment: Path | None = None  # header only, left by a failed write
        self._closed = False
        try:
            private_directory(self.directory)
            self._lock_fd = self._take_lock()
        except OSError as error:
            raise _not_writable(self.directory, error) from error
        try:
            self.recovery = self._recover()
        except OSError as error:
            os.close(self._lock_fd)
            raise _not_writable(self.directory, error) from error
        except BaseException:
            os.close(self._lock_fd)
            raise
        if self.recovery is not None:
            log.warning("local stream %s: %s", self.directory, self.recovery.describe())
        self._reader = StreamReader(self.directory)

    # -- writing ---------------------------------------------------------------------------

    def put(self, records: Sequence[Record]) -> None:
        """Append `records` in order; returns after they and the file are fsync'd.

        Group commit: puts that arrive while another put is writing queue up, and the next
        thread to take the writer's mutex writes every queued batch with one `write` and one
        fsync, in arrival order (each batch's records stay contiguous). Every put still returns
        only after its own records were fsync'd; a failed write or fsync fails every batch of
        the group (none is acknowledged) and skips all their offsets.
        """
        if not records:
            return
        check_records(records, f"local stream {self.directory}")
        if len(records) > MAX_PUT_RECORDS:
            raise SinkError(
                f"local stream {self.directory}: {len(records)} records in one put, "
                f"the limit is {MAX_PUT_RECORDS}"
            )
        ticket = _Ticket(b"".join([encode_frame(record) for record in records]), len(records))
        with self._queue_lock:
            self._queue.append(ticket)
        with self._mutex:
            while not ticket.done:
                self._write_group(self._take_group())
        if ticket.error is not None:
            raise ticket.error

    def _take_group(self) -> list[_Ticket]:
        """The queued batches to write together, oldest first: at least one, and no more
        records than one put may hold (the unclean-shutdown gap must cover a whole write)."""
        with self._queue_lock:
            queue = self._queue
            count = queue[0].count
            taken = 1
            while taken < len(queue) and count + queue[taken].count <= MAX_PUT_RECORDS:
                count += queue[taken].count
                taken += 1
            group = queue[:taken]
            del queue[:taken]
        return group

    def _write_group(self, group: list[_Ticket]) -> None:
        """Write and fsync `group` as one batch (the caller holds the mutex)."""
        try:
            self._write_batch(
                group[0].blob if len(group) == 1 else b"".join(t.blob for t in group),
                sum(t.count for t in group),
            )
        except (SinkError, _BatchFailed) as exc:
            # remembered for readiness until a write (or the probe's own write) succeeds
            self._last_failure = str(exc.args[0]) if exc.args else type(exc).__name__
            for ticket in group:  # one exception object per waiting thread
                error = (
                    SinkError(
                        f"local stream {self.directory}: writing {ticket.count} records "
                        f"failed: {exc.args[0]}"
                    )
                    if isinstance(exc, _BatchFailed)
                    else type(exc)(*exc.args)
                )
                error.__cause__ = exc.__cause__
                ticket.error = error
        else:
            self._last_failure = None
        finally:
            for ticket in group:
                ticket.done = True

    def _write_batch(self, blob: bytes, count: int) -> None:
        if self._closed:
            raise SinkError(f"local stream {self.directory} is closed")
        if self._broken is not None:
            raise SinkError(
                f"local stream {self.directory} stopped after a failed write "
                f"({self._broken}); reopen it to recover"
            )
        if self._fd is None or (
            self._size > HEADER_SIZE and self._size + len(blob) > self.segment_bytes
        ):
            try:
                self._start_segment(self._next)
            except OSError as error:
                raise SinkError(
                    f"local stream {self.directory}: cannot rotate segments: {error}"
                ) from error
        assert self._fd is not None
        before = self._size
        try:
            _write_all(self._fd, blob)
            os.fsync(self._fd)
        except OSError as error:
            self._abandon_batch(before, count, error)
            raise _BatchFailed(error) from error
        self._size += len(blob)
        self._next += count

    def end_offset(self) -> int:
        """One past the last durably written record (where the next record goes, barring gaps)."""
        with self._mutex:
            return self._next

    def read(self, from_offset: int, max_records: int = 1000) -> list[tuple[int, Record]]:
        """Records at offsets >= `from_offset`, at most `max_records` (see StreamReader.read)."""
        return self._reader.read(from_offset, max_records)

    def probe(self) -> None:
        """Ready while this writer is open, its directory exists, the file system has room
        for a record, and the last write did not fail (or a probe write has succeeded since).

        A full disk used to leave /readyz green while every put failed (issue 10): after a
        failed write the probe writes and fsyncs PROBE_BYTES itself, so readiness comes back
        as soon as the disk has room, even when no traffic is routed to a not-ready node.
        """
        if self._closed:
            raise SinkError(f"local stream {self.directory}: closed")
        if not self.directory.is_dir():
            raise SinkError(f"local stream {self.directory}: directory is gone")
        if self._broken is not None:
            raise SinkError(f"local stream {self.directory}: stopped ({self._broken})")
        try:
            fs = os.statvfs(self.directory)
        except OSError as error:
            raise SinkError(f"local stream {self.directory}: {error}") from error
        free = fs.f_bavail * fs.f_frsize
        if free < MIN_FREE_BYTES:
            raise SinkError(
                f"local stream {self.directory}: {free} bytes free on its file system, "
                f"below {MIN_FREE_BYTES}"
            )
        failure = self._last_failure
        if failure is not None:
            try:
                self._probe_write()
            except OSError as error:
                raise SinkError(
                    f"local stream {self.directory}: the last write failed ({failure}) and "
                    f"a probe write fails too: {error}"
                ) from error
            self._last_failure = None

    def _probe_write(self) -> None:
        path = self.directory / PROBE_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            _write_all(fd, b"\0" * PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the segment, leave a CLEAN marker (so the next open needs no gap), unlock."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            try:
                if self._fd is not None:
                    os.fsync(self._fd)
                    os.close(self._fd)
                    self._fd = None
                if self._broken is None:
                    marker = self.directory / CLEAN_FILE
                    temporary = marker.with_suffix(".tmp")
                    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
                    with os.fdopen(fd, "w", encoding="ascii") as handle:
                        handle.write(f"{self._next}\n")
                        handle.flush()
                        os.fsync(handle.fileno())
                    os.replace(temporary, marker)
                    fsync_directory(self.directory)
            finally:
                os.close(self._lock_fd)

    def __enter__(self) -> LocalStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _take_lock(self) -> int:
        path = self.directory / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise SinkError(
                    f"local stream {self.directory} is already open for writing "
                    f"(process {holder} holds {path}); one writer per stream directory"
                ) from error
            raise SinkError(
                f"local stream {self.directory}: cannot lock {path}: {error}"
            ) from error
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        return fd

    def _recover(self) -> Recovery | None:
        """Find the end of the stream, repair a torn tail, and decide where to continue."""
        marker = self.directory / CLEAN_FILE
        clean = marker.exists()
        bases = list_segments(self.directory)
        removed: list[str] = []
        while bases:
            path = self.directory / segment_name(bases[-1])
            with open(path, "rb") as handle:
                if decode_header(handle.read(HEADER_SIZE), path) is not None:
                    break
            if clean:
                raise CorruptStream(f"{path}: damaged header after a clean shutdown")
            # A segment whose header never reached the disk holds no records (records are
            # written only after the header is fsync'd): remove it.
            path.unlink()
            removed.append(path.name)
            bases.pop()
        if removed:
            fsync_directory(self.directory)
        if not bases:
            if clean:
                marker.unlink()
                fsync_directory(self.directory)
            self._start_segment(0)
            return None if not removed else Recovery(True, 0, 0, 0, tuple(removed))
        base = bases[-1]
        path = self.directory / segment_name(base)
        scan = Scan(HEADER_SIZE, 0, False)
        with open(path, "rb") as handle:
            for _ in iter_frames(handle, HEADER_SIZE, scan):
                pass
        size = path.stat().st_size
        truncated = size - scan.position
        if truncated:
            with open(path, "r+b") as handle:
                handle.truncate(scan.position)
                handle.flush()
                os.fsync(handle.fileno())
        end = base + scan.count
        if clean:
            recorded = marker.read_text(encoding="ascii").strip()
            clean = recorded == str(end) and not truncated and not removed
            marker.unlink()
            fsync_directory(self.directory)
        if clean:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            self._segment = path
            self._size = size
            self._next = end
            return None
        self._next = end + UNCLEAN_GAP
        self._start_segment(self._next)
        return Recovery(True, end, self._next, truncated, tuple(removed))

    def _start_segment(self, base: int) -> None:
        """Seal the current segment (fsync'd) and start a new one at `base`, durably."""
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
        path = self.directory / segment_name(base)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, FILE_MODE)
        except FileExistsError:
            raise CorruptStream(f"{path}: a segment for offset {base} already exists") from None
        try:
            _write_all(fd, encode_header(base))
            os.fsync(fd)
            fsync_directory(self.directory)
        except OSError as error:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise SinkError(
                f"local stream {self.directory}: cannot start {path.name}: {error}"
            ) from error
        self._fd = fd
        self._segment = path
        self._size = HEADER_SIZE
        self._next = base
        empty, self._empty_segment = self._empty_segment, None
        if empty is not None and empty != path:
            try:
                empty.unlink(missing_ok=True)
                fsync_directory(self.directory)
            except OSError as error:
                log.warning("local stream %s: cannot remove %s: %s", self.directory, empty, error)

    def _abandon_batch(self, before: int, count: int, error: OSError) -> None:
        """After a failed write or fsync: cut the segment back and skip the batch's offsets.

        Readers may already have seen some of the batch's frames, so their offsets are never
        given to other records; after a failed fsync the page cache cannot be trusted, so the
        segment is closed and writing continues in a new one.
        """
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, before)
            os.fsync(self._fd)
            os.close(self._fd)
        except OSError as second:
            self._broken = f"{error}; then truncating failed: {second}"
            log.error("local stream %s: %s", self.directory, self._broken)
            return
        self._fd = None
        self._next += count
        if before <= HEADER_SIZE:
            # The segment holds no record. It stays until the next segment is durably created
            # (it records where offsets continue if we crash before), then it is removed: a
            # full disk no longer leaves one empty .seg per failed write (issue 10).
            self._empty_segment = self._segment
        self._segment = None
        log.error(
            "local stream %s: write failed (%s); skipped offsets up to %d",
            self.directory,
            error,
            self._next,
        )


def _not_writable(directory: Path, error: OSError) -> SinkError:
    """A stream directory this process cannot write: say which and what to do."""
    return SinkError(
        f"local stream {directory}: cannot write it ({error}); the data directory must be "
        f"writable by this process (uid {os.getuid()}): fix its owner or permissions, mount it "
        "read-write, or point REFRACT_DATA_DIR (--data-dir) at a writable directory"
    )


class _Ticket:
    """One put's encoded records waiting for (or done with) a group commit."""

    __slots__ = ("blob", "count", "done", "error")

    def __init__(self, blob: bytes, count: int) -> None:
        self.blob = blob
        self.count = count
        self.done = False
        self.error: SinkError | None = None


class _BatchFailed(Exception):
    """Writing or fsyncing a group failed (args[0]: the OSError); its offsets were skipped."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class StreamReader:
    """Reads a local stream directory while a writer appends to it (no lock needed).

    A frame that is short or fails its CRC at the end of the last segment is a write in
    progress (or a torn tail the writer will truncate on its next open): the reader stops
    there and sees it once complete. The same in an earlier segment is corruption.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._mutex = threading.Lock()
        # Where the last read stopped: (offset, segment base, byte position), so that a
        # consumer reading forward never rescans a segment.
        self._cursor: tuple[int, int, int] | None = None

    def start_offset(self) -> int:
        """Offset of the first record kept (0 until retention removes segments)."""
        bases = list_segments(self.directory)
        return bases[0] if bases else 0

    def end_offset(self) -> int:
        """One past the last complete record visible now: read(end_offset()) returns []."""
        bases = list_segments(self.directory)
        if not bases:
            return 0
        base = bases[-1]
        position, offset = HEADER_SIZE, base
        with self._mutex:
            if self._cursor is not None and self._cursor[1] == base:
                offset, _, position = self._cursor
        scan = Scan(position, 0, False)
        path = self.directory / segment_name(base)
        try:
            with open(path, "rb") as handle:
                for _ in iter_frames(handle, position, scan):
                    pass
        except FileNotFoundError:
            return base
        return offset + scan.count

    def read(self, from_offset: int, max_records: int = 1000) -> list[tuple[int, Record]]:
        """Up to `max_records` records with offset >= `from_offset`, in offset order.

        Replayable: any offset can be read again. Offsets in a gap (docs/streams.md) resume at
        the next record after the gap; an offset past the end returns [].
        """
        if from_offset < 0 or max_records < 1:
            raise ValueError("from_offset must be >= 0 and max_records >= 1")
        bases = list_segments(self.directory)
        if not bases:
            return []
        start = 0
        for index, base in enumerate(bases):
            if base <= from_offset:
                start = index
        with self._mutex:
            cursor = self._cursor
        out: list[tuple[int, Record]] = []
        for index in range(start, len(bases)):
            base = bases[index]
            last = index == len(bases) - 1
            offset, position = base, HEADER_SIZE
            if cursor is not None and cursor[1] == base and cursor[0] <= max(from_offset, base):
                offset, _, position = cursor
            path = self.directory / segment_name(base)
            scan = Scan(position, 0, False)
            try:
                handle = open(path, "rb")  # noqa: SIM115 (closed by the with below)
            except FileNotFoundError:
                continue  # removed by retention between the listing and now
            with handle:
                if (
                    position == HEADER_SIZE
                    and decode_header(handle.read(HEADER_SIZE), path) is None
                ):
                    if last:
                        return out  # being created
                    raise CorruptStream(f"{path}: damaged segment header")
                for record in iter_frames(handle, position, scan):
                    if offset >= from_offset:
                        out.append((offset, record))
                    offset += 1
                    if len(out) >= max_records:
                        break
            with self._mutex:
                self._cursor = (offset, base, scan.position)
            if len(out) >= max_records:
                return out
            if scan.damaged and not last:
                raise CorruptStream(
                    f"{path}: damaged record at byte {scan.position} (offset {offset}) "
                    "in a sealed segment"
                )
        return out
