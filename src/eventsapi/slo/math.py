"""Request-weighted SLI, error budget and burn rate over a window.

Every ratio here is ``sum(bad) / sum(total)`` over the window's buckets, weighting each
minute by its traffic: a window holding 1 bad request out of 10 and 0 out of 1000 has an
error ratio of 1/1010, not the average of the per-minute ratios (5 %) that Sloth computes
(Sloth issue 332). Arithmetic is exact (:class:`fractions.Fraction`) and rounded to a float
only in the results. A window without requests has no SLI, no budget fraction and no burn
rate: those are ``None``, never a division by zero.

Windows and their alignment on minute buckets are defined in :mod:`eventsapi.slo.windows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from fractions import Fraction

import msgspec

from eventsapi.slo.spec import SLOSpec, exact
from eventsapi.slo.windows import (
    BURN_RATE_WINDOWS,
    Counts,
    MinuteBucket,
    counts_in_windows,
    window_bounds,
    window_counts,
)

__all__ = [
    "ErrorBudget",
    "burn_rate",
    "burn_rate_exact",
    "burn_rates",
    "error_budget",
    "error_ratio_exact",
    "sli",
    "slo_budget",
]


def error_ratio_exact(counts: Counts) -> Fraction | None:
    """``bad / total`` exactly, or ``None`` without traffic."""
    if counts.total == 0:
        return None
    return Fraction(counts.bad, counts.total)


def sli(counts: Counts) -> float | None:
    """The share of good requests, ``good / total`` in ``[0, 1]``; ``None`` without traffic."""
    if counts.total == 0:
        return None
    return float(Fraction(counts.good, counts.total))


def burn_rate_exact(counts: Counts, target: float | Fraction) -> Fraction | None:
    """``(bad / total) / (1 - target)`` exactly; ``None`` without traffic.

    1 means spending the budget exactly as fast as the target allows (all of it by the end of
    the SLO window), 14.4 means 14.4 times as fast.
    """
    ratio = error_ratio_exact(counts)
    if ratio is None:
        return None
    return ratio / (1 - _target(target))


def burn_rate(counts: Counts, target: float | Fraction) -> float | None:
    """:func:`burn_rate_exact` as a float (correctly rounded); ``None`` without traffic."""
    rate = burn_rate_exact(counts, target)
    return None if rate is None else float(rate)


def burn_rates(
    buckets: Iterable[MinuteBucket],
    target: float | Fraction,
    now: datetime,
    lengths: Iterable[timedelta] = BURN_RATE_WINDOWS,
) -> Mapping[timedelta, float | None]:
    """The burn rate over each trailing window at ``now`` (5m, 30m, 1h, 2h, 6h, 1d, 3d).

    Each window is ``[floor_minute(now) - length, floor_minute(now))``; ``None`` for a window
    without requests.
    """
    counts = counts_in_windows(buckets, now, lengths)
    return {length: burn_rate(c, target) for length, c in counts.items()}


class ErrorBudget(msgspec.Struct, frozen=True):
    """The error budget of a window, as fractions and as request counts.

    - ``allowed_error_ratio``: the budget as a share of requests, ``1 - target``.
    - ``total_requests`` / ``bad_requests``: the window's traffic.
    - ``budget_requests``: bad requests the target allows for this traffic,
      ``(1 - target) * total_requests`` (not a whole number in general).
    - ``consumed_requests``: the bad requests, i.e. the budget spent.
    - ``remaining_requests``: ``budget_requests - consumed_requests``, negative once overspent.
    - ``consumed_fraction``: the share of the budget spent, ``bad / budget_requests`` (above 1
      once overspent); it equals the burn rate over the window. ``None`` without traffic.
    - ``remaining_fraction``: ``1 - consumed_fraction`` (negative once overspent), ``None``
      without traffic.
    """

    target: float
    allowed_error_ratio: float
    total_requests: int
    bad_requests: int
    budget_requests: float
    consumed_requests: int
    remaining_requests: float
    consumed_fraction: float | None
    remaining_fraction: float | None

    @property
    def exhausted(self) -> bool:
        """Whether the budget is spent: more bad requests than the target allows."""
        return self.remaining_requests < 0


def error_budget(counts: Counts, target: float | Fraction) -> ErrorBudget:
    """The error budget of ``counts`` (one window's traffic) under ``target``."""
    allowed = 1 - _target(target)
    budget = allowed * counts.total
    consumed: Fraction | None = None if counts.total == 0 else counts.bad / budget
    return ErrorBudget(
        target=float(_target(target)),
        allowed_error_ratio=float(allowed),
        total_requests=counts.total,
        bad_requests=counts.bad,
        budget_requests=float(budget),
        consumed_requests=counts.bad,
        remaining_requests=float(budget - counts.bad),
        consumed_fraction=None if consumed is None else float(consumed),
        remaining_fraction=None if consumed is None else float(1 - consumed),
    )


def slo_budget(slo: SLOSpec, buckets: Iterable[MinuteBucket], now: datetime) -> ErrorBudget:
    """The error budget of ``slo`` over its own window at ``now`` (rolling or calendar).

    ``buckets`` are the SLO's own (already filtered to its routes, ``bad`` meaning failed or
    slow as its kind says).
    """
    start, end = window_bounds(slo.window, now)
    return error_budget(window_counts(buckets, start, end), slo.target)


def _target(target: float | Fraction) -> Fraction:
    value = exact(target)
    if not 0 < value < 1:
        raise ValueError(f"a target is strictly between 0 and 1, not {target!r}")
    return value
