"""Durable spool: tracked events survive a crash, a kill or an outage longer than the queue.

Layout of the directory the caller names (every file belongs to one *generation*: one emitter
in one process, a new one after every start and in every forked child)::

    <gen>.lock                 flock()ed by whoever sends this generation's events
    <gen>.<seq>.events         append-only JSON lines, one prepared event each (no sent_at)
    <gen>.<seq>.acks           append-only event ids (36 chars + newline) that are done

Writes: with a spool, ``track()`` prepares the event in the caller's thread and appends one line
with a single ``write(2)`` on an ``O_APPEND`` descriptor before returning. The line then sits in
the kernel's page cache, which survives the death of the process (SIGKILL, OOM kill, a crash);
it does not survive a power loss of the machine, since the spool does not fsync (that would
cost milliseconds per event). A segment is closed when it passes ``spool_segment_bytes``.

Acks: an event is *done* when the server accepted it or it was reported through ``on_error``
for a reason that retrying cannot fix; the sender appends done ids to the segment's acks file,
one write per batch. A closed segment whose lines are all done is deleted (with its acks), and a
cleanly closed emitter whose events are all done deletes its generation. Events that are not
done - still queued at a crash, dropped from the full memory queue, out of retry time, or
undelivered when ``close()`` ran out of time - stay on disk and are sent by the next emitter
that starts on the directory.

Ownership (why two processes never send the same spooled event): a generation's events are only
read while holding an exclusive ``flock`` on its lock file. The live emitter holds its own lock
from creation until ``close()``; a recovering emitter takes the lock of a generation with
``LOCK_NB`` - success means the owner is gone (flock locks die with their last descriptor) - and
keeps it until that generation is finished or the recovering emitter closes. After ``fork()`` the
child closes its inherited descriptors (the lock stays with the parent, whose descriptor still
refers to it) and starts a generation of its own, so the parent's spooled events are only ever
sent by the parent or, after it dies, by exactly one recovering process. All descriptors are
``O_CLOEXEC``. Recovery replays oldest generations first.

Torn or corrupt lines (a power loss mid-write, a disk error, a truncated copy) are skipped when
reading back, counted, logged without their content and reported to ``on_error`` with reason
``spool_corrupt``; the rest of the segment is still delivered.

The spool is POSIX-only (it needs ``fcntl.flock``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refract_sdk.prepare import PreparedEvent

__all__ = ["CorruptLine", "Spool"]

log = logging.getLogger("refract_sdk")

_OPEN_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
_ID_LENGTH = 36


@dataclass(frozen=True, slots=True)
class CorruptLine:
    """A line that could not be read back; ``text`` is for the application's ``on_error`` only."""

    segment: str
    line_number: int
    text: str


@dataclass
class _Generation:
    """Book-keeping of one generation this process sends (its own or a recovered one)."""

    name: str
    lock_fd: int
    written: dict[int, int] = field(default_factory=dict)
    done: dict[int, int] = field(default_factory=dict)
    ack_fds: dict[int, int] = field(default_factory=dict)
    open_segment: int | None = None
    """The segment still being written to (own generation only); never deleted while open."""
    complete: bool = False
    """All lines are known (recovered generations: reading finished)."""


def _segment_name(generation: str, seq: int, kind: str) -> str:
    return f"{generation}.{seq:06d}.{kind}"


def _lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on ``path``, or None when someone else holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # The finisher of a generation unlinks its lock file; a lock on an unlinked inode
        # protects nothing, so make sure we locked what the path names now.
        if os.fstat(fd).st_ino != os.stat(path).st_ino:
            raise BlockingIOError
    except (BlockingIOError, FileNotFoundError):
        os.close(fd)
        return None
    return fd


