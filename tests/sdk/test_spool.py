"""The durable spool on its own: recovery of what is not acked, segment deletion, corrupt
lines, and exclusive ownership of a generation."""

from __future__ import annotations

import os
from pathlib import Path

from refract_sdk.prepare import PreparedEvent
from refract_sdk.spool import CorruptLine, Spool


def event(n: int) -> PreparedEvent:
    event_id = f"00000000-0000-4000-8000-{n:012d}"
    return PreparedEvent(event_id, f'{{"event_id":"{event_id}","n":{n}}}'.encode(), None)


def ids(events: list[PreparedEvent]) -> list[str]:
    return [e.event_id for e in events]


def test_unacked_events_are_recovered_by_the_next_spool(tmp_path: Path) -> None:
    first = Spool(tmp_path, 1 << 20)
    written = [event(i) for i in range(10)]
    for e in written:
        first.append(e)
    first.ack(written[:4])
    first.close()  # releases the lock; 6 events are not done, so the files stay

    second = Spool(tmp_path, 1 << 20)
    corrupt: list[CorruptLine] = []
    recovered = list(second.recover(corrupt.append))
    assert ids(recovered) == ids(written[4:])
    assert recovered[0].source == {"event_id": written[4].event_id, "n": 4}
    assert not corrupt
    second.ack(recovered)
    # The recovered generation is finished: its files are gone, only the live one remains.
    assert {p.name.split(".")[0] for p in tmp_path.iterdir()} == {second.generation}
    second.close()
    assert list(tmp_path.iterdir()) == []


def test_a_live_generation_is_never_recovered_by_another_spool(tmp_path: Path) -> None:
    owner = Spool(tmp_path, 1 << 20)
    owner.append(event(1))
    other = Spool(tmp_path, 1 << 20)
    assert list(other.recover(lambda _: None)) == []  # locked by its owner
    owner.close()
    assert ids(list(other.recover(lambda _: None))) == ids([event(1)])
    third = Spool(tmp_path, 1 << 20)
    assert list(third.recover(lambda _: None)) == []  # now held by ``other``
    other.close()
    third.close()


def test_fully_acked_segments_are_deleted_on_rotation(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1024)
    batch = [event(i) for i in range(100)]  # ~50 bytes a line: about 20 lines per segment
    for e in batch:
        spool.append(e)
    segments = sorted(p.name for p in tmp_path.glob("*.events"))
    assert len(segments) >= 4
    spool.ack(batch[:60])
    remaining = sorted(p.name for p in tmp_path.glob("*.events"))
    assert len(remaining) < len(segments)  # closed, fully acked segments are gone
    assert spool.pending() == 40
    spool.ack(batch[60:])
    assert spool.pending() == 0
    spool.close()
    assert list(tmp_path.iterdir()) == []


def test_corrupt_and_torn_lines_are_skipped_and_reported(tmp_path: Path) -> None:
    first = Spool(tmp_path, 1 << 20)
    for i in range(3):
        first.append(event(i))
    first.close()
    (segment,) = tmp_path.glob("*.events")
    with open(segment, "ab") as f:
        f.write(b"this is not json\n")
        f.write(event(3).body + b"\n")
        f.write(b'{"event_id":"00000000-0000-4000-8000-0000000')  # torn by a crash
    corrupt: list[CorruptLine] = []
    second = Spool(tmp_path, 1 << 20)
    recovered = list(second.recover(corrupt.append))
    assert ids(recovered) == ids([event(0), event(1), event(2), event(3)])
    assert [c.line_number for c in corrupt] == [4, 6]
    assert second.corrupt_lines == 2
    second.ack(recovered)
    second.close()
    assert list(tmp_path.iterdir()) == []


def test_after_fork_the_child_neither_holds_nor_touches_the_parents_generation(
    tmp_path: Path,
) -> None:
    parent = Spool(tmp_path, 1 << 20)
    spooled = event(1)
    parent.append(spooled)
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            parent.abandon_after_fork()
            child = Spool(tmp_path, 1 << 20)
            if list(child.recover(lambda _: None)):
                code = 1  # the parent is alive and holds its lock
            child.close()
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent still owns its generation: nobody else can recover it.
    probe = Spool(tmp_path, 1 << 20)
    assert list(probe.recover(lambda _: None)) == []
    probe.close()
    parent.ack([spooled])
    parent.close()
    assert list(tmp_path.iterdir()) == []
