"""Calendar feeds: ``GET /events.ics`` and ``GET /events/{id}.ics`` (``text/calendar``).

Calendar apps (Google Calendar, Apple Calendar, Thunderbird) subscribe to these URLs and
fetch them again now and then; ``api/ics.py`` writes the iCalendar. Like every read, they
hold what the caller may see (``domain/visibility.py``): a calendar app sends no
credentials, so its feed is of the public events only. They answer ``ETag`` and ``304`` to
``If-None-Match``.

The feed of many events is bounded in time and memory, whatever the database holds: it
reads the store's keyset pages (sorted by start) of the events starting from
``FEED_PAST_DAYS`` days ago (or from ``starts_after``), and stops at ``FEED_MAX_EVENTS``
events or once their documents add up to ``FEED_MAX_BYTES``, whichever comes first: the
events starting latest are then left out. The listing counts as one of the client's
listings (``max_listings_per_client``), and the iCalendar is written in a worker thread,
so a large feed does not hold up the event loop.

``icalendar`` (some 7 MB of memory per worker) is imported by the first feed asked for,
not at start (``tests/unit/test_lazy_imports.py``).

The calendar of one event, asked for with the credentials of its owner or an admin, also
lists who comes (``ATTENDEE``: the confirmed and the waitlisted, in the order they joined,
at most ``ATTENDEES_MAX``). Nothing else ever does: not the feed of many events, not an
answer without credentials (whatever ``anonymous_writes`` says, so that a request without
credentials gets the one public calendar, the same for everyone), not another account. Such
an answer is ``Cache-Control: private, no-cache`` (no shared cache keeps it; a browser asks
again, and the ETag makes that a 304) and has an ETag of its own kind (``"ics-a-..."``),
never the public one's. Every answer of ``/events/{id}.ics`` carries ``Vary: Authorization,
Cookie``: what it holds depends on them.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import timedelta
from typing import Final
from urllib.parse import urlsplit

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.authn import Authn
from eventsapi.api.conditions import Preconditions
from eventsapi.api.inflight import InFlight
from eventsapi.api.listing import parse_filter
from eventsapi.api.parameters import single_values
from eventsapi.api.store import EventStore
from eventsapi.auth.principal import Principal
from eventsapi.clock import Clock
from eventsapi.domain.accounts import Scope
from eventsapi.domain.events import DOT_SEGMENTS, ID_PATTERN, Event, visibility_of
from eventsapi.domain.query import EventFilter, EventQuery
from eventsapi.domain.registrations import Registration
from eventsapi.domain.visibility import PUBLIC, Reader
from eventsapi.errors import NotFound
from eventsapi.settings import Settings

__all__ = [
    "ATTENDEES_MAX",
    "DEFAULT_DOMAIN",
    "FEED_MAX_BYTES",
    "FEED_MAX_EVENTS",
    "FEED_PAST_DAYS",
    "MEDIA_TYPE",
    "CalendarFeeds",
]

MEDIA_TYPE: Final = "text/calendar; charset=utf-8"
DEFAULT_DOMAIN: Final = "eventsapi.invalid"
"""The right-hand side of the UIDs without a ``public_url`` (RFC 2606: it names no host)."""

FEED_PAST_DAYS: Final = 90
"""Without ``starts_after``, the feed starts this many days before now."""
FEED_MAX_EVENTS: Final = 1_000
"""The most events one feed holds: the first ones by start."""
FEED_MAX_BYTES: Final = 1024 * 1024
"""The most event JSON one feed reads (events with long descriptions): the iCalendar is
about as long, so this bounds the answer, what is held to make it (some 7 times that at
the peak) and the time to write it (icalendar folds about 4 MB a second, on one core)."""
ATTENDEES_MAX: Final = 2_000
"""The most ``ATTENDEE``s in an owner's calendar: the first ones to join (the full list is
``GET /events/{id}/registrations`` or ``eventsapi registrations export``)."""
_PAGE: Final = 250
_VARY: Final = (b"vary", b"Authorization, Cookie")
_PRIVATE: Final = (b"cache-control", b"private, no-cache")
_READER_PRIVATE: Final = (b"cache-control", b"private")
_FILTERS: Final = frozenset({"starts_after", "starts_before", "status", "q"})
_REPEATABLE: Final = frozenset({"tag"})
_ID_MATCH: Final = re.compile(ID_PATTERN).fullmatch
_decode_event = msgspec.json.Decoder(Event).decode


class CalendarFeeds:
    """The handlers of the calendar feeds, bound to a store and settings."""

    def __init__(
        self,
        store: EventStore,
        settings: Settings,
        clock: Clock,
        listings: InFlight,
        authn: Authn,
    ) -> None:
        self.store = store
        self.clock = clock
        self.authn = authn
        self.listings = listings
        self.page_size = min(_PAGE, settings.max_page_size)
        self.domain = urlsplit(settings.public_url).hostname or DEFAULT_DOMAIN

    async def event_calendar(self, request: Request) -> Response:
        """``GET /events/{id}.ics``: the event as a calendar of one ``VEVENT`` (none while
        the event has no start); with its attendees for its owner and admins."""
        reader = await self.authn.reader(request)
        event_id: str = request.path_params["id"]
        event = None
        if _ID_MATCH(event_id) is not None and event_id not in DOT_SEGMENTS:
            event = await self.store.get(event_id, reader=reader)
        if event is None:
            raise NotFound(f"No event with id {event_id!r}.")
        from eventsapi.api import ics  # first use: see the docstring

        if not _sees_attendees(await self.authn.principal(request), event):
            body = ics.calendar([event], name=event.title, domain=self.domain)
            # A public event's calendar is everyone's, whoever asks; another one's is not.
            public = visibility_of(event) == PUBLIC
            return _answer(request, body, extra=(_VARY,) if public else (_VARY, _READER_PRIVATE))
        attendees = {event.id: await self._attendees(event.id)}
        body = await asyncio.to_thread(
            ics.calendar, [event], name=event.title, domain=self.domain, attendees=attendees
        )
        return _answer(request, body, kind="ics-a", extra=(_VARY, _PRIVATE))

    async def _attendees(self, event_id: str) -> list[Registration]:
        """The event's confirmed and waitlisted registrations, in the order they joined,
        the first ``ATTENDEES_MAX``."""
        found: list[Registration] = []
        after = 0
        while len(found) < ATTENDEES_MAX:
            page = await self.store.list_registrations(event_id, after=after, limit=_PAGE)
            found += [r for r in page if r.status != "cancelled"]
            if len(page) < _PAGE:
                break
            after = page[-1].seq
        return found[:ATTENDEES_MAX]

    async def feed(self, request: Request) -> Response:
        """``GET /events.ics``: the events that pass the filters, as one calendar."""
        reader = await self.authn.reader(request)
        query = request.query_params
        single = single_values(query, _FILTERS, repeatable=_REPEATABLE)
        where = parse_filter(single, query)
        if where.starts_after is None:
            since = self.clock() - timedelta(days=FEED_PAST_DAYS)
            where = msgspec.structs.replace(where, starts_after=since)
        searches_nothing = "q" in single and not where.terms
        events = [] if searches_nothing else await self._events(request, where, reader)
        name = _feed_name(where)
        from eventsapi.api import ics  # first use: see the docstring

        body = await asyncio.to_thread(ics.calendar, events, name=name, domain=self.domain)
        # Vary: what it holds depends on the credentials sent; private unless it is
        # everyone's, so that no shared cache keeps events the public may not see.
        fields = (_VARY,) if reader.public_only else (_VARY, _READER_PRIVATE)
        return _answer(request, body, extra=fields)

    async def _events(self, request: Request, where: EventFilter, reader: Reader) -> list[Event]:
        """The first events of ``where`` by start, page by page, within the feed's bounds."""
        query = EventQuery(filter=where, sort="starts_at", limit=self.page_size, reader=reader)
        events: list[Event] = []
        read = 0
        with self.listings.slot(request):
            while True:
                page = await self.store.list_page(query)
                for document in page.documents:
                    read += len(document)
                    if len(events) == FEED_MAX_EVENTS or read > FEED_MAX_BYTES:
                        return events
                    events.append(_decode_event(document))
                if page.next is None:
                    return events
                query = msgspec.structs.replace(query, after=page.next)


