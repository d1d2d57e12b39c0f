"""The entry of every HTTP request: cross-cutting features, then the hot path or Starlette.

Starlette's routing and middleware cost about as much per request as the whole
of ``GET /events/{id}`` (see docs/architecture.md). ``EventsApp`` sends
requests for the hot routes of the route table (``Route.hot``: the event routes)
straight to the same handlers the router has, and renders errors with the same
``problems.from_error``, so responses are identical; anything else (other paths,
other methods, 405s, lifespan) goes through Starlette as usual.

Features that concern every response are therefore applied here, in one wrapper
(``EventsApp._answer``) in front of both paths, rather than as Starlette middleware
(which the hot path skips):

- bounds on slow clients (``api/slow_clients.py``), for every request that may have a body:
  a 429 for a client with too many such requests in flight already, and a deadline for the
  body;
- a request id (``api/request_ids.py``) in ``X-Request-Id`` and ``request.state``;
- the security fields (``api/security_headers.py``: nosniff, no framing, no referrer, CSP);
- who the client is (``api/clients.py``: its address and scheme, through trusted proxies),
  resolved first and kept in the scope for ``client_of``;
- rate limits (``api/ratelimits.py``): a 429 instead of the answer when the client is over
  its route group's limit, else the ``RateLimit`` and ``RateLimit-Policy`` fields;
- the access log (``api/access_log.py``), when the ``access_log`` setting is on;
- answers to ``HEAD``, on every route: answered as a GET (the handlers and the layers see
  GET), with the GET's headers and no body, whatever the server does;
- CORS (``api/cors.py``) and gzip (``api/compression.py``) when configured;
- the SLI recorder (``slo/recorder.py``): route template, method, status and duration of
  every answered request but the table's unrecorded routes, about a microsecond each (a
  stream's duration is the time to its head, ``api/stream.py``);
- the fault-injection drill (``slo/drill.py``) on the hot routes, when configured.

The common case (CORS off, no ``Accept-Encoding: gzip``) of a hot-path request
pays only for the id and the security fields: the handler's response gets its
headers directly, with no middleware and no wrapped ``send``. Everything else goes
through the "layered" app: CORS → gzip → dispatch (hot path or Starlette), with
``send`` wrapped once to add the id and the security fields. Either way a hot-path
request is answered by one function (``_respond``: the drill, the handler or the
problem its error makes). Starlette's own slash
redirects are replaced (``api/redirects.py``) so that no ``Location`` names the
request's ``Host``. Handlers must return a new ``Response`` per request, since its
headers are extended in place (Starlette's middleware does the same).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eventsapi.api import access_log, compression, cors, problems, redirects, request_ids
from eventsapi.api.clients import Proxies
from eventsapi.api.events import Handler
from eventsapi.api.ratelimits import Fields, RateLimits, Verify
from eventsapi.api.routes import BoundTable, allow
from eventsapi.api.security_headers import API as SECURITY_FIELDS
from eventsapi.api.security_headers import to_add as security_fields_for
from eventsapi.api.slow_clients import WITHOUT_BODY, SlowClients
from eventsapi.api.stream import HEAD_REQUEST, STREAM_STARTED
from eventsapi.settings import Settings
from eventsapi.slo.drill import Drill
from eventsapi.slo.recorder import UNMATCHED_ROUTE, Recorder

_ID_HEADER: Final = request_ids.HEADER
_VARY: Final = compression.VARY
_CLOSE: Final = (b"connection", b"close")
_ROUTE: Final = "eventsapi.route"  # scope key: the hot path's route template
_REFUSAL: Final = "eventsapi.refusal"  # scope key: the 429 a layered request gets instead
_clock: Final = time.perf_counter


def _route_template(scope: Scope) -> str:
    """The template of the route that answered (``/events/{id}``), never the raw path."""
    template = scope.get(_ROUTE)
    if template is None:
        # Starlette's router leaves the route it matched in the scope.
        template = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
    return template


class EventsApp(Starlette):
    """A Starlette application that serves the hot routes of ``table`` itself, first."""

    def __init__(
        self,
        table: BoundTable,
        settings: Settings,
        *,
        recorder: Recorder | None = None,
        drill: Drill | None = None,
        rate_limits: RateLimits | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(routes=table.starlette, **kwargs)
        redirects.install(self.router, settings.public_url)
        self.recorder = recorder
        self.unrecorded = table.unrecorded
        self.rate_limits = rate_limits if rate_limits is not None and rate_limits.active else None
        self.drill = drill if drill is not None and drill.active else None
        self.slow_clients = SlowClients(settings)
        self.hot_path = HotPath(table.hot)
        self.proxies = Proxies(settings.trusted_proxies)
        self.new_request_id = request_ids.generator()
        self.access_log = settings.access_log
        gzip = compression.middleware(self._dispatch, settings)
        with_cors = cors.middleware(gzip or self._dispatch, settings)
        self.layered: ASGIApp = with_cors or gzip or self._dispatch
        # Hot-path requests may skip the layers: always without CORS (every response
        # then varies by Origin), and without gzip when the request does not accept it.
        self.direct = with_cors is None
        self.gzip = gzip is not None
        # A hot-path response of this size or more gets Vary: Accept-Encoding.
        self.vary_from: int | None = settings.gzip_min_size if gzip is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # First: every later step (the in-flight cap, rate limits, logs) asks client_of.
        self.proxies.resolve(scope)
        if scope["method"] in WITHOUT_BODY:
            # Nothing to wait for from the client: its answer is written into granian's
            # buffers. Only requests with a body are timed and counted.
            await self._answer(scope, receive, send, None)
            return
        slow_clients = self.slow_clients
        receive = slow_clients.receive_before_deadline(receive)
        if not slow_clients.counts(scope):
            await self._answer(scope, receive, send, None)
            return
        key = slow_clients.admit(scope)
        if key is None:
            await self._answer(scope, receive, send, slow_clients.refusal())
            return
        try:
            await self._answer(scope, receive, send, None)
        finally:
            slow_clients.release(key)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, refusal: Response | None
    ) -> None:
        """Answer an HTTP request: with ``refusal`` if given (and no rate limit spent).

        The one wrapper of every request, hot path or Starlette: the request id, the rate
        limit, HEAD, then the answer, and its SLI and access log line.
        """
        started = _clock()
        request_id = None
        accepts_gzip = False
        for name, value in scope["headers"]:
            if name == _ID_HEADER:
                request_id = request_ids.from_client(value)
            elif name == b"accept-encoding":
                accepts_gzip = compression.accepts_gzip(value)
        if request_id is None:
            request_id = self.new_request_id()
        state = scope.get("state")  # request.state, for handlers and logs
        if state is None:
            scope["state"] = {"request_id": request_id}
        else:
            state["request_id"] = request_id
        id_header = (_ID_HEADER, request_id.encode())
        # None (not limited), the 429 to send, or the RateLimit fields to add.
        limited: Response | Fields | None = refusal
        rate_limits = self.rate_limits
        if rate_limits is not None and refusal is None:
            if rate_limits.limiter is None:  # in this process: no coroutine needed
                decided = rate_limits.decide(scope)
                if decided is Verify.FIRST:  # refused on the address, with a credential
                    limited = await rate_limits.after_verifying(scope)
                else:
                    limited = decided
            else:
                limited = await rate_limits.check(scope)
            if isinstance(limited, Response) and scope["method"] not in WITHOUT_BODY:
                # Refused before its body is read: the connection is closed (RFC 9112,
                # 9.6), so that a body still arriving, slowly or not, is not waited for.
                limited.raw_headers.append(_CLOSE)
        # HEAD is answered as a GET whose body is dropped, on every route: its headers are
        # the GET's, even where a layer decides them from the body (gzip of a static file).
        head = scope["method"] == "HEAD"
        if head:
            scope["method"] = "GET"
            scope[HEAD_REQUEST] = True  # a streamed response must end itself
        status: int | None = None
        try:
            handler = None
            if self.direct and not (accepts_gzip and self.gzip):
                handler = self.hot_path.handler(scope)
            if handler is not None:
                # The layers' work, done on the response itself (inline: this is the
                # benchmarked path, and each call or wrapped send costs).
                if isinstance(limited, Response):
                    response: Response | None = limited
                else:
                    response = await self._respond(handler, scope, receive)
                    if response is not None and limited is not None:
                        response.raw_headers += limited
                if response is not None:
                    status = response.status_code
                    response.raw_headers.append(id_header)
                    response.raw_headers += SECURITY_FIELDS
                    body = getattr(response, "body", None)  # None: streamed
                    vary_from = self.vary_from
                    if vary_from is not None and (body is None or len(body) >= vary_from):
                        response.raw_headers.append(_VARY)
                    if body and head:
                        response.body = b""  # Content-Length stays the GET body's
                    await response(scope, receive, send)
                return
            # The layers: CORS, gzip, then the hot path or Starlette (``_dispatch``), with
            # ``send`` wrapped once to add the id, the security and RateLimit fields.
            added = [id_header]
            if isinstance(limited, Response):
                # Answered by the innermost app, so that the layers apply to it (a
                # cross-origin page can read the 429 and its Retry-After).
                scope[_REFUSAL] = limited
            elif limited is not None:
                added += limited

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    headers = [*message.get("headers", ()), *added]
                    headers += security_fields_for(headers)
                    message = {**message, "headers": headers}
                elif head and message["type"] == "http.response.body" and message.get("body"):
                    message = {**message, "body": b""}
                await send(message)

            await self.layered(scope, receive, send_with_id)
        finally:
            if head:
                scope["method"] = "HEAD"
            if status is not None and self.recorder is not None:
                template = scope.get(_ROUTE) or _route_template(scope)
                if template not in self.unrecorded:
                    # A stream's latency is the time to its head: it lasts as long as its
                    # client likes, and is no slow request.
                    ended = scope.get(STREAM_STARTED) or _clock()
                    self.recorder.record(template, scope["method"], status, ended - started)
            if self.access_log:
                access_log.write(scope, status, started, request_id, _route_template(scope))

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The innermost app of the layers: the hot path, or else Starlette."""
        handler = self.hot_path.handler(scope)
        refusal: Response | None = scope.get(_REFUSAL)
        if refusal is not None:
            if handler is None:
                self._find_route(scope)
            await refusal(scope, receive, send)
            return
        if handler is None:
            await super().__call__(scope, receive, send)
            return
        response = await self._respond(handler, scope, receive)
        if response is not None:
            await response(scope, receive, send)

    async def _respond(self, handler: Handler, scope: Scope, receive: Receive) -> Response | None:
        """A hot-path request's response: the drill's failure, or the handler's, or the
        problem its error makes; ``None`` if the client left."""
        drill = self.drill
        if drill is not None:
            if drill.delays():
                await asyncio.sleep(drill.slow_seconds)
            if drill.fails():
                return problems.problem(
                    503,
                    "This failure was injected by a fault-injection drill (setting "
                    "drill_error_ratio); it is not a real outage.",
                    slug="drill-injected-failure",
                )
        request = Request(scope, receive)
        try:
            return await handler(request)
        except ClientDisconnect:
            return None
        except Exception as exc:  # noqa: BLE001 - every error becomes a problem response
            return problems.from_error(request, exc)

    def _find_route(self, scope: Scope) -> None:
        """Leave in ``scope`` the route Starlette would have chosen, for the SLI recorder's
        route template (the hot path's routes set theirs in ``HotPath.handler``)."""
        partial = None
        for route in self.router.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                return
            if match is Match.PARTIAL and partial is None:
                partial = route
        if partial is not None:
            scope["route"] = partial


