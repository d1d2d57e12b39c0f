"""What an SLO and its alert policy are: frozen, validated structs and the defaults.

Targets and burn-rate factors are floats as a person writes them (``0.999``, ``14.4``); the
math turns them into exact decimals (:func:`exact`) before comparing, so
``0.999`` means 999/1000 and not the nearest binary float.
"""

from __future__ import annotations

import enum
import math
from datetime import timedelta
from fractions import Fraction
from typing import Literal

import msgspec

from eventsapi.domain.sli import RouteMatch, Routes, selects

__all__ = [
    "DEFAULT_ALERT_POLICY",
    "DEFAULT_MIN_REQUESTS",
    "AlertPolicy",
    "AlertRule",
    "CalendarWindow",
    "RollingWindow",
    "RouteMatch",
    "Routes",
    "SLIKind",
    "SLOSpec",
    "Window",
    "default_slos",
    "exact",
    "selects",
]

_MINUTE = timedelta(minutes=1)


def exact(value: float | Fraction) -> Fraction:
    """The exact decimal a float was written as: ``exact(0.999) == Fraction(999, 1000)``.

    ``Fraction(0.999)`` would be the binary float, a hair off, and ``1 - 0.999`` in floats is
    ``0.0010000000000000009``, which would make an error ratio of exactly 1.44 % fall short of
    14.4 x the budget. Using the shortest ``repr`` (what a person typed) avoids that.
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    return Fraction(repr(value))


class SLIKind(enum.StrEnum):
    """What a bucket's ``bad`` count means for this SLO."""

    AVAILABILITY = "availability"
    """Good / total: ``bad`` counts failed requests (e.g. 5xx)."""
    LATENCY = "latency"
    """Share of requests under a threshold: ``bad`` counts requests slower than it."""


class RollingWindow(msgspec.Struct, frozen=True):
    """The last ``days`` days of completed minutes, moving with every minute."""

    days: int = 30

    def __post_init__(self) -> None:
        if isinstance(self.days, bool) or not isinstance(self.days, int) or self.days < 1:
            raise ValueError(f"a rolling window is a whole number of days >= 1, not {self.days!r}")

    @property
    def length(self) -> timedelta:
        """The window's length."""
        return timedelta(days=self.days)


class CalendarWindow(msgspec.Struct, frozen=True):
    """A calendar month or quarter in UTC, from its first minute to its last."""

    period: Literal["month", "quarter"] = "month"

    def __post_init__(self) -> None:
        if self.period not in ("month", "quarter"):
            raise ValueError(f"a calendar window is 'month' or 'quarter', not {self.period!r}")


Window = RollingWindow | CalendarWindow
"""The time window an SLO's target applies to."""


def _check_fraction(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} is a number, not {value!r}")
    if not math.isfinite(value) or not 0 < value < 1:
        raise ValueError(f"{name} is strictly between 0 and 1 (e.g. 0.999), not {value!r}")


class SLOSpec(msgspec.Struct, frozen=True):
    """One service level objective.

    ``target`` is the share of good requests promised over ``window`` (``0.999`` = 99.9 %).
    A ``LATENCY`` SLO needs ``threshold_ms``, the limit under which a request is good (a
    request taking exactly the threshold is good); an ``AVAILABILITY`` SLO must not have one.
    """

    name: str
    kind: SLIKind
    target: float
    window: Window = msgspec.field(default_factory=RollingWindow)
    routes: Routes = "all"
    threshold_ms: float | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("an SLO needs a name")
        msgspec.structs.force_setattr(self, "kind", SLIKind(self.kind))
        _check_fraction("target", self.target)
        if self.kind is SLIKind.LATENCY:
            if self.threshold_ms is None:
                raise ValueError("a latency SLO needs threshold_ms")
            if not math.isfinite(self.threshold_ms) or self.threshold_ms <= 0:
                raise ValueError(f"threshold_ms is positive, not {self.threshold_ms!r}")
        elif self.threshold_ms is not None:
            raise ValueError("threshold_ms applies to latency SLOs only")
        if self.routes != "all":
            routes = tuple(self.routes)
            if not routes:
                raise ValueError('an SLO selects "all" routes or at least one route')
            msgspec.structs.force_setattr(self, "routes", routes)


