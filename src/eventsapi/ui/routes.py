"""The UI's routes, which join the service's route table (``app.py``: ``BoundTable``'s
``more``).

They are ``Route`` entries like the API's (``api/routes.py``), so the service's front
treats them as it does every route: security fields, request ids, HEAD and OPTIONS, the
access log, SLIs and rate limits. They declare no OpenAPI operation, so the API's document
does not list them (it is made from ``api/route_table.TABLE`` only), and none is on the hot
path.

**Rate limits.** Every route under ``/ui/`` shares one group pair (``RouteGroups`` keeps one
per first segment), ``Limits.EVENTS``: a page is a read of events (``read``), a form a
change (``write``), as the API calls they make. The sign-in form is a ``write`` too, not an
``auth``: guessing passwords through it is bounded where the API's login is, by the
per-account and per-client failure budgets the login itself keeps in the database
(``auth/throttle.py``), which count the UI's attempts with the API's.
"""

from __future__ import annotations

from eventsapi.api.events import Handler
from eventsapi.api.routes import Access, Bind, Limits, Op, Route, Services
from eventsapi.ui.account import AccountPages
from eventsapi.ui.account_access import AccessPages
from eventsapi.ui.admin_pages import AdminPages
from eventsapi.ui.calendar import CalendarPage
from eventsapi.ui.create_event import CreateEventPage
from eventsapi.ui.event_page import EventPage
from eventsapi.ui.events_list import EventsListPage
from eventsapi.ui.live import Feeds, Live
from eventsapi.ui.owner_pages import OwnerPages
from eventsapi.ui.render import Renderer, static_files
from eventsapi.ui.sign_in import SignInPages
from eventsapi.ui.slo_page import SLOPage
from eventsapi.ui.trash_page import TrashPage
from eventsapi.ui.visits import Visits

__all__ = ["Pages", "ui_routes"]


class Pages:
    """Every page family, bound to the API's handlers."""

    def __init__(self, services: Services) -> None:
        authn = services.accounts.authn
        settings = services.events.settings
        self.assets = static_files()
        self.visits = Visits(authn, Renderer(self.assets), max_body_bytes=settings.max_body_bytes)
        self.sign_in = SignInPages(self.visits, services.accounts, services.events.clock)
        # Calendar and live updates (issue 17): the month, the feeds' links, the stream.
        live = Live(services.stream)
        self.events_list = EventsListPage(self.visits, services.events, live, Feeds(authn))
        self.calendar = CalendarPage(self.visits, services.events, live)
        # The owner's pages (issue 17): edit, registrations, delete; the trash.
        self.owner = OwnerPages(self.visits, services.events, services.store)
        self.trash = TrashPage(self.visits, services.trash)
        self.event = EventPage(
            self.visits,
            services.events,
            services.registrations,
            services.store,
            self.owner,
            live,
        )
        self.create_event = CreateEventPage(self.visits, services.events)
        # Account security (issue 17)
        self.account = AccountPages(self.visits, services.accounts)
        self.access = AccessPages(self.visits, services.accounts, services.tokens)
        # SLO dashboard and admin pages (issue 17)
        self.slo = SLOPage(self.visits, services.slos, services.drill)
        self.admin = AdminPages(self.visits, services.users, services.accounts, services.webhooks)


