"""The SLO status as JSON gives it (``GET /slo``, ``eventsapi slo status --format json``).

These structs are the only statement of the shape: the service builds them, the API and the
CLI encode or read them, and the OpenAPI schemas are generated from them
(``msgspec.json.schema_components``), so the document cannot drift from the bytes sent. The
constraints (``Meta``) are there for the document; nothing decodes these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

__all__ = [
    "SLOAlert",
    "SLOAlertTransition",
    "SLOCalendarWindow",
    "SLOErrorBudget",
    "SLOReport",
    "SLORequests",
    "SLORollingWindow",
    "SLORoute",
    "SLOState",
    "SLOStatus",
]

Instant = Annotated[datetime, Meta(tz=True)]  # documented as format: date-time
Ratio = Annotated[float, Meta(ge=0, le=1)]
Rate = Annotated[float, Meta(ge=0)]
Count = Annotated[int, Meta(ge=0)]
WindowLabel = Annotated[str, Meta(pattern="^[0-9]+[mhd]$")]
Severity = Literal["page", "ticket"]


class SLOAlert(msgspec.Struct, frozen=True):
    """An alert rule of an SLO, evaluated at the last completed minute."""

    name: str
    severity: Severity
    firing: bool
    burn_rate_threshold: Annotated[float, Meta(gt=0)]
    long_window: WindowLabel
    short_window: WindowLabel
    long_burn_rate: Rate | None
    short_burn_rate: Rate | None
    long_requests: Count
    enough_traffic: bool


class SLOAlertTransition(msgspec.Struct, frozen=True):
    """An alert that started or stopped firing, at the minute it was evaluated."""

    slo: str
    alert: str
    severity: Severity
    state: Literal["firing", "resolved"]
    at: Instant
    long_burn_rate: Rate | None
    short_burn_rate: Rate | None


class SLORollingWindow(msgspec.Struct, frozen=True, tag_field="type", tag="rolling"):
    """The trailing window of an SLO (``30d``) and its bounds at the evaluated minute."""

    length: WindowLabel
    start: Instant
    end: Instant


class SLOCalendarWindow(msgspec.Struct, frozen=True, tag_field="type", tag="calendar"):
    """The calendar month or quarter (UTC) of an SLO that holds the evaluated minute."""

    period: Literal["month", "quarter"]
    start: Instant
    end: Instant


class SLORoute(msgspec.Struct, frozen=True):
    """A route template an SLO measures, and its methods (none: every method)."""

    route: str
    methods: list[str]


class SLORequests(msgspec.Struct, frozen=True):
    """The requests in the SLO's window, and how many of them were bad."""

    total: Count
    bad: Count


class SLOErrorBudget(msgspec.Struct, frozen=True):
    """The error budget of the window, as request counts and as fractions of the budget."""

    allowed_ratio: float
    total_requests: float
    consumed_requests: int
    remaining_requests: float
    consumed: float | None
    remaining: float | None


class SLOState(msgspec.Struct, frozen=True):
    """One SLO: its definition, its SLI, error budget, burn rates and alerts."""

    name: str
    kind: Literal["availability", "latency"]
    target: Annotated[float, Meta(gt=0, lt=1)]
    threshold_ms: float | None
    window: SLORollingWindow | SLOCalendarWindow
    routes: Literal["all"] | list[SLORoute]
    sli: Annotated[
        Ratio | None, Meta(description="Good / total over the window; null without traffic")
    ]
    requests: SLORequests
    error_budget: SLOErrorBudget
    burn_rates: dict[str, Rate | None]
    alerts: list[SLOAlert]


class SLOReport(msgspec.Struct, frozen=True):
    """Every SLO at the last completed minute, and the alert history (what the service
    computes, the same on every replica)."""

    evaluated_at: Instant
    slos: list[SLOState]
    history: list[SLOAlertTransition]


class SLOStatus(SLOReport, frozen=True):
    """The SLOs at the last completed minute, the alert history, and this process's
    fault-injection drill (``GET /slo``)."""

    drill: Annotated[
        str | None, Meta(description="The fault-injection drill in effect; null when off")
    ]
