"""``GET /slo`` (objectives, budgets, burn rates, alerts), ``GET /sla`` (SLA reports of a
calendar period) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.body import JSON
from eventsapi.api.parameters import single_values
from eventsapi.errors import BadRequest
from eventsapi.slo.drill import Drill
from eventsapi.slo.prometheus import CONTENT_TYPE, PrometheusExport
from eventsapi.slo.service import SLOService, sla_reports
from eventsapi.slo.sla import parse_period, period_label, select_contracts
from eventsapi.slo.spec import CalendarWindow
from eventsapi.slo.windows import calendar_period_bounds
from eventsapi.slo.wire import SLOStatus

Handler = Callable[[Request], Awaitable[Response]]

_encode = msgspec.json.Encoder().encode

PERIOD: Final = re.compile(r"2[0-9]{3}-(0[1-9]|1[0-2]|Q[1-4])")
"""A month or a quarter of this millennium (the OpenAPI document states the same pattern)."""


def slo_status(slo: SLOService, drill: Drill) -> Handler:
    async def status(request: Request) -> Response:
        report = await slo.status()
        body = SLOStatus(
            evaluated_at=report.evaluated_at,
            slos=report.slos,
            history=report.history,
            drill=drill.describe() if drill.active else None,
        )
        # Numbers change once a minute; a cache may keep them a few seconds, no longer.
        return Response(_encode(body), media_type=JSON, headers={"Cache-Control": "max-age=5"})

    return status


def sla(slo: SLOService) -> Handler:
    async def reports(request: Request) -> Response:
        params = single_values(request.query_params, ("period", "slo"))
        now = slo.clock()
        text = params.get("period")
        if text is None:
            text = period_label(*calendar_period_bounds(CalendarWindow("month"), now))
        if PERIOD.fullmatch(text) is None:
            raise BadRequest(
                f"period is a month like 2026-11 or a quarter like 2026-Q4 of the years "
                f"2000 to 2999, not {text!r}.",
                parameter="period",
            )
        start, end = parse_period(text)
        contracts = select_contracts(slo.config.contracts, text, params.get("slo"))
        found = await sla_reports(slo.store, slo.config, contracts, start, end, now)
        return Response(_encode(found), media_type=JSON, headers={"Cache-Control": "max-age=5"})

    return reports


def metrics(slo: SLOService, export: PrometheusExport) -> Handler:
    async def exposition(request: Request) -> Response:
        slo.flush_metrics()  # this worker's latest counts; the others' are at most 1 s old
        body = export.exposition()
        return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    return exposition
