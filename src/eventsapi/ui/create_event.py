"""Creating an event, ``/ui/new-event``: a form, sent to the API's own create
(``POST /events``).

What the API refuses comes back as its problem document, whose ``errors[].pointer`` name
the members at fault: each message is shown beside its field (``#/tags/2`` beside the
tags), and the form keeps what was typed. The form and its translation to the API's
document are ``event_form.py``'s, shared with the edit page.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.events import EventsAPI
from eventsapi.ui import event_form
from eventsapi.ui.api_calls import call
from eventsapi.ui.render import see_other
from eventsapi.ui.visits import Visit, Visits

__all__ = ["CreateEventPage"]

PATH: Final = "/ui/new-event"


class CreateEventPage:
    """``GET`` and ``POST /ui/new-event``."""

    def __init__(self, visits: Visits, events: EventsAPI) -> None:
        self.visits = visits
        self.events = events

    async def form(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        return self._form(visit, dict(event_form.BLANK), {})

    async def create(self, request: Request) -> Response:
        visit, form = await self.visits.form(request)
        typed = event_form.typed(form)
        answer = await call(
            self.events.create_event, request, "POST", "/events", json=event_form.document(typed)
        )
        if answer.ok:
            created = answer.json()["id"]
            return see_other(f"/ui/events/{quote(created, safe='')}?notice=created")
        return self._form(visit, typed, answer.problem().by_field(), answer.status)

    def _form(
        self,
        visit: Visit,
        typed: dict[str, str],
        errors: dict[str, list[str]],
        status: int = 200,
    ) -> Response:
        may_create = visit.user is not None or self.events.authn.anonymous_writes(
            visit.request.scope
        )
        context = {
            "typed": typed,
            "errors": errors,
            "may_create": may_create,
            "sign_in": "/ui/sign-in?next=" + quote(PATH, safe=""),
        }
        return self.visits.page(visit, "create_event.html", context, status=status)
