"""The URL map. Hot routes come first: Starlette tries routes in order.

One ``Route`` per path, dispatching on the method, so that a wrong method gets
405 with an ``Allow`` header listing every method of the path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from eventsapi.api import meta
from eventsapi.api.events import EventsAPI
from eventsapi.storage.base import EventStore

Endpoint = Callable[[Request], Awaitable[Response]]


def _by_method(handlers: dict[str, Endpoint]) -> Endpoint:
    if "GET" in handlers:
        handlers["HEAD"] = handlers["GET"]

    async def dispatch(request: Request) -> Response:
        return await handlers[request.method](request)

    return dispatch


def _route(path: str, handlers: dict[str, Endpoint]) -> Route:
    return Route(path, _by_method(handlers), methods=list(handlers))


def routes(events: EventsAPI, store: EventStore) -> list[BaseRoute]:
    static = resources.files("eventsapi.api").joinpath("static/vendor/swagger-ui")
    return [
        _route(
            "/events/{id}",
            {
                "GET": events.get_event,
                "PUT": events.put_event,
                "PATCH": events.patch_event,
                "DELETE": events.delete_event,
            },
        ),
        _route("/events", {"GET": events.list_events, "POST": events.create_event}),
        _route("/event", {"POST": events.create_event}),
        _route("/", {"GET": meta.welcome}),
        _route("/healthz", {"GET": meta.healthz}),
        _route("/readyz", {"GET": meta.readyz_for(store)}),
        _route("/openapi.json", {"GET": meta.openapi}),
        _route("/docs", {"GET": meta.docs}),
        Mount("/docs/static", StaticFiles(directory=str(static)), name="docs_static"),
        _route("/problems/{slug}", {"GET": meta.problem_type}),
    ]
