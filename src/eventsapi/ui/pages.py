"""Every page family of the web UI, bound to the API's handlers: what the UI's routes
(``ui/routes.py``) call. Imported with the first request to a page, not at start."""

from __future__ import annotations

from eventsapi.api.routes import Services
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

__all__ = ["Pages"]


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
