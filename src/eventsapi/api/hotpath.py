"""Direct dispatch of the events routes, ahead of Starlette's router.

Starlette's routing and exception middleware cost about as much per request
as the whole of ``GET /events/{id}`` (see docs/benchmarks.md). This middleware
sends requests for the event routes straight to the same handlers the router
uses, and renders errors with the same ``problems.from_error``, so responses
are identical; anything else (other paths, other methods, 405s) goes on to
the router.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from eventsapi.api import problems
from eventsapi.api.events import EventsAPI

Handler = Callable[[Request], Awaitable[Response]]
_ITEM_PREFIX: Final = "/events/"


class HotPath:
    """Pure ASGI middleware: ``/events``, ``/event`` and ``/events/{id}``."""

    def __init__(self, app: ASGIApp, events: EventsAPI) -> None:
        self.app = app
        self.item: dict[str, Handler] = {
            "GET": events.get_event,
            "HEAD": events.get_event,
            "PUT": events.put_event,
            "PATCH": events.patch_event,
            "DELETE": events.delete_event,
        }
        self.collection: dict[str, Handler] = {
            "GET": events.list_events,
            "HEAD": events.list_events,
            "POST": events.create_event,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = self._handler(scope)
            if handler is not None:
                await self._serve(handler, scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _handler(self, scope: Scope) -> Handler | None:
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
        if path == "/event" and method == "POST":
            return self.collection["POST"]
        return None

    @staticmethod
    async def _serve(handler: Handler, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except ClientDisconnect:
            return
        except Exception as exc:  # noqa: BLE001 - every error becomes a problem response
            response = problems.from_error(request, exc)
        await response(scope, receive, send)