def default_slos() -> tuple[SLOSpec, SLOSpec]:
    """The SLOs that apply without a file: 99.9 % available, 99 % under 300 ms, 30 days."""
    return (
        SLOSpec(name="availability", kind=SLIKind.AVAILABILITY, target=0.999),
        SLOSpec(name="latency", kind=SLIKind.LATENCY, target=0.99, threshold_ms=300.0),
    )


class AlertRule(msgspec.Struct, frozen=True):
    """Fire when the burn rate over *both* windows is at least ``burn_rate``.

    ``severity`` is ``"page"`` (wake someone) or ``"ticket"`` (look at it in working hours).
    Both windows are whole minutes, and ``short_window`` is shorter than ``long_window``.
    """

    name: str
    severity: Literal["page", "ticket"]
    long_window: timedelta
    short_window: timedelta
    burn_rate: float

    def __post_init__(self) -> None:
        if self.severity not in ("page", "ticket"):
            raise ValueError(f"severity is 'page' or 'ticket', not {self.severity!r}")
        for window in (self.long_window, self.short_window):
            if window < _MINUTE or window % _MINUTE:
                raise ValueError(f"alert windows are whole minutes, not {window}")
        if self.short_window >= self.long_window:
            raise ValueError("the short window is shorter than the long one")
        if not math.isfinite(self.burn_rate) or self.burn_rate <= 0:
            raise ValueError(f"burn_rate is positive, not {self.burn_rate!r}")


DEFAULT_MIN_REQUESTS = 100
"""Requests the long window must hold before an alert may fire (the traffic guard).

Why 100: the most sensitive default pair is the fast page, 14.4 x the 0.1 % budget of a
99.9 % target, an error ratio of 1.44 %. Below 1 / 0.0144 ~ 70 requests a *single* failed
request crosses it by itself, so a service idle at night would page on one stray 500
(Pyrra issue 1925). With at least 100 requests it takes two bad requests (2 % >= 1.44 %,
1 % < 1.44 %) even in the worst case, and for the 99 % latency default (14.4 % ratio) it
takes fifteen. 100 requests per hour is also a low bar for any service worth paging about:
one request every 36 s. Raise it for busier services, lower it (0 disables the guard) for
services whose every request matters.
"""


class AlertPolicy(msgspec.Struct, frozen=True):
    """The alert rules evaluated for every SLO, and the traffic guard they share.

    An alert fires only when its long window holds at least ``min_requests`` requests.
    """

    rules: tuple[AlertRule, ...]
    min_requests: int = DEFAULT_MIN_REQUESTS

    def __post_init__(self) -> None:
        msgspec.structs.force_setattr(self, "rules", tuple(self.rules))
        if isinstance(self.min_requests, bool) or self.min_requests < 0:
            raise ValueError(f"min_requests is a count >= 0, not {self.min_requests!r}")
        names = [rule.name for rule in self.rules]
        if len(set(names)) != len(names):
            raise ValueError("alert rule names are unique")


DEFAULT_ALERT_POLICY = AlertPolicy(
    rules=(
        # Google SRE Workbook, "Alerting on SLOs", table 5-8.
        AlertRule("page-fast", "page", timedelta(hours=1), timedelta(minutes=5), 14.4),
        AlertRule("page-slow", "page", timedelta(hours=6), timedelta(minutes=30), 6.0),
        AlertRule("ticket-fast", "ticket", timedelta(days=1), timedelta(hours=2), 3.0),
        AlertRule("ticket-slow", "ticket", timedelta(days=3), timedelta(hours=6), 1.0),
    )
)
"""Table 5-8 of the SRE Workbook: 2 % of a 30-day budget in 1 h, 5 % in 6 h, 10 % in 1 d
and 10 % in 3 d, each confirmed by a short window of 1/12 of the long one."""
