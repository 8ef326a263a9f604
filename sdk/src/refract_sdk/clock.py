"""UTC timestamps with exactly millisecond precision.

Every Refract timestamp is spelled ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (contracts/common/envelope):
one spelling keeps timestamps sortable as strings and identical across SDKs. The formatter
truncates (never rounds) to the millisecond, so a timestamp never lies in the future of the
instant it describes.
"""

from __future__ import annotations

import time

__all__ = ["format_ms", "now_ms"]


def format_ms(epoch_seconds: float) -> str:
    """Format a POSIX timestamp (seconds) as a Refract UTC millisecond timestamp."""
    total_ms = int(epoch_seconds * 1000)
    seconds, millis = divmod(total_ms, 1000)
    t = time.gmtime(seconds)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{millis:03d}Z"
    )


def now_ms() -> str:
    """The current instant as a Refract UTC millisecond timestamp."""
    return format_ms(time.time())
