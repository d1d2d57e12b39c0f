"""What the service records about its own requests, and what it stores about its alerts.

The recorder (:mod:`eventsapi.slo.recorder`) counts requests per minute, route template and
method; the store adds those counts up across workers and replicas (``SLIStore.record_sli``,
``slo/store.py``) and reads them back summed per minute over a selection of routes
(``SLIStore.sli_minutes``). Nothing here does I/O: the SLO engine and the stores share these
types, and neither imports the other.

Latency is kept as a cumulative histogram over :data:`LATENCY_BOUNDS_MS`: ``within[i]`` is the
number of requests that took at most ``LATENCY_BOUNDS_MS[i]`` milliseconds. A latency SLO's
threshold must be one of these bounds (the same rule as a Prometheus histogram's ``le``), so
``/metrics``, the generated Prometheus rules and ``GET /slo`` all count the same requests.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime
from typing import Final, Literal

import msgspec

__all__ = [
    "LATENCY_BOUNDS_MS",
    "AlertTransition",
    "MinuteTotals",
    "RouteMatch",
    "Routes",
    "SLIRow",
    "bound_index",
    "epoch_minute",
    "from_epoch_minute",
    "selects",
]

LATENCY_BOUNDS_MS: Final[tuple[int, ...]] = (
    5, 10, 25, 50, 100, 200, 250, 300, 400, 500, 750, 1000, 2000, 2500, 5000, 10000,
)  # fmt: skip
"""The latency histogram's upper bounds, in milliseconds (``le`` in Prometheus, in seconds)."""


def bound_index(threshold_ms: float) -> int:
    """The index of ``threshold_ms`` in :data:`LATENCY_BOUNDS_MS`; ``ValueError`` if absent."""
    index = bisect.bisect_left(LATENCY_BOUNDS_MS, threshold_ms)
    if index == len(LATENCY_BOUNDS_MS) or LATENCY_BOUNDS_MS[index] != threshold_ms:
        bounds = ", ".join(map(str, LATENCY_BOUNDS_MS))
        raise ValueError(
            f"a latency threshold is one of the histogram's bounds ({bounds} ms), "
            f"not {threshold_ms:g}"
        )
    return index


def epoch_minute(minute: datetime) -> int:
    """Whole minutes since 1970-01-01T00:00Z (how the stores key a minute)."""
    return int(minute.timestamp()) // 60


def from_epoch_minute(value: int) -> datetime:
    """The aware UTC datetime of an :func:`epoch_minute`."""
    return datetime.fromtimestamp(value * 60, UTC)


class SLIRow(msgspec.Struct, frozen=True):
    """Requests to one route template and method during one minute.

    From one worker (what the recorder hands the store, to be *added* to what other workers
    and replicas recorded for the same minute, route and method).

    - ``minute``: aware UTC datetime on a whole minute.
    - ``route``: the route template as the router spells it (``/events/{id}``).
    - ``method``: upper case (``HEAD`` is recorded as itself).
    - ``total``: requests answered; ``errors``: those whose status counts as an error
      (setting ``sli_error_statuses``, 5xx by default).
    - ``within``: ``within[i]`` requests took at most ``LATENCY_BOUNDS_MS[i]`` ms; cumulative,
      so non-decreasing and at most ``total``; exactly ``len(LATENCY_BOUNDS_MS)`` long.
    """

    minute: datetime
    route: str
    method: str
    total: int
    errors: int
    within: tuple[int, ...]


class MinuteTotals(msgspec.Struct, frozen=True):
    """One minute's requests summed over every route selected, every worker and replica.

    The same fields as :class:`SLIRow` without route and method.
    """

    minute: datetime
    total: int
    errors: int
    within: tuple[int, ...]


class AlertTransition(msgspec.Struct, frozen=True):
    """An alert rule of an SLO starting or stopping to fire, at the minute it was evaluated.

    Stored once per ``(slo, rule, at)`` whichever replica evaluates first; that replica
    notifies (webhook and log), so a transition is announced once however many replicas run.
    """

    slo: str
    rule: str
    severity: Literal["page", "ticket"]
    at: datetime
    """The evaluation instant: a whole minute, aware UTC."""
    firing: bool
    """True: started firing; false: resolved."""
    long_burn_rate: float | None
    short_burn_rate: float | None


class RouteMatch(msgspec.Struct, frozen=True):
    """A route template (as the router spells it, e.g. ``/events/{id}``) and its methods.

    ``methods`` empty means every method. Methods are compared upper-cased.
    """

    template: str
    methods: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.template.startswith("/"):
            raise ValueError(f"a route template starts with '/', not {self.template!r}")
        msgspec.structs.force_setattr(self, "methods", frozenset(m.upper() for m in self.methods))


Routes = Literal["all"] | tuple[RouteMatch, ...]
"""Which requests an SLO measures: ``"all"`` or the routes listed."""


def selects(routes: Routes, template: str, method: str) -> bool:
    """Whether a request to ``template`` with ``method`` belongs to the selection ``routes``."""
    if routes == "all":
        return True
    method = method.upper()
    return any(
        match.template == template and (not match.methods or method in match.methods)
        for match in routes
    )