class Spool:
    """One emitter's handle on a spool directory (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike[str], segment_bytes: int) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._segment_bytes = segment_bytes
        self._mutex = threading.Lock()
        self._closed = False
        self._recovered: dict[str, _Generation] = {}
        self.corrupt_lines = 0
        self._own = self._new_generation()
        self._fd = -1
        self._size = 0
        self._open_segment(0)

    @property
    def generation(self) -> str:
        return self._own.name

    def _new_generation(self) -> _Generation:
        name = f"{time.time_ns() // 1_000_000:013d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        fd = _lock(self.directory / f"{name}.lock")
        if fd is None:  # a fresh random name cannot be locked by anybody else
            raise RuntimeError("could not lock a new spool generation")
        return _Generation(name, fd)

    def _open_segment(self, seq: int) -> None:
        path = self.directory / _segment_name(self._own.name, seq, "events")
        self._fd = os.open(path, _OPEN_APPEND, 0o600)
        self._size = 0
        self._own.open_segment = seq
        self._own.written[seq] = 0

    # -- writing (caller threads) -------------------------------------------------------------

    def append(self, event: PreparedEvent) -> None:
        """Put ``event`` on disk (one ``write``) and remember which segment holds it."""
        line = event.body + b"\n"
        with self._mutex:
            if self._closed:
                raise RuntimeError("spool is closed")
            seq = self._own.open_segment
            assert seq is not None
            os.write(self._fd, line)
            self._own.written[seq] += 1
            event.spool_segment = (self._own.name, seq)
            self._size += len(line)
            if self._size >= self._segment_bytes:
                os.close(self._fd)
                self._open_segment(seq + 1)
                self._finish_segments(self._own)

    # -- acknowledging (sender) ---------------------------------------------------------------

    def ack(self, events: list[PreparedEvent]) -> None:
        """Record ``events`` as done (delivered, or reported for good)."""
        by_segment: dict[tuple[str, int], list[str]] = {}
        for event in events:
            if event.spool_segment is not None:
                by_segment.setdefault(event.spool_segment, []).append(event.event_id)
        if not by_segment:
            return
        with self._mutex:
            if self._closed:
                return
            touched: set[str] = set()
            for (name, seq), ids in by_segment.items():
                generation = self._own if name == self._own.name else self._recovered.get(name)
                if generation is None:
                    continue
                fd = generation.ack_fds.get(seq)
                if fd is None:
                    path = self.directory / _segment_name(name, seq, "acks")
                    fd = generation.ack_fds[seq] = os.open(path, _OPEN_APPEND, 0o600)
                os.write(fd, "".join(i + "\n" for i in ids).encode())
                generation.done[seq] = generation.done.get(seq, 0) + len(ids)
                touched.add(name)
            for name in touched:
                generation = self._own if name == self._own.name else self._recovered[name]
                self._finish_segments(generation)

    def _finish_segments(self, generation: _Generation) -> None:
        """Delete closed segments whose lines are all done; finish a done recovered generation."""
        for seq, written in list(generation.written.items()):
            if seq == generation.open_segment or generation.done.get(seq, 0) < written:
                continue
            fd = generation.ack_fds.pop(seq, None)
            if fd is not None:
                os.close(fd)
            for kind in ("events", "acks"):
                with contextlib.suppress(FileNotFoundError):
                    (self.directory / _segment_name(generation.name, seq, kind)).unlink()
            del generation.written[seq]
            generation.done.pop(seq, None)
        if generation is not self._own and generation.complete and not generation.written:
            self._release(generation, delete=True)
            del self._recovered[generation.name]

    def _release(self, generation: _Generation, *, delete: bool) -> None:
        for fd in generation.ack_fds.values():
            os.close(fd)
        generation.ack_fds.clear()
        if delete:
            with contextlib.suppress(FileNotFoundError):
                (self.directory / f"{generation.name}.lock").unlink()
        os.close(generation.lock_fd)  # releases the flock

    # -- recovery (sender, at start) ----------------------------------------------------------

    def recover(self, on_corrupt: Callable[[CorruptLine], None]) -> Iterator[PreparedEvent]:
        """Yield the not-done events of every generation nobody else holds, oldest first."""
        names: set[str] = set()
        for entry in os.listdir(self.directory):
            if entry.endswith((".lock", ".events")):
                names.add(entry.split(".", 1)[0])
        for name in sorted(names):
            if name == self._own.name or name in self._recovered:
                continue
            fd = _lock(self.directory / f"{name}.lock")
            if fd is None:
                continue  # alive, or being recovered by another process
            generation = _Generation(name, fd)
            with self._mutex:
                if self._closed:
                    os.close(fd)
                    return
                self._recovered[name] = generation
            segments = sorted(
                int(entry.split(".")[1])
                for entry in os.listdir(self.directory)
                if entry.startswith(name + ".") and entry.endswith(".events")
            )
            for seq in segments:
                pending = self._read_segment(generation, seq, on_corrupt)
                with self._mutex:
                    generation.written[seq] = len(pending)
                yield from pending
            with self._mutex:
                generation.complete = True
                if not self._closed:
                    self._finish_segments(generation)

    def _read_segment(
        self, generation: _Generation, seq: int, on_corrupt: Callable[[CorruptLine], None]
    ) -> list[PreparedEvent]:
        events_path = self.directory / _segment_name(generation.name, seq, "events")
        acks_path = self.directory / _segment_name(generation.name, seq, "acks")
        try:
            done = {
                line
                for line in acks_path.read_text("ascii", errors="replace").split("\n")
                if len(line) == _ID_LENGTH
            }
        except FileNotFoundError:
            done = set()
        try:
            data = events_path.read_bytes()
        except FileNotFoundError:
            return []
        pending: list[PreparedEvent] = []
        lines = data.split(b"\n")
        complete_lines = lines[:-1]  # the part after the last newline is a torn write, if any
        corrupt: list[tuple[int, bytes]] = []
        for number, line in enumerate(complete_lines, start=1):
            if not line:
                continue
            try:
                parsed: Any = json.loads(line)
                event_id = parsed["event_id"]
                if not isinstance(event_id, str):
                    raise TypeError("event_id")
            except (ValueError, TypeError, KeyError):
                corrupt.append((number, line))
                continue
            if event_id not in done:
                pending.append(PreparedEvent(event_id, line, parsed, (generation.name, seq)))
        if lines[-1]:
            corrupt.append((len(lines), lines[-1]))
        for number, line in corrupt:
            self.corrupt_lines += 1
            log.warning(
                "refract: skipped a corrupt spool line (%s line %d, %d bytes)",
                events_path.name,
                number,
                len(line),
            )
            on_corrupt(CorruptLine(events_path.name, number, line.decode("utf-8", "replace")))
        return pending

    # -- lifecycle ----------------------------------------------------------------------------

    def pending(self) -> int:
        """Lines of this process's generations that are not done yet."""
        with self._mutex:
            generations = [self._own, *self._recovered.values()]
            return sum(
                written - g.done.get(seq, 0)
                for g in generations
                for seq, written in g.written.items()
            )

    def close(self) -> None:
        """Release every lock; delete the own generation when all its events are done."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            os.close(self._fd)
            self._own.open_segment = None
            self._finish_segments(self._own)
            self._release(self._own, delete=not self._own.written)
            for generation in self._recovered.values():
                self._release(generation, delete=False)
            self._recovered.clear()

    def abandon_after_fork(self) -> None:
        """In a forked child: close the inherited descriptors without touching any file.

        The flocks stay with the parent (its descriptors still refer to them).
        """
        self._closed = True
        self._mutex = threading.Lock()
        fds = [self._fd, self._own.lock_fd, *self._own.ack_fds.values()]
        for generation in self._recovered.values():
            fds += [generation.lock_fd, *generation.ack_fds.values()]
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