class HotPath:
    """Finds the handler of a request for a hot route of the table (``/events``, ``/event``,
    ``/events/{id}``, ``/events.ics`` and ``/events/{id}.ics`` today): a path without
    parameters, or one whose last segment is the only parameter, which may be followed by
    a fixed suffix (``.ics``). A route with a suffix is tried before the same prefix
    without one, and owns every path it matches: ``PUT /events/x.ics`` is a 405 (the
    calendar of ``x`` is read only), not a write of an event ``x.ics``."""

    def __init__(self, routes: Mapping[str, Mapping[str, Handler]]) -> None:
        self.exact: dict[str, tuple[str, Mapping[str, Handler]]] = {}
        self.items: list[tuple[str, int, str, str, str, Mapping[str, Handler]]] = []
        self.refusals: dict[str, Handler] = {}
        for template, handlers in routes.items():
            start = template.find("{")
            end = template.find("}")
            if start < 0:
                self.exact[template] = (template, handlers)
            elif "/" not in template[start:] and "{" not in template[end:]:
                name, suffix = template[start + 1 : end], template[end + 1 :]
                self.items.append((template[:start], start, name, template, suffix, handlers))
                if suffix:
                    self.refusals[template] = _not_allowed(allow(list(handlers)))
            else:
                raise ValueError(f"The hot path serves no route like {template}.")
        # The longest suffix first: /events/x.ics is the calendar of x, not the event x.ics.
        self.items.sort(key=lambda item: -len(item[4]))

    def handler(self, scope: Scope) -> Handler | None:
        """The handler for this request, or ``None`` to leave it to the router."""
        path: str = scope["path"]
        for prefix, length, name, template, suffix, handlers in self.items:
            if path.startswith(prefix) and path.endswith(suffix):
                value = path[length : len(path) - len(suffix)]
                if value and "/" not in value:
                    method = scope["method"]
                    handler = handlers.get(method)
                    if handler is None and suffix and method != "OPTIONS":
                        # Starlette would go on to /events/{id}, which takes any segment
                        handler = self.refusals[template]
                    if handler is not None:
                        scope["path_params"] = {name: value}
                        scope[_ROUTE] = template
                    return handler
        found = self.exact.get(path)
        if found is None:
            return None
        template, handlers = found
        scope[_ROUTE] = template
        return handlers.get(scope["method"])


def _not_allowed(allowed: str) -> Handler:
    """A handler answering 405 with ``Allow``, as Starlette's router does."""

    async def refuse(request: Request) -> Response:
        raise HTTPException(status_code=405, headers={"Allow": allowed})

    return refuse
