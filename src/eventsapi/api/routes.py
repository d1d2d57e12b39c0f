"""A route declared once, and what is derived from it.

Each entry of the route table (``api/route_table.py``) is a ``Route``: its path template,
the rate-limit group of its requests, whether they count in the SLOs, its OpenAPI tag and
path parameters, and one ``Op`` per method: the handler, who may call it, and its OpenAPI
operation. From the table come, at start-up:

- Starlette's routes (``BoundTable.starlette``): one ``Route`` per path, dispatching on the
  method, so that a wrong method gets 405 with an ``Allow`` header listing every method of
  the path; every path answers ``OPTIONS`` (204 with ``Allow``). ``HEAD`` is answered by
  ``api/hotpath.py`` as a GET whose body is dropped, on every route, hot or not;
- the hot path's handlers (``BoundTable.hot``: the routes marked ``hot``);
- the rate-limit group of any path, routed or not (``RouteGroups``);
- the routes whose requests are not SLIs (``BoundTable.unrecorded``);
- the OpenAPI ``paths`` (``api/openapi.py``, ``openapi_paths``).

Adding a route is one entry in the table plus its handler.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp

from eventsapi.api.events import Handler

if TYPE_CHECKING:
    from eventsapi.api.account_tokens import TokensAPI
    from eventsapi.api.accounts import AccountsAPI
    from eventsapi.api.changes import ChangesAPI
    from eventsapi.api.events import EventsAPI
    from eventsapi.api.feeds import CalendarFeeds
    from eventsapi.api.registrations import RegistrationsAPI
    from eventsapi.api.store import EventStore
    from eventsapi.api.stream import StreamAPI
    from eventsapi.api.trash import TrashAPI
    from eventsapi.api.users import UsersAPI
    from eventsapi.api.webhooks import WebhooksAPI
    from eventsapi.slo.drill import Drill
    from eventsapi.slo.service import SLOService

Schema = dict[str, Any]

READS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
"""The methods of a route's read group."""


class Access(enum.Enum):
    """Who may call an operation. The handler enforces it (``Authn``); the table declares
    it, and the OpenAPI document states it (``security``, the 401 and 403 answers)."""

    ANYONE = "anyone"
    """No credentials are read: the document names no security."""
    READER = "reader"
    """Anyone; credentials, when sent, are checked (401 if not valid) and may show more
    (``domain/visibility.py``: what the reader may see)."""
    UNAUTHENTICATED = "unauthenticated"
    """Credentials are not asked for (the login): ``security: []``."""
    OPTIONAL = "optional"
    """With or without a session (the logout)."""
    WRITER = "writer"
    """An account with ``events:write``, or anyone while anonymous writes are on."""
    MEMBER = "member"
    """Any signed-in account, by session or API token."""
    SESSION = "session"
    """A login session: an API token gets 403."""
    ADMIN = "admin"
    """An account with the ``admin`` scope."""


SIGNED_IN_ACCESS: Final = frozenset({Access.MEMBER, Access.SESSION, Access.ADMIN})


class Limits(enum.Enum):
    """A route's rate-limit groups (setting ``rate_limits``): for reads (``GET``, ``HEAD``,
    ``OPTIONS``), then for the other methods; ``None``: never limited."""

    EVENTS = ("read", "write")
    AUTH = ("auth", "auth")
    OTHER = ("other", "other")
    NONE = (None, None)
    """The probes and the metrics: a refused probe would take a healthy replica out of its
    load balancer, and a refused scrape would blind the monitoring when traffic peaks."""

    def group(self, method: str) -> str | None:
        reads: str | None
        writes: str | None
        reads, writes = self.value
        return reads if method in READS else writes


class Services(msgspec.Struct, frozen=True, kw_only=True):
    """What the handlers of the table are bound to, made by ``create_app``."""

    events: EventsAPI
    trash: TrashAPI
    registrations: RegistrationsAPI
    feeds: CalendarFeeds
    changes: ChangesAPI
    accounts: AccountsAPI
    tokens: TokensAPI
    users: UsersAPI
    webhooks: WebhooksAPI
    store: EventStore
    slos: SLOService
    drill: Drill
    stream: StreamAPI | None = None
    """The live stream; ``None`` while it is off (``stream_limit`` 0)."""


Bind = Callable[[Services], Handler | None]
"""A handler bound to the services; ``None``: not served (``/metrics`` when it is off)."""


