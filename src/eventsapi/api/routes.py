"""The URL map. Hot routes come first: Starlette tries routes in order.

One ``Route`` per path, dispatching on the method, so that a wrong method gets
405 with an ``Allow`` header listing every method of the path. Every path
answers ``HEAD`` (with its GET handler) and ``OPTIONS`` (204 with ``Allow``);
the event routes' ``OPTIONS`` comes here too, as the hot path serves only the
methods of ``EventsAPI.handlers()``.
"""

from __future__ import annotations

from importlib import resources
from typing import Final

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from eventsapi.api import meta, slo
from eventsapi.api.account_tokens import TokensAPI
from eventsapi.api.accounts import AccountsAPI
from eventsapi.api.authn import Authn
from eventsapi.api.events import EventsAPI, Handler, with_head
from eventsapi.api.users import UsersAPI
from eventsapi.slo.drill import Drill
from eventsapi.slo.service import SLOService
from eventsapi.storage.base import EventStore


def _by_method(handlers: dict[str, Handler]) -> Handler:
    async def dispatch(request: Request) -> Response:
        return await handlers[request.method](request)

    return dispatch


def _options(allow: str) -> Handler:
    async def options(request: Request) -> Response:
        return Response(status_code=204, headers={"Allow": allow})

    return options


def _route(path: str, handlers: dict[str, Handler]) -> Route:
    handlers = with_head(handlers)
    handlers = {**handlers, "OPTIONS": _options(", ".join([*handlers, "OPTIONS"]))}
    return Route(path, _by_method(handlers), methods=list(handlers))


class _StaticFiles(StaticFiles):
    """Static files from several folders (the first that has the file serves it), which
    answer ``OPTIONS`` too, and list it in the 405's ``Allow``."""

    ALLOW: Final = "GET, HEAD, OPTIONS"

    def __init__(self, *directories: str) -> None:
        super().__init__(directory=directories[0])
        self.all_directories = list(directories)

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] == "OPTIONS":
            await super().get_response(path, {**scope, "method": "HEAD"})  # 404 if missing
            return Response(status_code=204, headers={"Allow": self.ALLOW})
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, headers={"Allow": self.ALLOW})
        return await super().get_response(path, scope)


def routes(
    events: EventsAPI, store: EventStore, slos: SLOService, drill: Drill, authn: Authn
) -> list[BaseRoute]:
    static = resources.files("eventsapi.api").joinpath("static")
    # Swagger UI as vendored, and our own script that starts it (docs page: no inline script).
    docs_static = _StaticFiles(str(static / "vendor" / "swagger-ui"), str(static / "docs"))
    export = slos.export
    metrics = [_route("/metrics", {"GET": slo.metrics(slos, export)})] if export else []
    limit = events.settings.max_body_bytes
    accounts = {
        **AccountsAPI(authn, max_body_bytes=limit).handlers(),
        **TokensAPI(authn, max_body_bytes=limit).handlers(),
        **UsersAPI(authn, max_body_bytes=limit).handlers(),
    }
    return [
        *(_route(path, handlers) for path, handlers in events.handlers().items()),
        _route("/", {"GET": meta.welcome}),
        _route("/healthz", {"GET": meta.healthz}),
        _route("/readyz", {"GET": meta.readyz_for(store)}),
        _route("/openapi.json", {"GET": meta.openapi}),
        _route("/docs", {"GET": meta.docs}),
        Mount("/docs/static", docs_static, name="docs_static"),
        _route("/problems/{slug}", {"GET": meta.problem_type}),
        _route("/slo", {"GET": slo.slo_status(slos, drill)}),
        _route("/sla", {"GET": slo.sla(slos)}),
        *metrics,
        *(_route(path, handlers) for path, handlers in accounts.items()),
    ]
