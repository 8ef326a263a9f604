"""The local stream on a full disk: failed puts, no litter, honest readiness (issue 10).

Before: every failed write left an empty segment file behind, and ``probe`` (hence /readyz)
kept answering ready while every put failed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipeline.streams.base import Record, SinkError
from pipeline.streams.local import LocalStream, StreamReader
from pipeline.streams.segments import HEADER_SIZE, list_segments, segment_name
from tests.streams.disk import FullDisk


def records(start: int, count: int, size: int = 100) -> list[Record]:
    return [
        Record("user-1", f"record-{i}".encode().ljust(size, b"."))
        for i in range(start, start + count)
    ]


def empty_segments(directory: Path) -> list[str]:
    return [
        segment_name(base)
        for base in list_segments(directory)
        if (directory / segment_name(base)).stat().st_size <= HEADER_SIZE
    ]


@pytest.mark.parametrize(
    ("room", "largest"),
    [(0, None), (HEADER_SIZE, None), (HEADER_SIZE + 50, None), (10_000, None), (0, HEADER_SIZE)],
    ids=["full", "header-fits", "part-of-a-batch-fits", "some-batches-fit", "small-writes-fit"],
)
def test_failed_writes_on_a_full_disk_leave_no_empty_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, room: int, largest: int | None
) -> None:
    disk = FullDisk(monkeypatch, tmp_path)
    stream = LocalStream(tmp_path, segment_bytes=4096)
    stream.put(records(0, 5))
    disk.fill(room, largest=largest)
    failures = 0
    for attempt in range(30):
        try:
            stream.put(records(100 + attempt * 10, 10))
        except SinkError:
            failures += 1
    assert failures >= 20  # whatever fitted, the disk is full now
    # at most the segment whose first batch failed is header-only, never one per failure
    assert len(empty_segments(tmp_path)) <= 1
    disk.free()
    stream.put(records(900, 3))
    assert empty_segments(tmp_path) == []
    stream.close()
    stored = StreamReader(tmp_path).read(0, 10_000)
    payloads = [record.data[:10].rstrip(b".") for _, record in stored]
    assert payloads[:5] == [f"record-{i}".encode() for i in range(5)]
    assert payloads[-3:] == [f"record-{i}".encode() for i in range(900, 903)]
    offsets = [offset for offset, _ in stored]
    assert offsets == sorted(set(offsets))  # never an offset given twice
    # and the stream reopens cleanly, continuing after every skipped offset
    reopened = LocalStream(tmp_path)
    assert reopened.recovery is None
    reopened.put(records(1000, 1))
    assert reopened.read(0, 10_000)[-1][0] > offsets[-1]
    reopened.close()


def test_probe_reports_a_full_disk_until_there_is_room_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = FullDisk(monkeypatch, tmp_path)
    stream = LocalStream(tmp_path)
    stream.put(records(0, 1))
    stream.probe()
    disk.fill()
    with pytest.raises(SinkError):
        stream.put(records(1, 50))
    with pytest.raises(SinkError, match="No space left on device"):
        stream.probe()
    with pytest.raises(SinkError):  # still full: still not ready, probe after probe
        stream.probe()
    disk.free()
    stream.probe()  # its own write and fsync succeeded: ready again without any traffic
    assert not (tmp_path / "PROBE").exists()
    stream.put(records(1, 1))
    stream.probe()
    stream.close()


def test_a_successful_put_clears_the_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = FullDisk(monkeypatch, tmp_path)
    stream = LocalStream(tmp_path)
    disk.fill()
    with pytest.raises(SinkError):
        stream.put(records(0, 1))
    disk.free()
    stream.put(records(1, 1))
    calls = disk.refused
    stream.probe()  # no probe write needed now
    assert disk.refused == calls and not (tmp_path / "PROBE").exists()
    stream.close()


def test_stream_files_are_private(tmp_path: Path) -> None:
    os.umask(0o022)  # the usual umask: what the old code's 0644 files got
    directory = tmp_path / "data" / "streams" / "events"
    stream = LocalStream(directory, segment_bytes=300)
    for start in range(0, 10, 2):
        stream.put(records(start, 2))  # several segments
    stream.close()
    for path in (tmp_path / "data", tmp_path / "data" / "streams", directory):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    names = os.listdir(directory)
    assert len([n for n in names if n.endswith(".seg")]) > 1 and "CLEAN" in names
    for name in names:
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name


def test_an_existing_stream_directory_is_tightened(tmp_path: Path) -> None:
    directory = tmp_path / "events"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    LocalStream(directory).close()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