class Op(msgspec.Struct, frozen=True, kw_only=True, eq=False):
    """One method of a route: its handler, who may call it, and its OpenAPI operation.

    ``responses``: the operation's own answers, in the document's order; the answers every
    operation shares (``api/openapi.py``) follow them, and ``overrides`` replace some of
    those in place. ``document``: an operation made elsewhere (``api/openapi_slo.py``),
    used as it is. Without ``operation_id`` nor ``document`` the operation is not in the
    document (the document's own routes).
    """

    method: str
    handler: Bind
    access: Access
    operation_id: str | None = None
    summary: str = ""
    description: str | None = None
    parameters: Sequence[Schema] = ()
    body: Schema | None = None
    responses: Mapping[str, Schema] = msgspec.field(default_factory=dict)
    overrides: Mapping[str, Schema] = msgspec.field(default_factory=dict)
    document: Callable[[], Schema] | None = None

    @property
    def documented(self) -> bool:
        return self.operation_id is not None or self.document is not None


class Route(msgspec.Struct, frozen=True, kw_only=True, eq=False):
    """A path template and its methods. ``mount``: an ASGI app serving every path under
    ``path`` instead (static files); ``tag``: its OpenAPI tag (``None``: not described)."""

    path: str
    ops: tuple[Op, ...] = ()
    limits: Limits
    tag: str | None = None
    parameters: tuple[Schema, ...] = ()
    hot: bool = False
    """Served by ``api/hotpath.py`` ahead of Starlette (a trailing parameter at most)."""
    sli: bool = True
    """Whether its requests count in the SLOs (not the probes', not the scrapes')."""
    mount: Callable[[], ASGIApp] | None = None


class RouteGroups:
    """The rate-limit groups of any request path, from the table: the route's of a path
    without parameters, else those of its first segment's routes (``/events/...``,
    ``/auth/...``, ``/users/...``), else ``Limits.OTHER``."""

    def __init__(self, table: Sequence[Route]) -> None:
        self.exact: dict[str, Limits] = {}
        self.folders: dict[str, Limits] = {}
        self.hot_folder: str | None = None
        """The folder of the hot routes (``/events/``): the one to look at first."""
        for route in table:
            path = route.path
            deeper = path.find("/", 1) > 0
            if deeper or route.mount is not None:
                folder = self._folder(path if deeper else path + "/", route.limits)
                if route.hot and self.hot_folder is None:
                    self.hot_folder = folder
            elif "{" not in path:
                self.exact[path] = route.limits

    def _folder(self, folder: str, limits: Limits) -> str:
        folder = folder[: folder.find("/", 1) + 1]  # its first segment's
        known = self.folders.setdefault(folder, limits)
        if known is not limits:
            raise ValueError(f"The routes under {folder} are in different rate-limit groups.")
        return folder

    def limits_of(self, path: str) -> Limits:
        end = path.find("/", 1)
        if end > 0:
            return self.folders.get(path[: end + 1], Limits.OTHER)
        found = self.exact.get(path)
        return found if found is not None else self.folders.get(path + "/", Limits.OTHER)

    def group_of(self, method: str, path: str) -> str | None:
        """The rate-limit group of a request, or ``None`` for the routes never limited."""
        return self.limits_of(path).group(method)


def allow(methods: Sequence[str]) -> str:
    """The ``Allow`` field of a path with these methods: ``HEAD`` where ``GET`` is."""
    return ", ".join([*methods, *(["HEAD"] if "GET" in methods else []), "OPTIONS"])


class BoundTable:
    """The table's handlers bound to ``services``, and what the app serves from them.

    ``more``: routes made for ``services`` that join the table after its own (the web UI's
    pages, ``ui/routes.py``: they are not the API's, so the API does not import them).
    """

    def __init__(
        self,
        table: Sequence[Route],
        services: Services,
        *,
        more: Callable[[Services], Sequence[Route]] | None = None,
    ) -> None:
        if more is not None:
            table = (*table, *more(services))
        self.groups = RouteGroups(table)
        self.unrecorded = frozenset(route.path for route in table if not route.sli)
        self.starlette: list[BaseRoute] = []
        self.hot: dict[str, dict[str, Handler]] = {}
        for route in table:
            if route.mount is not None:
                self.starlette.append(Mount(route.path, route.mount()))
                continue
            handlers = {}
            for op in route.ops:
                handler = op.handler(services)
                if handler is not None:
                    handlers[op.method] = handler
            if not handlers:
                continue
            if route.hot:
                self.hot[route.path] = handlers
            self.starlette.append(_starlette_route(route.path, handlers))


def _starlette_route(path: str, handlers: dict[str, Handler]) -> StarletteRoute:
    handlers = {**handlers, "OPTIONS": _options(allow(list(handlers)))}

    async def dispatch(request: Request) -> Response:
        return await handlers[request.method](request)

    # Starlette adds HEAD where GET is: its 405s list it in Allow.
    return StarletteRoute(path, dispatch, methods=list(handlers))


def _options(allowed: str) -> Handler:
    async def options(request: Request) -> Response:
        return Response(status_code=204, headers={"Allow": allowed})

    return options
