"""Per-minute buckets and how time windows map onto them.

Alignment (the one rule everything else follows): a window of length ``w`` evaluated at the
instant ``now`` covers the completed minutes ``[end - w, end)`` where
``end = floor_minute(now)``. A bucket counts when its start ``s`` satisfies
``end - w <= s < end``; the bucket of the minute in progress (``s == end``) never counts, and
neither do buckets from the future. So at 12:00:00 and at 12:00:59 alike, the 5-minute
window is the buckets starting 11:55, 11:56, 11:57, 11:58 and 11:59. Windows are whole
minutes.

A calendar window (month or quarter, in UTC) is the period containing ``end - 1 minute``,
the last completed minute, cut at ``end``: period to date while it runs, the whole period
once it is over. At exactly 00:00 on 1 December the month window is therefore all of
November, complete, and becomes December only at 00:01.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import msgspec

from eventsapi.slo.spec import CalendarWindow, RollingWindow, Window, exact

__all__ = [
    "BURN_RATE_WINDOWS",
    "MINUTE",
    "Counts",
    "MinuteBucket",
    "budget_duration",
    "calendar_period_bounds",
    "counts_in_windows",
    "floor_minute",
    "window_bounds",
    "window_counts",
]

MINUTE = timedelta(minutes=1)

BURN_RATE_WINDOWS: tuple[timedelta, ...] = (
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(days=3),
)
"""The windows a burn rate is reported for: every window of the table 5-8 alerts."""


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"instants are timezone-aware, not naive: {instant.isoformat()}")
    return instant.astimezone(UTC)


def floor_minute(instant: datetime) -> datetime:
    """The start of the minute holding ``instant``, in UTC (which must be timezone-aware)."""
    return _utc(instant).replace(second=0, microsecond=0)


class MinuteBucket(msgspec.Struct, frozen=True):
    """The requests of one minute: ``[start, start + 1 minute)``.

    ``bad`` counts the requests that spend error budget: failed ones for an availability SLO,
    slow ones for a latency SLO. ``start`` is timezone-aware and on a whole minute; it is
    stored in UTC.
    """

    start: datetime
    total: int
    bad: int

    def __post_init__(self) -> None:
        start = _utc(self.start)
        if start.second or start.microsecond:
            raise ValueError(f"a bucket starts on a whole minute, not {start.isoformat()}")
        msgspec.structs.force_setattr(self, "start", start)
        for name in ("total", "bad"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} is a count >= 0, not {value!r}")
        if self.bad > self.total:
            raise ValueError(f"bad ({self.bad}) cannot exceed total ({self.total})")


class Counts(msgspec.Struct, frozen=True):
    """Requests summed over a window: ``total`` and the ``bad`` among them."""

    total: int = 0
    bad: int = 0

    def __post_init__(self) -> None:
        if self.total < 0 or not 0 <= self.bad <= self.total:
            raise ValueError(f"need 0 <= bad <= total, not bad={self.bad} total={self.total}")

    @property
    def good(self) -> int:
        """Requests that did not spend budget."""
        return self.total - self.bad

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.total + other.total, self.bad + other.bad)


def _check_length(length: timedelta) -> None:
    if length < MINUTE or length % MINUTE:
        raise ValueError(f"a window is a whole number of minutes, not {length}")


def window_counts(buckets: Iterable[MinuteBucket], start: datetime, end: datetime) -> Counts:
    """Sum the buckets whose start ``s`` satisfies ``start <= s < end``.

    Several buckets for the same minute (one per replica) all count.
    """
    start, end = _utc(start), _utc(end)
    total = bad = 0
    for bucket in buckets:
        if start <= bucket.start < end:
            total += bucket.total
            bad += bucket.bad
    return Counts(total, bad)


def counts_in_windows(
    buckets: Iterable[MinuteBucket], now: datetime, lengths: Iterable[timedelta]
) -> Mapping[timedelta, Counts]:
    """The counts of each trailing window of ``lengths`` at ``now``, in one pass.

    Each window is ``[floor_minute(now) - length, floor_minute(now))`` (see the module).
    """
    end = floor_minute(now)
    wanted = sorted(set(lengths))
    for length in wanted:
        _check_length(length)
    totals = dict.fromkeys(wanted, 0)
    bads = dict.fromkeys(wanted, 0)
    for bucket in buckets:
        if bucket.start >= end:
            continue
        age = end - bucket.start
        for length in wanted:
            if age <= length:
                totals[length] += bucket.total
                bads[length] += bucket.bad
    return {length: Counts(totals[length], bads[length]) for length in wanted}


def calendar_period_bounds(period: CalendarWindow, instant: datetime) -> tuple[datetime, datetime]:
    """The whole calendar period (UTC) holding ``instant``: ``[first minute, next period)``."""
    instant = _utc(instant)
    first_month = instant.month if period.period == "month" else (instant.month - 1) // 3 * 3 + 1
    start = datetime(instant.year, first_month, 1, tzinfo=UTC)
    months = 1 if period.period == "month" else 3
    year, month0 = divmod(first_month - 1 + months, 12)
    end = datetime(instant.year + year, month0 + 1, 1, tzinfo=UTC)
    return start, end


def window_bounds(window: Window, now: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` of the buckets ``window`` covers at ``now`` (see the module).

    Rolling: ``[end - days, end)`` with ``end = floor_minute(now)``. Calendar: the period
    holding the last completed minute, cut at ``floor_minute(now)``.
    """
    end = floor_minute(now)
    if isinstance(window, RollingWindow):
        return end - window.length, end
    start, period_end = calendar_period_bounds(window, end - MINUTE)
    return start, min(end, period_end)


def budget_duration(target: float | Fraction, length: timedelta) -> timedelta:
    """The error budget as time: ``(1 - target) * length`` (bad minutes allowed if all bad).

    Exact for a decimal target: 99.9 % over a 30-day month is 43.2 minutes (43 min 12 s),
    rounded to the microsecond only if it must be.
    """
    allowed = (1 - exact(target)) * (length // timedelta(microseconds=1))
    return timedelta(microseconds=round(allowed))
