"""When to try a failed batch again: Retry-After parsing and full-jitter backoff.

Full jitter (a uniform delay between 0 and the exponential cap) spreads the retries of many
emitters that failed at the same moment, which is exactly when the gateway is least able to
take a synchronized wave. A server's ``Retry-After`` is a floor, never shortened by jitter. The
whole schedule is bounded by ``max_retry_time`` from the first attempt so that a dead endpoint
costs a bounded amount of memory and time.
"""

from __future__ import annotations

import email.utils
import random
import time

__all__ = ["RetrySchedule", "parse_retry_after"]


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return seconds


class RetrySchedule:
    """Delays between the attempts of one batch; ``next_delay`` returns None to give up."""

    def __init__(
        self,
        base: float,
        cap: float,
        max_retry_time: float,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._base = base
        self._cap = cap
        self._max = max_retry_time
        self._rng = rng or random.Random()
        self._monotonic = time.monotonic
        self._started = self._monotonic()
        self.attempt = 0

    def next_delay(
        self, retry_after: float | None = None, deadline: float | None = None
    ) -> float | None:
        """Delay before the next attempt, or None when it would end past the retry budget.

        ``deadline`` (a ``time.monotonic()`` value) is an extra bound, e.g. from ``close()``.
        """
        jittered = self._rng.uniform(0.0, min(self._cap, self._base * (2**self.attempt)))
        delay = max(jittered, retry_after) if retry_after is not None else jittered
        self.attempt += 1
        resume = self._monotonic() + delay
        if resume - self._started > self._max:
            return None
        if deadline is not None and resume > deadline:
            return None
        return delay
