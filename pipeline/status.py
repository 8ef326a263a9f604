"""The pipeline's status file and its reading: what `refract pipeline status` answers from.

The runner writes `<data-dir>/pipeline/status.json` after every step (atomically: a temporary
file renamed over the old one, so a reader never sees half a document). The status command
cannot ask the warehouse itself: a DuckDB file admits one writing process and the runner holds
it, so everything it needs from the warehouse (checkpoints, max `received_at` per source) is
mirrored in the file. Stream lag is computed live from the stream, against those checkpoints.

Health (exit code of `refract pipeline status`), decided here so tests and docs share it: the
pipeline is *failing* when its last load failed, or the last build of either tier (fresh:
referral_events; full: everything) failed, or a runner that says it is running is gone (its pid
no longer exists here) or has not written the file for `HEARTBEAT_LIMIT_S`; it is *stale* when
the oldest event not yet queryable is older than the 3-minute objective (`FRESHNESS_TARGET_S`):
an unloaded record on the stream, or rows loaded but not in conformed.referral_events yet; and
*behind* when rows have waited for a full build longer than the full build interval plus that
target (the full tier is off its own schedule). Per-source freshness (now - newest
`received_at` loaded) is reported against the same target but does not decide health: a source
that sends nothing (the CRM at night) is quiet, not late.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from compat.source import InvalidInput

STATUS_FILE = Path("pipeline") / "status.json"
FRESHNESS_TARGET_S = 180.0
"""The objective: an event is queryable in the conformed tables within 3 minutes."""
HEARTBEAT_LIMIT_S = 180.0
"""A running runner that has not written its status for this long is presumed dead or hung."""
LAG_COUNT_CAP = 1_000_000
"""Records counted one by one behind a checkpoint; beyond it the lag is reported as `>=`."""
LOCAL_STREAMS = ("events", "dead_letters")
STATUS_VERSION = 1


def status_path(data_dir: Path) -> Path:
    return data_dir / STATUS_FILE


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """UTC ISO-8601 with milliseconds and `Z`, as the gateway writes `received_at`."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(text: object) -> datetime | None:
    """A timestamp written by `iso` (or the gateway); None for anything else."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def write_status(path: Path, document: dict[str, Any]) -> None:
    """Replace the status file atomically (temporary file in the same directory, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(document, indent=2, sort_keys=True, default=str).encode() + b"\n"
    fd, temporary = tempfile.mkstemp(prefix=".status-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def read_status(path: Path) -> dict[str, Any] | None:
    """The status document, None when the runner never wrote one; InvalidInput if unreadable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the pipeline status: {exc.strerror}") from None
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"{path}: not a pipeline status file (invalid JSON: {exc})") from None
    if not isinstance(document, dict) or document.get("version") != STATUS_VERSION:
        raise InvalidInput(f"{path}: not a pipeline status file (version {STATUS_VERSION})")
    return document


# -- stream lag, live ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamLag:
    """How far the loader is behind one local stream, measured now."""

    stream: str
    end_offset: int
    next_offset: int
    """The first offset not loaded: checkpoint position + 1 (0 without a checkpoint)."""
    records: int
    """Records on the stream at or after `next_offset` (offsets may have gaps)."""
    capped: bool = False
    oldest_received_at: datetime | None = None
    """`received_at` of the first record not loaded (None when nothing is waiting)."""

    def to_json(self, now: datetime) -> dict[str, Any]:
        age = (now - self.oldest_received_at).total_seconds() if self.oldest_received_at else None
        return {
            "stream": self.stream,
            "end_offset": self.end_offset,
            "next_offset": self.next_offset,
            "records_behind": self.records,
            "records_behind_capped": self.capped,
            "oldest_unloaded_received_at": iso(self.oldest_received_at),
            "oldest_unloaded_age_s": None if age is None else round(age, 3),
        }


def next_offset(checkpoints: dict[str, Any], stream: str) -> int:
    """The first local offset after the checkpoint of `stream` (positions are offsets)."""
    shards = checkpoints.get(stream) or {}
    position = shards.get("local") if isinstance(shards, dict) else None
    if position is None:
        return 0
    try:
        return int(position) + 1
    except (TypeError, ValueError):
        raise InvalidInput(
            f"status.json: checkpoint {stream}/local = {position!r} is not a local offset"
        ) from None


def local_lag(data_dir: Path, checkpoints: dict[str, Any]) -> list[StreamLag]:
    """Lag of each local stream behind `checkpoints` ({stream: {"local": position}})."""
    from pipeline.streams.local import StreamReader

    out: list[StreamLag] = []
    for stream in LOCAL_STREAMS:
        directory = data_dir / "streams" / stream
        start = next_offset(checkpoints, stream)
        if not directory.is_dir():
            out.append(StreamLag(stream, 0, start, 0))
            continue
        reader = StreamReader(directory)
        end = reader.end_offset()
        count, capped, oldest, cursor = 0, False, None, start
        while cursor < end:
            chunk = reader.read(cursor, 10_000)
            if not chunk:
                break
            if oldest is None:
                oldest = _received_at(chunk[0][1].data)
            count += len(chunk)
            cursor = chunk[-1][0] + 1
            if count >= LAG_COUNT_CAP:
                capped = True
                break
        out.append(StreamLag(stream, end, start, count, capped, oldest))
    return out


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (zombies count as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _received_at(data: bytes) -> datetime | None:
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return parse_time(body.get("received_at")) if isinstance(body, dict) else None


# -- health ----------------------------------------------------------------------------------------


@dataclass
class Assessment:
    """The verdict of `refract pipeline status`: healthy, or the reasons it is not."""

    problems: list[str] = field(default_factory=list)
    staleness_s: float | None = None
    """Age of the oldest event not yet queryable (0 when everything is built; None unknown)."""

    @property
    def healthy(self) -> bool:
        return not self.problems


def assess(
    document: dict[str, Any] | None,
    lags: list[StreamLag] | None,
    now: datetime,
    *,
    target_s: float = FRESHNESS_TARGET_S,
    alive: Callable[[int], bool] | None = None,
) -> Assessment:
    """Decide health from the status document and the live lag (see the module docstring).

    `alive(pid)`, when given, tells whether the runner's process still exists (the status
    command passes a check for this machine): a runner killed without a chance to write
    `stopped` is reported at once instead of after the heartbeat limit."""
    verdict = Assessment()
    if document is None:
        verdict.problems.append("the pipeline has not run here (no status file)")
        return verdict
    load = document.get("last_load") or {}
    if load.get("error"):
        verdict.problems.append(f"last load failed: {load['error']}")
    tiers = document.get("tiers")
    builds = (
        [(f"last {name} build", (tier or {}).get("last") or {}) for name, tier in tiers.items()]
        if isinstance(tiers, dict)
        else [("last build", document.get("last_build") or {})]
    )
    for label, build in builds:
        if build and not build.get("success", False):
            failures = build.get("failures") or ["unknown failure"]
            verdict.problems.append(f"{label} failed: {failures[0]}")
    updated = parse_time(document.get("updated_at"))
    pid = document.get("pid")
    if document.get("state") == "running" and alive and isinstance(pid, int) and not alive(pid):
        verdict.problems.append(f"the runner (pid {pid}) is gone without stopping (killed?)")
    elif document.get("state") == "running" and updated is not None:
        silent = (now - updated).total_seconds()
        if silent > HEARTBEAT_LIMIT_S:
            verdict.problems.append(
                f"the runner (pid {document.get('pid')}) has not reported for {silent:.0f} s"
            )
    ages: list[float] = [0.0]
    for lag in lags or []:
        if lag.oldest_received_at is not None:
            ages.append((now - lag.oldest_received_at).total_seconds())
    if lags is None:  # Kinesis: MillisBehindLatest per shard, as the runner last saw it
        for shards in (document.get("stream_lag") or {}).values():
            for shard in (shards or {}).values():
                behind = (shard or {}).get("millis_behind")
                if isinstance(behind, int | float):
                    ages.append(float(behind) / 1000)
    unbuilt = parse_time(document.get("unbuilt_since"))
    if unbuilt is not None:
        ages.append((now - unbuilt).total_seconds())
    verdict.staleness_s = max(ages)
    if verdict.staleness_s > target_s:
        verdict.problems.append(
            f"stale: the oldest event not yet queryable is {verdict.staleness_s:.0f} s old "
            f"(target {target_s:.0f} s)"
        )
    full = (tiers or {}).get("full") if isinstance(tiers, dict) else None
    waiting = parse_time((full or {}).get("unbuilt_since"))
    interval = (full or {}).get("interval_s")
    if waiting is not None and isinstance(interval, int | float):
        behind = (now - waiting).total_seconds()
        if behind > interval + target_s:
            verdict.problems.append(
                f"behind: rows loaded {behind:.0f} s ago are not in a full build yet (full "
                f"builds every {interval:g} s; sessions, marts and dq.results are stale)"
            )
    return verdict


def freshness(document: dict[str, Any], now: datetime) -> dict[str, dict[str, Any]]:
    """Per source: newest `received_at` loaded, its age now, and whether it is within target."""
    out: dict[str, dict[str, Any]] = {}
    for source, newest in sorted((document.get("max_received_at") or {}).items()):
        moment = parse_time(newest)
        age = (now - moment).total_seconds() if moment else None
        out[source] = {
            "max_received_at": newest,
            "age_s": None if age is None else round(age, 3),
            "within_target": age is not None and age <= FRESHNESS_TARGET_S,
        }
    return out