def _feed_name(where: EventFilter) -> str:
    """The calendar's name as an app shows it: ``Events``, and the filters if any."""
    parts = [f"tag {tag}" for tag in where.tags]
    if where.status is not None:
        parts.append(where.status)
    if where.terms:
        parts.append(" ".join(where.terms))
    return "Events" + (f" ({', '.join(parts)})" if parts else "")


def _sees_attendees(principal: Principal | None, event: Event) -> bool:
    """Whether the caller is the event's owner or an admin (never without credentials)."""
    if principal is None:
        return False
    return principal.can(Scope.ADMIN) or principal.user.id == event.owner


def _answer(
    request: Request,
    body: bytes,
    *,
    kind: str = "ics",
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> Response:
    """``body`` with its strong ETag (``kind``: its prefix), or ``304`` if the client has it
    (``If-None-Match``); ``extra`` header fields on either, as a 304 carries the caching
    fields the 200 would (RFC 9110, 15.4.5)."""
    tag = f'"{kind}-{hashlib.blake2b(body, digest_size=8).hexdigest()}"'
    if Preconditions.of(request).not_modified(tag):
        response = Response(status_code=304, headers={"ETag": tag})
    else:
        response = Response(body, headers={"ETag": tag}, media_type=MEDIA_TYPE)
    response.raw_headers += extra
    return response
