"""LocalStream and StreamReader in one process: offsets, replay, rotation, durability order,
recovery from torn tails, failed writes and the writer lock."""

from __future__ import annotations

import errno
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from pipeline.streams import (
    CorruptStream,
    LocalStream,
    Record,
    SinkError,
    StreamReader,
    local_stream_directory,
    open_sink,
    partition_key_for,
)
from pipeline.streams.local import CLEAN_FILE, UNCLEAN_GAP
from pipeline.streams.segments import HEADER_SIZE, encode_frame, list_segments, segment_name


def records(start: int, count: int, key: str = "user-1") -> list[Record]:
    return [Record(key, f"record-{n}".encode()) for n in range(start, start + count)]


def datas(pairs: list[tuple[int, Record]]) -> list[bytes]:
    return [record.data for _, record in pairs]


def test_offsets_are_record_numbers_and_any_offset_replays(tmp_path: Path) -> None:
    with LocalStream(tmp_path) as stream:
        assert stream.end_offset() == 0
        assert stream.read(0) == []
        stream.put(records(0, 3))
        stream.put([])
        stream.put(records(3, 4, key="user-2"))
        assert stream.end_offset() == 7
        everything = stream.read(0, 100)
        assert [offset for offset, _ in everything] == list(range(7))
        assert datas(everything) == [f"record-{n}".encode() for n in range(7)]
        assert everything[4][1].partition_key == "user-2"
        assert stream.read(5, 1) == everything[5:6]
        assert stream.read(2, 3) == everything[2:5]
        assert stream.read(0, 100) == everything  # replay
        assert stream.read(7) == []
        assert stream.read(1000) == []
        with pytest.raises(ValueError):
            stream.read(-1)


def test_rotation_by_size_keeps_offsets_and_reopening_continues(tmp_path: Path) -> None:
    with LocalStream(tmp_path, segment_bytes=300) as stream:
        for start in range(0, 60, 3):
            stream.put(records(start, 3))
    bases = list_segments(tmp_path)
    assert len(bases) > 5 and bases[0] == 0
    for base in bases:  # each segment is named by its first offset, and stays near the size
        assert (tmp_path / segment_name(base)).stat().st_size < 300 + 3 * 40
    reader = StreamReader(tmp_path)
    assert datas(reader.read(0, 1000)) == [f"record-{n}".encode() for n in range(60)]
    assert reader.read(bases[2], 1)[0][0] == bases[2]
    assert reader.end_offset() == 60
    with LocalStream(tmp_path, segment_bytes=300) as stream:
        assert stream.recovery is None  # clean: no gap
        stream.put(records(60, 1))
        assert stream.read(60) == [(60, Record("user-1", b"record-60"))]


def test_put_returns_only_after_the_segment_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = LocalStream(tmp_path, segment_bytes=200)
    calls: list[tuple[str, str]] = []
    real_write, real_fsync = os.write, os.fsync

    def name(fd: int) -> str:
        return os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))

    def write(fd: int, data: bytes) -> int:
        calls.append(("write", name(fd)))
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        calls.append(("fsync", name(fd)))
        real_fsync(fd)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    stream.put(records(0, 2))
    assert calls == [("write", segment_name(0)), ("fsync", segment_name(0))]
    calls.clear()
    stream.put(records(2, 10))  # does not fit: rotation first
    new = segment_name(2)
    assert calls == [
        ("fsync", segment_name(0)),  # the sealed segment
        ("write", new),  # header of the new one
        ("fsync", new),
        ("fsync", tmp_path.name),  # its directory entry
        ("write", new),  # the records
        ("fsync", new),
    ]
    monkeypatch.undo()
    stream.close()


def test_a_failed_fsync_fails_the_put_and_skips_its_offsets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = LocalStream(tmp_path)
    stream.put(records(0, 2))
    real_fsync = os.fsync
    failures = iter([OSError(errno.EIO, "Input/output error")])

    def flaky(fd: int) -> None:
        error = next(failures, None)
        if error is not None:
            raise error
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", flaky)
    with pytest.raises(SinkError, match=r"writing 3 records failed: .*Input/output error"):
        stream.put(records(100, 3))
    stream.put(records(2, 1))
    monkeypatch.undo()
    # The failed batch is gone, and its offsets (2, 3, 4) are never given to other records:
    # a reader may have seen them before the fsync failed.
    assert stream.read(0) == [
        (0, Record("user-1", b"record-0")),
        (1, Record("user-1", b"record-1")),
        (5, Record("user-1", b"record-2")),
    ]
    stream.close()
    assert StreamReader(tmp_path).read(3) == [(5, Record("user-1", b"record-2"))]


