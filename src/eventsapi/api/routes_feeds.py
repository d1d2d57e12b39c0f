"""The route table's entries for the calendar feeds, ``/events.ics`` and
``/events/{id}.ics`` (``api/feeds.py``), with their OpenAPI operations.

They are hot routes, listed before ``/events/{id}`` (``api/route_table.py``), so that both
the hot path and Starlette take ``/events/x.ics`` for the calendar of the event ``x``;
no new event may have an id ending in ``.ics`` (``domain/events.py``). Reads are public,
in the events' rate-limit group.
"""

from __future__ import annotations

from typing import Final

from eventsapi.api.feeds import (
    ATTENDEES_MAX,
    FEED_MAX_BYTES,
    FEED_MAX_EVENTS,
    FEED_PAST_DAYS,
    MEDIA_TYPE,
)
from eventsapi.api.openapi import Schema, problem
from eventsapi.api.routes import Access, Limits, Op, Route
from eventsapi.api.routes_events import ENTITY_TAG, FILTER_PARAMETERS, IF_NONE_MATCH_GET
from eventsapi.domain.events import ID_PATTERN, ID_SCHEMA_EXCLUDES

__all__ = ["FEED_ROUTES"]

_TAG: Final = "events"
_ETAG: Final = {
    "ETag": {
        **ENTITY_TAG["ETag"],
        "description": "Strong entity tag of this calendar (changes with any of its "
        "events); send it back in If-None-Match to revalidate",
    }
}
_CALENDAR: Final[Schema] = {
    MEDIA_TYPE: {
        "schema": {"type": "string", "description": "An iCalendar object (RFC 5545)"},
        "example": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n...\r\nEND:VCALENDAR\r\n",
    }
}
_NOT_MODIFIED: Final = {"description": "Not modified (If-None-Match)", "headers": _ETAG}
_PRIVATE: Final = {
    "Cache-Control": {
        "description": "`private, no-cache` on a calendar with attendees (none otherwise)",
        "schema": {"type": "string"},
    },
    "Vary": {
        "description": "`Authorization, Cookie`: the attendees are shown by the credentials",
        "schema": {"type": "string"},
    },
}
_FEED_PARAMETERS: Final = [
    {
        **FILTER_PARAMETERS["starts_after"],
        "description": "Events starting at or after this instant (RFC 3339, with an offset); "
        f"by default {FEED_PAST_DAYS} days before now.",
    },
    *(FILTER_PARAMETERS[name] for name in ("starts_before", "tag", "status", "q")),
    IF_NONE_MATCH_GET,
]

FEED_ROUTES: Final = (
    Route(
        path="/events.ics",
        limits=Limits.EVENTS,
        tag=_TAG,
        hot=True,
        ops=(
            Op(
                method="GET",
                handler=lambda s: s.feeds.feed,
                access=Access.ANYONE,
                operation_id="eventsCalendar",
                summary="The events as a calendar feed (iCalendar) to subscribe to",
                description=(
                    "The events that pass the filters (those of `GET /events`), one "
                    "`VEVENT` each, in the order they start, for calendar apps to subscribe "
                    f"to. It holds the events starting from {FEED_PAST_DAYS} days ago (or "
                    f"`starts_after`), at most {FEED_MAX_EVENTS:,} of them and about "
                    f"{FEED_MAX_BYTES // 2**20} MiB: past that, the ones starting last are "
                    "left out (narrow it with the filters). Events without a start are "
                    "never in it."
                ),
                parameters=_FEED_PARAMETERS,
                responses={
                    "200": {"description": "The calendar", "headers": _ETAG, "content": _CALENDAR},
                    "304": _NOT_MODIFIED,
                    "400": problem(
                        "An invalid query parameter (`parameter` names it), or a malformed "
                        "If-None-Match"
                    ),
                },
            ),
        ),
    ),
    Route(
        path="/events/{id}.ics",
        limits=Limits.EVENTS,
        tag=_TAG,
        hot=True,
        parameters=(
            {
                "name": "id",
                "in": "path",
                "required": True,
                "description": "The event's id.",
                "schema": {"type": "string", "pattern": ID_PATTERN, "not": ID_SCHEMA_EXCLUDES},
                "example": "01JD7X3Q9M5T8V2W4Y6Z8A0B1C",
            },
        ),
        ops=(
            Op(
                method="GET",
                handler=lambda s: s.feeds.event_calendar,
                access=Access.ANYONE,
                operation_id="eventCalendar",
                summary="One event as a calendar (iCalendar), to add or subscribe to",
                description=(
                    "A calendar with the event's `VEVENT`; with none while the event has "
                    "no start (it appears once the event has one). With the credentials of "
                    "the event's owner or an admin, the `VEVENT` also lists who comes: an "
                    "`ATTENDEE` per confirmed (`PARTSTAT=ACCEPTED`) and waitlisted "
                    f"(`PARTSTAT=TENTATIVE`) registration, at most {ATTENDEES_MAX:,}, "
                    "in the order they joined, and the calendar has no `METHOD`; that "
                    "answer is `Cache-Control: private, no-cache`, with an ETag of its own. "
                    "Without credentials, or with anyone else's, it is the public calendar."
                ),
                parameters=[IF_NONE_MATCH_GET],
                responses={
                    "200": {
                        "description": "The calendar",
                        "headers": {**_ETAG, **_PRIVATE},
                        "content": _CALENDAR,
                    },
                    "304": {**_NOT_MODIFIED, "headers": {**_ETAG, **_PRIVATE}},
                    "400": problem("A malformed If-None-Match"),
                    "401": problem("Credentials that are not (or no longer) valid"),
                    "404": problem("No such event"),
                },
            ),
        ),
    ),
)