def ui_routes(services: Services) -> tuple[Route, ...]:
    """The table entries of the UI's pages, bound to ``services``."""
    pages = Pages(services)
    guarded = pages.visits.guarded

    def route(path: str, *methods: tuple[str, Handler]) -> Route:
        return Route(
            path=path,
            limits=Limits.EVENTS,
            ops=tuple(
                Op(method=method, handler=_bound(guarded(handler)), access=Access.ANYONE)
                for method, handler in methods
            ),
        )

    return (
        route("/ui/", ("GET", pages.events_list.show)),
        route(
            "/ui/new-event", ("GET", pages.create_event.form), ("POST", pages.create_event.create)
        ),
        route("/ui/events/{id}", ("GET", pages.event.show)),
        route("/ui/calendar", ("GET", pages.calendar.show)),
        route("/ui/events/{id}/register", ("POST", pages.event.register)),
        route("/ui/events/{id}/cancel", ("POST", pages.event.cancel)),
        # The owner's pages and the trash (owner_pages.py, trash_page.py).
        route("/ui/events/{id}/edit", ("GET", pages.owner.edit_form), ("POST", pages.owner.save)),
        route("/ui/events/{id}/registrations", ("GET", pages.owner.registrations)),
        route("/ui/events/{id}/registrations.csv", ("GET", pages.owner.registrations_csv)),
        route("/ui/events/{id}/delete", ("POST", pages.owner.delete)),
        route("/ui/trash", ("GET", pages.trash.show)),
        route("/ui/trash/{id}/restore", ("POST", pages.trash.restore)),
        route("/ui/trash/{id}/purge", ("POST", pages.trash.purge)),
        route("/ui/sign-in", ("GET", pages.sign_in.form), ("POST", pages.sign_in.sign_in)),
        route("/ui/sign-in/code", ("POST", pages.sign_in.second_step)),
        route("/ui/sign-in/new-password", ("POST", pages.sign_in.new_password)),
        route("/ui/sign-out", ("POST", pages.sign_in.sign_out)),
        # Account security (issue 17)
        route("/ui/account", ("GET", pages.account.overview)),
        route(
            "/ui/account/password",
            ("GET", pages.account.password_form),
            ("POST", pages.account.change_password),
        ),
        route("/ui/account/two-step", ("GET", pages.account.two_step)),
        route("/ui/account/two-step/start", ("POST", pages.account.start_two_step)),
        route("/ui/account/two-step/confirm", ("POST", pages.account.confirm_two_step)),
        route("/ui/account/two-step/off", ("POST", pages.account.turn_off_two_step)),
        route("/ui/account/two-step/recovery-codes", ("POST", pages.account.recovery_codes)),
        route("/ui/account/sessions", ("GET", pages.access.sessions)),
        route("/ui/account/sessions/terminate-others", ("POST", pages.access.terminate_others)),
        route("/ui/account/sessions/{id}/terminate", ("POST", pages.access.terminate)),
        route(
            "/ui/account/tokens",
            ("GET", pages.access.token_list),
            ("POST", pages.access.create_token),
        ),
        route("/ui/account/tokens/{id}/revoke", ("POST", pages.access.revoke)),
        route("/ui/account/activity", ("GET", pages.access.activity)),
        # SLO dashboard and admin pages (issue 17)
        route("/ui/slo", ("GET", pages.slo.show)),
        route("/ui/admin/users", ("GET", pages.admin.users), ("POST", pages.admin.create_user)),
        route("/ui/admin/users/{username}/role", ("POST", pages.admin.user_action("role"))),
        route("/ui/admin/users/{username}/unlock", ("POST", pages.admin.user_action("unlock"))),
        route(
            "/ui/admin/users/{username}/sessions", ("POST", pages.admin.user_action("end-sessions"))
        ),
        route("/ui/admin/webhooks", ("GET", pages.admin.webhooks)),
        route(
            "/ui/admin/webhooks/{id}/deliveries/{delivery}/retry",
            ("POST", pages.admin.retry),
        ),
        # Not guarded: a missing file is the API's plain 404, not a page. Not an SLI: a
        # file from memory says nothing of the API's service (issue 19).
        Route(
            path="/ui/static/{name}",
            limits=Limits.EVENTS,
            sli=False,
            ops=(Op(method="GET", handler=_bound(pages.assets.serve), access=Access.ANYONE),),
        ),
    )


def _bound(handler: Handler) -> Bind:
    """The table's binding of a handler that is bound already (to the pages)."""
    return lambda services: handler
