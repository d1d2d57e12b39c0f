"""One event, ``/ui/events/{id}``: its details, its spots left, and the visitor's
registration, with forms to register (or join the waitlist) and to cancel.

The event is the API's document (``GET /events/{id}``): what it shows, the page shows,
counts included (``spots_left``, ``registered``, ``waitlisted``: every event the API serves
carries them). Registering and cancelling call the API's handlers, so the capacity, the
waitlist, the registration window and who may cancel are the API's rules; each form has
an ``Idempotency-Key`` of its own, so a form sent twice (a double click, a reload) registers
once.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.events import EventsAPI
from eventsapi.api.registrations import RegistrationsAPI
from eventsapi.api.store import EventStore
from eventsapi.domain.registrations import ACTIVE, Registration
from eventsapi.ui.api_calls import Answer, call
from eventsapi.ui.live import Feeds, Live
from eventsapi.ui.owner_pages import OwnerPages
from eventsapi.ui.render import see_other
from eventsapi.ui.visits import Form, Visit, Visits

__all__ = ["EventPage"]

NOTICES: Final = {
    "created": "The event is created.",
    "registered": "You are registered.",
    "waitlisted": "The event is full: you are on its waitlist, and will be registered if a "
    "spot frees up.",
    "cancelled": "Your registration is cancelled.",
    # The owner's pages (owner_pages.py, trash_page.py):
    "saved": "Your changes are saved.",
    "restored": "The event is restored from the trash.",
    "changed": "The event changed since you opened this page: nothing was deleted. Here it is "
    "as it is now.",
}
_KEY: Final = re.compile(r"[0-9a-f]{32}")
_MINE_PAGE: Final = 100


class EventPage:
    """``GET /ui/events/{id}`` and its forms."""

    def __init__(
        self,
        visits: Visits,
        events: EventsAPI,
        registrations: RegistrationsAPI,
        store: EventStore,
        owner: OwnerPages,
        live: Live,
    ) -> None:
        self.owner = owner
        self.live = live
        self.visits = visits
        self.events = events
        self.registrations = registrations
        self.store = store

    async def show(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        notice = NOTICES.get(request.query_params.get("notice", ""))
        return await self._page(visit, request.path_params["id"], notice=notice)

    async def register(self, request: Request) -> Response:
        visit, form = await self.visits.form(request)
        event_id: str = request.path_params["id"]
        name, email = form.get("name").strip(), form.get("email").strip()
        key = form.get("key")
        answer = await call(
            self.registrations.register,
            request,
            "POST",
            f"/events/{event_id}/registrations",
            path_params={"id": event_id},
            json={"name": name or None, "email": email},
            headers=[("Idempotency-Key", key)] if _KEY.fullmatch(key) else [],
        )
        if answer.ok:
            status = answer.json()["status"]
            return see_other(
                _url(event_id, "waitlisted" if status == "waitlisted" else "registered")
            )
        return await self._refused(visit, event_id, answer, form)

    async def cancel(self, request: Request) -> Response:
        visit, form = await self.visits.form(request)
        event_id: str = request.path_params["id"]
        registration = form.get("registration")
        answer = await call(
            self.registrations.cancel,
            request,
            "DELETE",
            f"/events/{event_id}/registrations/{registration}",
            path_params={"id": event_id, "rid": registration},
        )
        if answer.ok:
            return see_other(_url(event_id, "cancelled"))
        return await self._refused(visit, event_id, answer, form)

    async def _refused(self, visit: Visit, event_id: str, answer: Answer, form: Form) -> Response:
        """The page again, with the API's refusal beside the fields it names."""
        errors = answer.problem().by_field()
        return await self._page(
            visit, event_id, errors=errors, typed=form.values(), status=answer.status
        )

    async def _page(
        self,
        visit: Visit,
        event_id: str,
        *,
        notice: str | None = None,
        errors: dict[str, list[str]] | None = None,
        typed: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        request = visit.request
        stream = await self.live.since()
        answer = await call(
            self.events.get_event,
            request,
            "GET",
            f"/events/{event_id}",
            path_params={"id": event_id},
        )
        if not answer.ok:
            problem = answer.problem()
            return self.visits.page(
                visit, "error.html", {"problem": problem}, status=problem.status
            )
        event: dict[str, Any] = answer.json()
        user = visit.user
        mine = None if user is None else await self._registration(event["id"], user.id)
        context = {
            "event": event,
            "url": _url(event["id"]),
            "mine": mine,
            "notice": notice,
            "errors": errors or {},
            "typed": typed or {"name": "" if user is None else user.username, "email": ""},
            "key": uuid.uuid4().hex,
            "sign_in": "/ui/sign-in?next=" + quote(_url(event["id"]), safe=""),
            "manage": self.owner.manages(visit, event),
            "etag": answer.headers.get("etag", ""),
            "calendar": Feeds.event(event["id"]),
            "stream": stream,
        }
        return self.visits.page(visit, "event.html", context, status=status)

    async def _registration(self, event_id: str, account: str) -> Registration | None:
        """The account's active registration for the event, if it has one."""
        after = 0
        while True:
            found = await self.store.list_registrations(
                event_id, after=after, limit=_MINE_PAGE, account=account
            )
            for registration in found:
                if registration.status in ACTIVE:
                    return registration
            if len(found) < _MINE_PAGE:
                return None
            after = found[-1].seq


def _url(event_id: str, notice: str | None = None) -> str:
    url = "/ui/events/" + quote(event_id, safe="")
    return url if notice is None else f"{url}?notice={notice}"
