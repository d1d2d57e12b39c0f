"""The SLO dashboard, ``/ui/slo``: per SLO its SLI against the target, the error budget
left, burn rates per window, a 30-day burn-down chart, its alerts; the alerts that fired
and resolved; this month's SLA report with its credit tier; a banner while a drill runs.

The numbers are ``GET /slo``'s and ``GET /sla``'s (their handlers, called in process), so
the page says what the API and ``eventsapi slo status`` say; who may read them may read the
page (anyone: ``/slo`` is public). The burn-down is the SLO engine's
(``SLOService.budget_history``), drawn here as SVG (``charts.py``).
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.slo import sla, slo_status
from eventsapi.slo.drill import Drill
from eventsapi.slo.service import BudgetPoint, SLOService
from eventsapi.ui.api_calls import call
from eventsapi.ui.charts import Point, line_chart
from eventsapi.ui.visits import Visits

__all__ = ["SLOPage", "percent"]

BURN_DOWN_DAYS: Final = 30
HOURS_A_DAY: Final = 24


def percent(value: float | None, digits: int = 3) -> str:
    """A ratio as a percentage (``0.99912`` → ``99.912 %``); ``—`` for none."""
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f} %"


def rate(value: float | None) -> str:
    """A burn rate (``14.40``); ``—`` without traffic."""
    return "—" if value is None else f"{value:.2f}"


class SLOPage:
    """``GET /ui/slo``."""

    def __init__(self, visits: Visits, slos: SLOService, drill: Drill) -> None:
        self.visits = visits
        self.slos = slos
        self.status = slo_status(slos, drill)
        self.sla = sla(slos)

    async def show(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        answer = await call(self.status, request, "GET", "/slo")
        if not answer.ok:
            problem = answer.problem()
            return self.visits.page(
                visit, "error.html", {"problem": problem}, status=problem.status
            )
        status: dict[str, Any] = answer.json()
        reports = await call(self.sla, request, "GET", "/sla")
        by_slo: dict[str, dict[str, Any]] = (
            {r["slo"]: r for r in reports.json()} if reports.ok else {}
        )
        period = next((r["period"] for r in by_slo.values()), None)
        slos = [await self._slo(state, by_slo.get(state["name"])) for state in status["slos"]]
        context = {
            "status": status,
            "slos": slos,
            "period": period,
            "history": status["history"],
            "percent": percent,
            "rate": rate,
        }
        return self.visits.page(visit, "slo.html", context)

    async def _slo(self, state: dict[str, Any], report: dict[str, Any] | None) -> dict[str, Any]:
        name: str = state["name"]
        points = await self.slos.budget_history(name, days=BURN_DOWN_DAYS)
        chart_id = f"burn-down-{_slug(name)}"
        return {
            "state": state,
            "id": _slug(name),
            "description": self.slos.config.description(name),
            "chart": line_chart(
                [Point(p.at, p.remaining) for p in points],
                chart_id=chart_id,
                title=f"Error budget left of {name}, last {BURN_DOWN_DAYS} days",
                description=_describe(points),
                value_label=lambda v: percent(v, 0),
                floor=0.0,
                ceiling=1.0,
            ),
            "days": points[::HOURS_A_DAY][-BURN_DOWN_DAYS - 1 :],
            "report": report,
            "tiers": self._tiers(name, report),
        }

    def _tiers(self, name: str, report: dict[str, Any] | None) -> list[dict[str, Any]]:
        """The SLA's credit tiers (largest credit first), the one owed marked."""
        if report is None:
            return []
        contract = next(
            (c for c in self.slos.config.contracts if c.slo == name and c.period == "month"),
            None,
        )
        if contract is None:
            return []
        owed = report["credit_percent"]
        return [
            {"below": tier.below, "credit": tier.credit, "owed": owed and tier.credit == owed}
            for tier in sorted(contract.credits, key=lambda t: t.credit, reverse=True)
        ]


def _describe(points: list[BudgetPoint]) -> str:
    first, last = points[0], points[-1]
    start = "no traffic" if first.remaining is None else f"{percent(first.remaining, 1)} left"
    end = "no traffic" if last.remaining is None else f"{percent(last.remaining, 1)} left"
    return (
        f"From {first.at:%d %b %Y %H:%M} UTC ({start}) to {last.at:%d %b %Y %H:%M} UTC "
        f"({end}), one point an hour. The table below has the daily values."
    )


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower())
