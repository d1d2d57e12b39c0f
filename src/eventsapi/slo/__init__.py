"""Service level objectives: the pure math core (no I/O, no HTTP, no framework).

One module per concept:

- :mod:`eventsapi.slo.spec`: what an SLO and its alert policy *are* (frozen, validated
  structs) and the defaults (availability 99.9 %, 99 % of requests under 300 ms, both
  over a rolling 30 days; the SRE Workbook table 5-8 alert policy with a traffic guard).
- :mod:`eventsapi.slo.windows`: how a time window maps onto per-minute buckets, rolling and
  calendar (month, quarter) windows, and the error budget expressed as time.
- :mod:`eventsapi.slo.math`: request-weighted SLI, error budget and burn rate over a window.
- :mod:`eventsapi.slo.alerts`: multiwindow, multi-burn-rate alert evaluation at an instant.

Conventions shared by all of them:

- Input is a sequence of :class:`~eventsapi.slo.windows.MinuteBucket` (minute start, total
  requests, bad requests: failed ones for availability, slow ones for latency). Several buckets
  for the same minute (one per replica) simply add up.
- A window of length ``w`` evaluated at instant ``now`` covers the *completed* minutes
  ``[floor_minute(now) - w, floor_minute(now))``: a bucket counts when its start ``s`` satisfies
  ``floor_minute(now) - w <= s < floor_minute(now)``. The minute in progress never counts, so
  numbers do not wobble within a minute and every replica computes the same values.
- Ratios are request-weighted (sum of bad over sum of total across the window), never an
  average of per-interval ratios (Sloth issue 332).
- Comparisons against targets and burn-rate factors are exact (:class:`fractions.Fraction`
  built from the decimal a person wrote, see :func:`~eventsapi.slo.spec.exact`), so an error
  ratio of exactly 1.44 % *does* reach 14.4 x the 0.1 % budget of a 99.9 % target.
- No traffic means "undefined", ``None``, never a division by zero: the SLI, the budget
  fractions and the burn rate are all ``None`` for a window without requests, and an alert
  whose windows are undefined does not fire.
"""

from __future__ import annotations

from eventsapi.slo.alerts import AlertEvaluation, evaluate_alerts, firing_alerts
from eventsapi.slo.math import (
    ErrorBudget,
    burn_rate,
    burn_rates,
    error_budget,
    sli,
    slo_budget,
)
from eventsapi.slo.spec import (
    DEFAULT_ALERT_POLICY,
    DEFAULT_MIN_REQUESTS,
    AlertPolicy,
    AlertRule,
    CalendarWindow,
    RollingWindow,
    RouteMatch,
    SLIKind,
    SLOSpec,
    default_slos,
    exact,
    selects,
)
from eventsapi.slo.windows import (
    BURN_RATE_WINDOWS,
    Counts,
    MinuteBucket,
    budget_duration,
    calendar_period_bounds,
    counts_in_windows,
    floor_minute,
    window_bounds,
    window_counts,
)

__all__ = [
    "BURN_RATE_WINDOWS",
    "DEFAULT_ALERT_POLICY",
    "DEFAULT_MIN_REQUESTS",
    "AlertEvaluation",
    "AlertPolicy",
    "AlertRule",
    "CalendarWindow",
    "Counts",
    "ErrorBudget",
    "MinuteBucket",
    "RollingWindow",
    "RouteMatch",
    "SLIKind",
    "SLOSpec",
    "budget_duration",
    "burn_rate",
    "burn_rates",
    "calendar_period_bounds",
    "counts_in_windows",
    "default_slos",
    "error_budget",
    "evaluate_alerts",
    "exact",
    "firing_alerts",
    "floor_minute",
    "selects",
    "sli",
    "slo_budget",
    "window_bounds",
    "window_counts",
]
