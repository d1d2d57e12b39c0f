"""Multiwindow, multi-burn-rate alerts (SRE Workbook, "Alerting on SLOs", table 5-8).

An alert rule fires at ``now`` when, all three:

1. the burn rate over its long window is at least ``rule.burn_rate``,
2. the burn rate over its short window is at least ``rule.burn_rate``,
3. its long window holds at least ``policy.min_requests`` requests (the traffic guard).

Comparisons are exact (see :func:`eventsapi.slo.spec.exact`): with a 99.9 % target, an error
ratio of exactly 1.44 % reaches 14.4 and fires the fast page; 1.43 % does not. A window
without requests has no burn rate and cannot fire. Windows are aligned on completed minutes
as :mod:`eventsapi.slo.windows` defines.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from fractions import Fraction

import msgspec

from eventsapi.slo.math import burn_rate_exact
from eventsapi.slo.spec import DEFAULT_ALERT_POLICY, AlertPolicy, AlertRule, exact
from eventsapi.slo.windows import Counts, MinuteBucket, counts_in_windows

__all__ = ["AlertEvaluation", "evaluate_alerts", "firing_alerts"]


class AlertEvaluation(msgspec.Struct, frozen=True):
    """One rule evaluated at one instant, with the numbers behind the verdict."""

    rule: AlertRule
    long: Counts
    short: Counts
    long_burn_rate: float | None
    short_burn_rate: float | None
    traffic_ok: bool
    """Whether the long window held at least the policy's ``min_requests``."""
    firing: bool


def _reaches(rate: Fraction | None, factor: Fraction) -> bool:
    return rate is not None and rate >= factor


def evaluate_alerts(
    buckets: Iterable[MinuteBucket],
    target: float | Fraction,
    now: datetime,
    policy: AlertPolicy = DEFAULT_ALERT_POLICY,
) -> tuple[AlertEvaluation, ...]:
    """Evaluate every rule of ``policy`` at ``now``, in the policy's order.

    ``buckets`` are one SLO's (its routes; ``bad`` = failed or slow requests).
    """
    lengths = {w for rule in policy.rules for w in (rule.long_window, rule.short_window)}
    counts = counts_in_windows(buckets, now, lengths)
    evaluations = []
    for rule in policy.rules:
        long, short = counts[rule.long_window], counts[rule.short_window]
        long_rate = burn_rate_exact(long, target)
        short_rate = burn_rate_exact(short, target)
        factor = exact(rule.burn_rate)
        traffic_ok = long.total >= policy.min_requests
        evaluations.append(
            AlertEvaluation(
                rule=rule,
                long=long,
                short=short,
                long_burn_rate=None if long_rate is None else float(long_rate),
                short_burn_rate=None if short_rate is None else float(short_rate),
                traffic_ok=traffic_ok,
                firing=traffic_ok and _reaches(long_rate, factor) and _reaches(short_rate, factor),
            )
        )
    return tuple(evaluations)


def firing_alerts(
    buckets: Iterable[MinuteBucket],
    target: float | Fraction,
    now: datetime,
    policy: AlertPolicy = DEFAULT_ALERT_POLICY,
) -> tuple[AlertRule, ...]:
    """The rules of ``policy`` firing at ``now`` (see :func:`evaluate_alerts`)."""
    return tuple(e.rule for e in evaluate_alerts(buckets, target, now, policy) if e.firing)
