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
"""

from __future__ import annotations

import asyncio
import dataclasses
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
from eventsapi.clock import Clock
from eventsapi.domain.events import DOT_SEGMENTS, ID_PATTERN, Event
from eventsapi.domain.query import EventFilter, EventQuery
from eventsapi.domain.visibility import Reader
from eventsapi.errors import NotFound
from eventsapi.settings import Settings

__all__ = [
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
_PAGE: Final = 250
_FILTERS: Final = frozenset({"starts_after", "starts_before", "status", "q"})
_REPEATABLE: Final = frozenset({"tag"})
_ID_MATCH: Final = re.compile(ID_PATTERN).fullmatch
_decode_event = msgspec.json.Decoder(Event).decode


class CalendarFeeds:
    """The handlers of the calendar feeds, bound to a store and settings."""

    def __init__(
        self, store: EventStore, settings: Settings, clock: Clock, listings: InFlight, authn: Authn
    ) -> None:
        self.store = store
        self.authn = authn
        self.clock = clock
        self.listings = listings
        self.page_size = min(_PAGE, settings.max_page_size)
        self.domain = urlsplit(settings.public_url).hostname or DEFAULT_DOMAIN

    async def event_calendar(self, request: Request) -> Response:
        """``GET /events/{id}.ics``: the event as a calendar of one ``VEVENT`` (none while
        the event has no start)."""
        reader = await self.authn.reader(request)
        event_id: str = request.path_params["id"]
        event = None
        if _ID_MATCH(event_id) is not None and event_id not in DOT_SEGMENTS:
            event = await self.store.get(event_id, reader=reader)
        if event is None:
            raise NotFound(f"No event with id {event_id!r}.")
        from eventsapi.api import ics  # first use: see the docstring

        calendar = ics.calendar([event], name=event.title, domain=self.domain)
        return _answer(request, calendar, reader)

    async def feed(self, request: Request) -> Response:
        """``GET /events.ics``: the events that pass the filters, as one calendar."""
        reader = await self.authn.reader(request)
        query = request.query_params
        single = single_values(query, _FILTERS, repeatable=_REPEATABLE)
        where = parse_filter(single, query)
        if where.starts_after is None:
            since = self.clock() - timedelta(days=FEED_PAST_DAYS)
            where = dataclasses.replace(where, starts_after=since)
        searches_nothing = "q" in single and not where.terms
        events = [] if searches_nothing else await self._events(request, where, reader)
        name = _feed_name(where)
        from eventsapi.api import ics  # first use: see the docstring

        body = await asyncio.to_thread(ics.calendar, events, name=name, domain=self.domain)
        return _answer(request, body, reader)

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
                query = dataclasses.replace(query, after=page.next)


def _feed_name(where: EventFilter) -> str:
    """The calendar's name as an app shows it: ``Events``, and the filters if any."""
    parts = [f"tag {tag}" for tag in where.tags]
    if where.status is not None:
        parts.append(where.status)
    if where.terms:
        parts.append(" ".join(where.terms))
    return "Events" + (f" ({', '.join(parts)})" if parts else "")


def _answer(request: Request, body: bytes, reader: Reader) -> Response:
    """``body`` with its strong ETag, or ``304`` if the client has it (``If-None-Match``);
    kept from shared caches when it depends on who asks."""
    tag = f'"ics-{hashlib.blake2b(body, digest_size=8).hexdigest()}"'
    headers = {"ETag": tag}
    if not reader.public_only:
        headers["Cache-Control"] = "private"
    if Preconditions.of(request).not_modified(tag):
        return Response(status_code=304, headers=headers)
    return Response(body, headers=headers, media_type=MEDIA_TYPE)
