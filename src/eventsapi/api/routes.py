"""The URL map. Hot routes come first: Starlette tries routes in order.

One ``Route`` per path, dispatching on the method, so that a wrong method gets
405 with an ``Allow`` header listing every method of the path.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from eventsapi.api import meta
from eventsapi.api.events import EventsAPI, Handler, with_head
from eventsapi.storage.base import EventStore


def _by_method(handlers: dict[str, Handler]) -> Handler:
    async def dispatch(request: Request) -> Response:
        return await handlers[request.method](request)

    return dispatch


def _route(path: str, handlers: dict[str, Handler]) -> Route:
    handlers = with_head(handlers)
    return Route(path, _by_method(handlers), methods=list(handlers))


def routes(events: EventsAPI, store: EventStore) -> list[BaseRoute]:
    static = resources.files("eventsapi.api").joinpath("static/vendor/swagger-ui")
    return [
        *(_route(path, handlers) for path, handlers in events.handlers().items()),
        _route("/", {"GET": meta.welcome}),
        _route("/healthz", {"GET": meta.healthz}),
        _route("/readyz", {"GET": meta.readyz_for(store)}),
        _route("/openapi.json", {"GET": meta.openapi}),
        _route("/docs", {"GET": meta.docs}),
        Mount("/docs/static", StaticFiles(directory=str(static)), name="docs_static"),
        _route("/problems/{slug}", {"GET": meta.problem_type}),
    ]