def simulate_crash(directory: Path, tail: bytes) -> None:
    """What a crash mid-write leaves: no CLEAN marker and `tail` after the last frame."""
    (directory / CLEAN_FILE).unlink()
    last = directory / segment_name(list_segments(directory)[-1])
    with open(last, "ab") as handle:
        handle.write(tail)


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(encode_frame(Record("user-1", b"never acknowledged"))[:-5], id="short"),
        pytest.param(encode_frame(Record("user-1", b"never acknowledged"))[:3], id="header"),
        pytest.param(
            encode_frame(Record("user-1", b"never acknowledged")).replace(b"never", b"NEVER"),
            id="bad-crc",
        ),
        pytest.param(b"\0" * 4096, id="zeros"),
    ],
)
def test_a_torn_tail_is_truncated_and_reported(tmp_path: Path, tail: bytes) -> None:
    with LocalStream(tmp_path) as stream:
        stream.put(records(0, 5))
    simulate_crash(tmp_path, tail)
    # A reader before recovery sees the intact records and waits at the torn frame.
    assert len(StreamReader(tmp_path).read(0)) == 5
    with LocalStream(tmp_path) as stream:
        assert stream.recovery is not None
        assert stream.recovery.unclean
        assert stream.recovery.truncated_bytes == len(tail)
        assert stream.recovery.end_offset == 5
        assert "truncated a torn tail" in stream.recovery.describe()
        # After an unclean shutdown writing resumes after a gap (see docs/streams.md).
        stream.put(records(5, 1))
        assert stream.end_offset() == 5 + UNCLEAN_GAP + 1
        got = stream.read(0)
    assert [offset for offset, _ in got] == [0, 1, 2, 3, 4, 5 + UNCLEAN_GAP]
    assert datas(got) == [f"record-{n}".encode() for n in range(6)]
    assert StreamReader(tmp_path).read(5) == got[5:]
    assert StreamReader(tmp_path).end_offset() == 5 + UNCLEAN_GAP + 1


def test_a_segment_with_a_torn_header_is_removed(tmp_path: Path) -> None:
    with LocalStream(tmp_path) as stream:
        stream.put(records(0, 2))
    (tmp_path / CLEAN_FILE).unlink()
    (tmp_path / segment_name(2)).write_bytes(b"REFRACTS\0")  # crash while rotating
    with LocalStream(tmp_path) as stream:
        assert stream.recovery is not None
        assert stream.recovery.removed_segments == (segment_name(2),)
        assert datas(stream.read(0)) == [b"record-0", b"record-1"]


def test_a_damaged_record_in_a_sealed_segment_is_an_error(tmp_path: Path) -> None:
    with LocalStream(tmp_path, segment_bytes=100) as stream:
        for n in range(6):
            stream.put(records(n, 1))
    first = tmp_path / segment_name(0)
    raw = bytearray(first.read_bytes())
    raw[HEADER_SIZE + 12] ^= 0xFF
    first.write_bytes(bytes(raw))
    with pytest.raises(
        CorruptStream, match=r"00000000000000000000\.seg: damaged record at byte 24"
    ):
        StreamReader(tmp_path).read(0)
    assert StreamReader(tmp_path).read(5)[0][0] == 5  # later segments stay readable


def test_bad_records_are_refused_whole(tmp_path: Path) -> None:
    with LocalStream(tmp_path) as stream:
        with pytest.raises(SinkError, match="over the 1048576-byte limit"):
            stream.put([Record("ok", b"1"), Record("big", b"x" * 1024 * 1024)])
        with pytest.raises(SinkError, match="record 0 partition key"):
            stream.put([Record("", b"1")])
        with pytest.raises(SinkError, match="data is a str"):
            stream.put([Record("k", "text")])  # type: ignore[arg-type]
        assert stream.end_offset() == 0
        stream.put([Record("k", b"x" * (1024 * 1024 - 1))])
        assert len(stream.read(0)[0][1].data) == 1024 * 1024 - 1


def test_one_writer_per_directory(tmp_path: Path) -> None:
    first = LocalStream(tmp_path)
    with pytest.raises(SinkError, match=rf"already open for writing \(process {os.getpid()} holds"):
        LocalStream(tmp_path)
    first.close()
    first.close()  # idempotent
    with pytest.raises(SinkError, match="is closed"):
        first.put(records(0, 1))
    LocalStream(tmp_path).close()


def test_concurrent_puts_from_threads_get_distinct_offsets(tmp_path: Path) -> None:
    with LocalStream(tmp_path) as stream:

        def writer(thread: int) -> None:
            for n in range(50):
                stream.put(records(n * 2, 2, key=f"thread-{thread}"))

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        got = stream.read(0, 10_000)
    assert [offset for offset, _ in got] == list(range(400))
    for t in range(4):  # each thread's records in its own order
        mine = [r.data for _, r in got if r.partition_key == f"thread-{t}"]
        assert mine == [f"record-{n}".encode() for n in range(100)]


def test_open_sink_local_uses_the_data_directory(tmp_path: Path) -> None:
    events = open_sink("local", "events", tmp_path)
    dead = open_sink("local", "dead_letters", tmp_path)
    events.put(records(0, 1))
    dead.put(records(9, 1))
    events.close()
    dead.close()
    assert local_stream_directory(tmp_path, "events") == tmp_path / "streams" / "events"
    assert datas(StreamReader(tmp_path / "streams" / "events").read(0)) == [b"record-0"]
    assert datas(StreamReader(tmp_path / "streams" / "dead_letters").read(0)) == [b"record-9"]
    with pytest.raises(SinkError, match="unknown stream kind 'kafka'"):
        open_sink("kafka", "events", tmp_path)  # type: ignore[arg-type]
    with pytest.raises(SinkError, match="unknown stream 'clicks'"):
        open_sink("local", "clicks", tmp_path)  # type: ignore[arg-type]


