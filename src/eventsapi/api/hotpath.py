"""Direct dispatch of the events routes, ahead of Starlette's middleware and router.

Starlette's routing and middleware cost about as much per request as the whole
of ``GET /events/{id}`` (see docs/architecture.md). ``EventsApp`` sends
requests for the event routes straight to the same handlers the router uses,
and renders errors with the same ``problems.from_error``, so responses are
identical; anything else (other paths, other methods, 405s, lifespan) goes
through Starlette as usual.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope, Send

from eventsapi.api import problems
from eventsapi.api.events import EventsAPI, Handler

_ITEM_PREFIX: Final = "/events/"


class EventsApp(Starlette):
    """A Starlette application that serves the event routes itself, first."""

    def __init__(self, events: EventsAPI, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hot_path = HotPath(events)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = self.hot_path.handler(scope)
            if handler is not None:
                await self.hot_path.serve(handler, scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class HotPath:
    """Finds the handler of ``/events``, ``/event`` and ``/events/{id}`` requests."""

    def __init__(self, events: EventsAPI) -> None:
        handlers = events.handlers()
        self.item = handlers["/events/{id}"]
        self.collection = handlers["/events"]
        self.tutorial = handlers["/event"]

    def handler(self, scope: Scope) -> Handler | None:
        """The handler for this request, or ``None`` to leave it to the router."""
        path: str = scope["path"]
        method: str = scope["method"]
        if path.startswith(_ITEM_PREFIX):
            event_id = path[len(_ITEM_PREFIX) :]
            if not event_id or "/" in event_id:
                return None
            handler = self.item.get(method)
            if handler is not None:
                scope["path_params"] = {"id": event_id}
            return handler
        if path == "/events":
            return self.collection.get(method)
        if path == "/event":
            return self.tutorial.get(method)
        return None

    @staticmethod
    async def serve(handler: Handler, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except ClientDisconnect:
            return
        except Exception as exc:  # noqa: BLE001 - every error becomes a problem response
            response = problems.from_error(request, exc)
        await response(scope, receive, send)
