"""The route table: every route of the service, declared once, in the document's order.

The event routes are in ``api/routes_events.py`` (the trash's in ``api/routes_trash.py``),
the account routes in ``api/routes_accounts.py``, the webhook routes in
``api/routes_webhooks.py``; here are the
service's own (welcome, probes, the document and its docs page, problem types), the SLO
routes, and the table they make together. What is derived from it, and how, is in
``api/routes.py``. To add a route: one entry here (or in one of those modules) and its
handler.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from eventsapi.api import meta, slo
from eventsapi.api.body import JSON
from eventsapi.api.openapi import COMMON_ERRORS, UNLIMITED_ERRORS, openapi_document, problem, ref
from eventsapi.api.openapi_slo import slo_paths
from eventsapi.api.routes import Access, Bind, Limits, Op, Route, Schema, StaticFolders
from eventsapi.api.routes_accounts import ACCOUNT_ROUTES
from eventsapi.api.routes_changes import CHANGE_ROUTES
from eventsapi.api.routes_events import EVENT_ROUTES
from eventsapi.api.routes_feeds import FEED_ROUTES
from eventsapi.api.routes_registrations import REGISTRATION_ROUTES
from eventsapi.api.routes_stream import STREAM_ROUTES
from eventsapi.api.routes_trash import TRASH_ROUTES
from eventsapi.api.routes_webhooks import WEBHOOK_ROUTES

__all__ = ["TABLE", "document"]

_SERVICE: Final = "service"


@functools.cache
def _slo_operations() -> dict[str, Schema]:
    """The operations of ``/slo``, ``/sla`` and ``/metrics``, as ``api/openapi_slo.py``
    makes them."""
    paths = slo_paths(
        COMMON_ERRORS,
        problem("A malformed period or an unknown query parameter"),
        problem("No SLA measures the SLO named"),
        UNLIMITED_ERRORS,
    )
    return {path: item["get"] for path, item in paths.items()}


def _probe(path: str, operation_id: str, summary: str, answer: str, handler: Bind) -> Route:
    return Route(
        path=path,
        limits=Limits.NONE,
        sli=False,
        tag=_SERVICE,
        ops=(
            Op(
                method="GET",
                handler=handler,
                access=Access.ANYONE,
                operation_id=operation_id,
                summary=summary,
                responses={
                    "200": {"description": answer, "content": {JSON: {"schema": ref("Health")}}}
                },
            ),
        ),
    )


def _docs_static() -> ASGIApp:
    static = resources.files("eventsapi.api").joinpath("static")
    # Swagger UI as vendored, and our own script that starts it (docs page: no inline script).
    return StaticFolders(str(static / "vendor" / "swagger-ui"), str(static / "docs"))


async def _openapi_json(request: Request) -> Response:
    # Whether event writes need credentials depends on where the service listens, and
    # on whether the request is local.
    anonymous_writes: bool = request.app.state.authn.anonymous_writes(request.scope)
    public_url: str = request.app.state.settings.public_url
    return Response(
        document(anonymous_writes=anonymous_writes, public_url=public_url), media_type=JSON
    )


def _slo_route(path: str, op: Op, *, limits: Limits = Limits.OTHER, sli: bool = True) -> Route:
    return Route(path=path, limits=limits, sli=sli, tag="slo", ops=(op,))


TABLE: Final[tuple[Route, ...]] = (
    Route(
        path="/",
        limits=Limits.OTHER,
        tag=_SERVICE,
        ops=(
            Op(
                method="GET",
                handler=lambda s: meta.welcome,
                access=Access.ANYONE,
                operation_id="welcome",
                summary="Welcome, with links to the API and its documentation",
                description="A browser, whose `Accept` prefers `text/html` to "
                "`application/json`, is sent to the web UI (`/ui/`) instead.",
                responses={
                    "200": {
                        "description": "Welcome",
                        "headers": {"Vary": {"schema": {"type": "string"}}},
                        "content": {JSON: {"schema": ref("Welcome")}},
                    },
                    "303": {
                        "description": "A browser is sent to the web UI",
                        "headers": {
                            "Location": {"required": True, "schema": {"type": "string"}},
                            "Vary": {"schema": {"type": "string"}},
                        },
                    },
                },
            ),
        ),
    ),
    # Before /events/{id}: /events/x.ics is the calendar of x (api/routes_feeds.py).
    *FEED_ROUTES,
    *EVENT_ROUTES,
    *TRASH_ROUTES,
    *REGISTRATION_ROUTES,
    *CHANGE_ROUTES,
    *STREAM_ROUTES,
    _probe(
        "/healthz",
        "healthz",
        "Liveness: the process answers",
        "Alive",
        lambda s: meta.healthz,
    ),
    _probe(
        "/readyz",
        "readyz",
        "Readiness: the database answers",
        "Ready",
        lambda s: meta.readyz_for(s.store),
    ),
    # The document and its docs page describe the API; they are not in it.
    Route(
        path="/openapi.json",
        limits=Limits.OTHER,
        ops=(Op(method="GET", handler=lambda s: _openapi_json, access=Access.ANYONE),),
    ),
    Route(
        path="/docs",
        limits=Limits.OTHER,
        ops=(Op(method="GET", handler=lambda s: meta.docs, access=Access.ANYONE),),
    ),
    Route(path="/docs/static", limits=Limits.OTHER, mount=_docs_static),
    Route(
        path="/problems/{slug}",
        limits=Limits.OTHER,
        ops=(Op(method="GET", handler=lambda s: meta.problem_type, access=Access.ANYONE),),
    ),
    *ACCOUNT_ROUTES,
    *WEBHOOK_ROUTES,
    _slo_route(
        "/sla",
        Op(
            method="GET",
            handler=lambda s: slo.sla(s.slos),
            access=Access.ANYONE,
            document=lambda: _slo_operations()["/sla"],
        ),
    ),
    _slo_route(
        "/slo",
        Op(
            method="GET",
            handler=lambda s: slo.slo_status(s.slos, s.drill),
            access=Access.ANYONE,
            document=lambda: _slo_operations()["/slo"],
        ),
    ),
    # Never limited, never an SLI: a scrape must not count in what it measures.
    _slo_route(
        "/metrics",
        Op(
            method="GET",
            handler=lambda s: None if s.slos.export is None else slo.metrics(s.slos, s.slos.export),
            access=Access.ANYONE,
            document=lambda: _slo_operations()["/metrics"],
        ),
        limits=Limits.NONE,
        sli=False,
    ),
)


@functools.cache
def document(*, anonymous_writes: bool, public_url: str = "") -> bytes:
    """The OpenAPI document of the table, encoded once for each mode of
    ``anonymous_writes`` (and ``public_url``)."""
    return openapi_document(TABLE, anonymous_writes=anonymous_writes, public_url=public_url)
