"""LocalStream across processes: a writer SIGKILLed mid-stream loses no acknowledged record,
a reader in another process follows a live writer, and the lock keeps a second writer out."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pipeline.streams import LocalStream, SinkError, StreamReader
from pipeline.streams.local import UNCLEAN_GAP

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent(
    """
    import sys
    from pipeline.streams import LocalStream, Record

    directory, batches, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    stream = LocalStream(directory, segment_bytes=4 * 1024 * 1024)
    n = 0
    for _ in range(batches):
        batch = []
        for _ in range(50):
            batch.append(Record(f"user-{n % 7}", f"{n}:".encode() + b"." * size))
            n += 1
        stream.put(batch)
        print(n, flush=True)  # acknowledged: everything before n is durable
    stream.close()
    """
)


def start_writer(directory: Path, batches: int, size: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory), str(batches), str(size)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def numbers(directory: Path) -> list[int]:
    reader = StreamReader(directory)
    out: list[int] = []
    offset = 0
    while batch := reader.read(offset, 5000):
        out.extend(int(record.data.split(b":")[0]) for _, record in batch)
        offset = batch[-1][0] + 1
    return out


@pytest.mark.parametrize("acknowledged_before_kill", [1, 40, 200])
def test_sigkill_mid_stream_keeps_every_acknowledged_record(
    tmp_path: Path, acknowledged_before_kill: int
) -> None:
    # Large batches (50 x 20 KB per write) so that the kill often lands inside a write.
    writer = start_writer(tmp_path, batches=100_000, size=20_000)
    assert writer.stdout is not None
    for _ in range(acknowledged_before_kill):
        line = writer.stdout.readline()
        assert line, writer.stderr.read() if writer.stderr else "writer exited"
    # Keep draining so the writer never waits on the pipe, and kill it at a random moment:
    # usually inside a write or an fsync.
    rest: list[str] = []
    drain = threading.Thread(target=lambda: rest.extend(writer.stdout or []))
    drain.start()
    time.sleep(random.uniform(0.005, 0.05))
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    drain.join()
    assert writer.returncode == -signal.SIGKILL
    # Every line printed was printed after put() returned: the last one is what was acked.
    acknowledged = int(rest[-1]) if rest else int(line)

    with LocalStream(tmp_path) as reopened:
        assert reopened.recovery is not None and reopened.recovery.unclean
        recovered_end = reopened.recovery.end_offset
        truncated = reopened.recovery.truncated_bytes
    got = numbers(tmp_path)
    # Every acknowledged record is there, in order, once; at most the batch in flight more.
    assert got == list(range(len(got)))
    assert acknowledged <= len(got) == recovered_end
    # Whatever was cut was a partial frame, now gone: the segment ends on a frame boundary.
    assert truncated >= 0
    # Writing resumes after the gap, in a new (empty) segment: that is the end now.
    assert StreamReader(tmp_path).end_offset() == recovered_end + UNCLEAN_GAP
    print(f"acknowledged {acknowledged}, recovered {recovered_end}, torn tail {truncated} bytes")


def test_a_reader_process_follows_a_live_writer(tmp_path: Path) -> None:
    writer = start_writer(tmp_path, batches=200, size=200)  # 10,000 records
    reader = StreamReader(tmp_path)
    seen: list[int] = []
    offset = 0
    ends = []
    deadline = time.monotonic() + 60
    while len(seen) < 10_000 and time.monotonic() < deadline:
        ends.append(reader.end_offset())
        batch = reader.read(offset, 700)
        if not batch:
            time.sleep(0.001)
            continue
        assert [o for o, _ in batch] == list(range(offset, offset + len(batch)))
        seen.extend(int(record.data.split(b":")[0]) for _, record in batch)
        offset = batch[-1][0] + 1
    assert writer.wait(30) == 0, writer.stderr.read() if writer.stderr else ""
    assert seen == list(range(10_000))
    assert ends == sorted(ends)  # the end only moves forward
    assert len(set(ends)) > 3  # and we really read while it was writing


def test_a_second_writer_process_is_refused(tmp_path: Path) -> None:
    with LocalStream(tmp_path):
        second = start_writer(tmp_path, batches=1, size=1)
        _, stderr = second.communicate(timeout=30)
        assert second.returncode == 1
        assert f"is already open for writing (process {os.getpid()} holds" in stderr
    # The lock dies with its holder: a killed writer does not block the next one.
    writer = start_writer(tmp_path, batches=1_000_000, size=10)
    assert writer.stdout is not None and writer.stdout.readline()
    with pytest.raises(SinkError, match=f"process {writer.pid} holds"):
        LocalStream(tmp_path)
    writer.kill()
    writer.wait()
    LocalStream(tmp_path).close()
