"""The UI's routes, which join the service's route table (``app.py``: ``BoundTable``'s
``more``).

They are ``Route`` entries like the API's (``api/routes.py``), so the service's front
treats them as it does every route: security fields, request ids, HEAD and OPTIONS, the
access log, SLIs and rate limits. They declare no OpenAPI operation, so the API's document
does not list them (it is made from ``api/route_table.TABLE`` only), and none is on the hot
path. Their paths and methods are declared here; the pages that answer them
(``ui/pages.py``) are made at the first request to one.

**Rate limits.** Every route under ``/ui/`` shares one group pair (``RouteGroups`` keeps one
per first segment), ``Limits.EVENTS``: a page is a read of events (``read``), a form a
change (``write``), as the API calls they make. The sign-in form is a ``write`` too, not an
``auth``: guessing passwords through it is bounded where the API's login is, by the
per-account and per-client failure budgets the login itself keeps in the database
(``auth/throttle.py``), which count the UI's attempts with the API's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.events import Handler
from eventsapi.api.routes import Access, Bind, Limits, Op, Route, Services

if TYPE_CHECKING:
    from eventsapi.ui.pages import Pages

__all__ = ["ui_routes"]

Pick = Callable[["Pages"], Handler]
"""A page's handler among the page families."""


class _Lazily:
    """The page families, made at the first request to a page: the UI's modules (and
    MarkupSafe) stay out of a service that serves only the API (docs/benchmarks.md,
    "Start-up and idle memory, continued")."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._pages: Pages | None = None

    def pages(self) -> Pages:
        if self._pages is None:
            from eventsapi.ui.pages import Pages

            self._pages = Pages(self._services)
        return self._pages

    def handler(self, pick: Pick, *, guarded: bool = True) -> Handler:
        """The handler ``pick`` chooses, found at its first request."""
        found: Handler | None = None

        async def page(request: Request) -> Response:
            nonlocal found
            if found is None:
                pages = self.pages()
                found = pages.visits.guarded(pick(pages)) if guarded else pick(pages)
            return await found(request)

        return page


def ui_routes(services: Services) -> tuple[Route, ...]:
    """The table entries of the UI's pages, bound to ``services``."""
    lazily = _Lazily(services)

    def route(path: str, *methods: tuple[str, Pick]) -> Route:
        return Route(
            path=path,
            limits=Limits.EVENTS,
            ops=tuple(
                Op(method=method, handler=_bound(lazily.handler(pick)), access=Access.ANYONE)
                for method, pick in methods
            ),
        )

    return (
        route("/ui/", ("GET", lambda p: p.events_list.show)),
        route(
            "/ui/new-event",
            ("GET", lambda p: p.create_event.form),
            ("POST", lambda p: p.create_event.create),
        ),
        route("/ui/events/{id}", ("GET", lambda p: p.event.show)),
        route("/ui/calendar", ("GET", lambda p: p.calendar.show)),
        route("/ui/events/{id}/register", ("POST", lambda p: p.event.register)),
        route("/ui/events/{id}/cancel", ("POST", lambda p: p.event.cancel)),
        # The owner's pages and the trash (owner_pages.py, trash_page.py).
        route(
            "/ui/events/{id}/edit",
            ("GET", lambda p: p.owner.edit_form),
            ("POST", lambda p: p.owner.save),
        ),
        route("/ui/events/{id}/registrations", ("GET", lambda p: p.owner.registrations)),
        route("/ui/events/{id}/registrations.csv", ("GET", lambda p: p.owner.registrations_csv)),
        route("/ui/events/{id}/delete", ("POST", lambda p: p.owner.delete)),
        route("/ui/trash", ("GET", lambda p: p.trash.show)),
        route("/ui/trash/{id}/restore", ("POST", lambda p: p.trash.restore)),
        route("/ui/trash/{id}/purge", ("POST", lambda p: p.trash.purge)),
        route(
            "/ui/sign-in", ("GET", lambda p: p.sign_in.form), ("POST", lambda p: p.sign_in.sign_in)
        ),
        route("/ui/sign-in/code", ("POST", lambda p: p.sign_in.second_step)),
        route("/ui/sign-in/new-password", ("POST", lambda p: p.sign_in.new_password)),
        route("/ui/sign-out", ("POST", lambda p: p.sign_in.sign_out)),
        # Account security (issue 17)
        route("/ui/account", ("GET", lambda p: p.account.overview)),
        route(
            "/ui/account/password",
            ("GET", lambda p: p.account.password_form),
            ("POST", lambda p: p.account.change_password),
        ),
        route("/ui/account/two-step", ("GET", lambda p: p.account.two_step)),
        route("/ui/account/two-step/start", ("POST", lambda p: p.account.start_two_step)),
        route("/ui/account/two-step/confirm", ("POST", lambda p: p.account.confirm_two_step)),
        route("/ui/account/two-step/off", ("POST", lambda p: p.account.turn_off_two_step)),
        route("/ui/account/two-step/recovery-codes", ("POST", lambda p: p.account.recovery_codes)),
        route("/ui/account/sessions", ("GET", lambda p: p.access.sessions)),
        route(
            "/ui/account/sessions/terminate-others", ("POST", lambda p: p.access.terminate_others)
        ),
        route("/ui/account/sessions/{id}/terminate", ("POST", lambda p: p.access.terminate)),
        route(
            "/ui/account/tokens",
            ("GET", lambda p: p.access.token_list),
            ("POST", lambda p: p.access.create_token),
        ),
        route("/ui/account/tokens/{id}/revoke", ("POST", lambda p: p.access.revoke)),
        route("/ui/account/activity", ("GET", lambda p: p.access.activity)),
        # SLO dashboard and admin pages (issue 17)
        route("/ui/slo", ("GET", lambda p: p.slo.show)),
        route(
            "/ui/admin/users",
            ("GET", lambda p: p.admin.users),
            ("POST", lambda p: p.admin.create_user),
        ),
        route("/ui/admin/users/{username}/role", ("POST", lambda p: p.admin.user_action("role"))),
        route(
            "/ui/admin/users/{username}/unlock", ("POST", lambda p: p.admin.user_action("unlock"))
        ),
        route(
            "/ui/admin/users/{username}/sessions",
            ("POST", lambda p: p.admin.user_action("end-sessions")),
        ),
        route("/ui/admin/webhooks", ("GET", lambda p: p.admin.webhooks)),
        route(
            "/ui/admin/webhooks/{id}/deliveries/{delivery}/retry",
            ("POST", lambda p: p.admin.retry),
        ),
        # Not guarded: a missing file is the API's plain 404, not a page. Not an SLI: a
        # file from memory says nothing of the API's service (issue 19).
        Route(
            path="/ui/static/{name}",
            limits=Limits.EVENTS,
            sli=False,
            ops=(
                Op(
                    method="GET",
                    handler=_bound(lazily.handler(lambda p: p.assets.serve, guarded=False)),
                    access=Access.ANYONE,
                ),
            ),
        ),
    )


def _bound(handler: Handler) -> Bind:
    """The table's binding of a handler that is bound already (to the pages)."""
    return lambda services: handler