def test_partition_key_follows_the_user() -> None:
    base = {"event_id": "e-1"}
    assert partition_key_for({**base, "user": {"user_id": "u", "anonymous_id": "a"}}) == "u"
    assert partition_key_for({**base, "user": {"anonymous_id": "a", "device_id": "d"}}) == "a"
    assert partition_key_for({**base, "user": {"device_id": "d"}}) == "d"
    assert partition_key_for({**base, "user": {}}) == "e-1"
    long = partition_key_for({**base, "user": {"user_id": "x" * 300}})
    assert len(long) == 64 and long == partition_key_for({"user": {"user_id": "x" * 300}})
    with pytest.raises(SinkError, match="no user id"):
        partition_key_for({"user": None})


def test_probe_reports_a_closed_or_vanished_stream(tmp_path: Path) -> None:
    closed = LocalStream(tmp_path / "closed")
    closed.probe()  # open and present: ready
    closed.close()
    with pytest.raises(SinkError, match="closed"):
        closed.probe()
    vanished = LocalStream(tmp_path / "vanished")
    shutil.rmtree(tmp_path / "vanished")
    with pytest.raises(SinkError, match="directory is gone"):
        vanished.probe()
    (tmp_path / "vanished").mkdir()  # let close() leave its marker somewhere
    vanished.close()


def _slow_fsync(
    monkeypatch: pytest.MonkeyPatch, fail: OSError | None = None
) -> tuple[threading.Event, threading.Event, list[int]]:
    """os.fsync that blocks its first call until released (so puts queue up behind it),
    optionally failing the second call; returns (entered, release, fsync sizes seen)."""
    entered, release = threading.Event(), threading.Event()
    real_fsync = os.fsync
    sizes: list[int] = []

    def fsync(fd: int) -> None:
        sizes.append(os.fstat(fd).st_size)
        if len(sizes) == 1:
            entered.set()
            release.wait(10)
        elif len(sizes) == 2 and fail is not None:
            raise fail
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return entered, release, sizes


def _put_in_threads(
    stream: LocalStream, batches: list[list[Record]]
) -> tuple[list[BaseException | None], list[threading.Thread]]:
    results: list[BaseException | None] = [None] * len(batches)

    def put(index: int) -> None:
        try:
            stream.put(batches[index])
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=put, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    return results, threads


def test_concurrent_puts_share_one_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Group commit: puts queued behind a write go out together, each returning only after
    its own records were fsync'd, each batch contiguous and in arrival order."""
    with LocalStream(tmp_path) as stream:
        entered, release, sizes = _slow_fsync(monkeypatch)
        first = threading.Thread(target=stream.put, args=(records(0, 2, key="a"),))
        first.start()
        assert entered.wait(10)
        results, threads = _put_in_threads(
            stream, [records(10 * i, 3, key=f"k{i}") for i in range(1, 5)]
        )
        deadline = time.monotonic() + 10
        while len(stream._queue) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(stream._queue) == 4
        assert all(thread.is_alive() for thread in threads)  # nothing acknowledged yet
        release.set()
        first.join(10)
        for thread in threads:
            thread.join(10)
        monkeypatch.undo()
        assert results == [None] * 4
        assert len(sizes) == 2, "the four queued puts share one fsync"
        got = stream.read(0, 100)
    assert [offset for offset, _ in got] == list(range(14))
    keys = [record.partition_key for _, record in got]
    assert keys[:2] == ["a", "a"]
    for i in range(1, 5):  # each put's records contiguous and in its own order
        start = keys.index(f"k{i}")
        assert datas(got[start : start + 3]) == [f"record-{10 * i + n}".encode() for n in range(3)]


def test_a_failed_group_commit_fails_every_put_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LocalStream(tmp_path) as stream:
        entered, release, _sizes = _slow_fsync(monkeypatch, OSError(errno.EIO, "I/O error"))
        first = threading.Thread(target=stream.put, args=(records(0, 2),))
        first.start()
        assert entered.wait(10)
        results, threads = _put_in_threads(stream, [records(10, 3), records(20, 4)])
        deadline = time.monotonic() + 10
        while len(stream._queue) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(stream._queue) == 2
        release.set()
        first.join(10)
        for thread in threads:
            thread.join(10)
        monkeypatch.undo()
        assert all(isinstance(result, SinkError) for result in results), results
        assert sorted(str(r).split(": ")[1] for r in results) == [
            "writing 3 records failed",
            "writing 4 records failed",
        ]
        stream.put(records(30, 1))
        # The failed group's 7 offsets (2..8) are skipped, never reused.
        assert stream.read(0) == [
            (0, Record("user-1", b"record-0")),
            (1, Record("user-1", b"record-1")),
            (9, Record("user-1", b"record-30")),
        ]
