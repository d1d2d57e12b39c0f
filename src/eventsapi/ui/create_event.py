"""Creating an event, ``/ui/new-event``: a form, sent to the API's own create
(``POST /events``).

What the API refuses comes back as its problem document, whose ``errors[].pointer`` name
the members at fault: each message is shown beside its field (``#/tags/2`` beside the
tags), and the form keeps what was typed. The page only translates the form to the API's
document: a date and time typed in the event's time zone becomes an RFC 3339 instant with
its offset, the tags typed with commas a list; anything it cannot translate is passed on as
typed, for the API to say what is wrong with it.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.events import EventsAPI
from eventsapi.ui import formats
from eventsapi.ui.api_calls import call
from eventsapi.ui.events_list import tags_of
from eventsapi.ui.render import see_other
from eventsapi.ui.visits import Form, Visit, Visits

__all__ = ["CreateEventPage"]

PATH: Final = "/ui/new-event"
FIELDS: Final = (
    "title",
    "description",
    "starts_at",
    "ends_at",
    "timezone",
    "location",
    "tags",
    "capacity",
)
_DIGITS: Final = 18
BLANK: Final = {**dict.fromkeys(FIELDS, ""), "timezone": "UTC"}


def document(form: Form) -> dict[str, Any]:
    """The API's event document for what the form holds."""
    zone = form.get("timezone").strip()
    body: dict[str, Any] = {"title": form.get("title")}
    for name in ("description", "location"):
        if form.get(name).strip():
            body[name] = form.get(name)
    for name in ("starts_at", "ends_at"):
        if form.get(name).strip():
            body[name] = formats.aware(form.get(name), zone)
    if zone:
        body["timezone"] = zone
    tags = tags_of(form.get("tags"))
    if tags:
        body["tags"] = tags
    capacity = form.get("capacity").strip()
    if capacity:
        # A number the API can read; anything else (or thousands of digits) as typed, for
        # the API to say what is wrong with it.
        number = capacity.isascii() and capacity.isdigit() and len(capacity) <= _DIGITS
        body["capacity"] = int(capacity) if number else capacity
    return body


class CreateEventPage:
    """``GET`` and ``POST /ui/new-event``."""

    def __init__(self, visits: Visits, events: EventsAPI) -> None:
        self.visits = visits
        self.events = events

    async def form(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        return self._form(visit, dict(BLANK), {})

    async def create(self, request: Request) -> Response:
        visit, form = await self.visits.form(request)
        answer = await call(
            self.events.create_event, request, "POST", "/events", json=document(form)
        )
        if answer.ok:
            created = answer.json()["id"]
            return see_other(f"/ui/events/{quote(created, safe='')}?notice=created")
        typed = {name: form.get(name) for name in FIELDS}
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
