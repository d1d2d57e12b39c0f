"""Events as an iCalendar object (RFC 5545), for the calendar feeds (``api/feeds.py``).

The ``icalendar`` library writes every content line: it escapes text (``\\``, ``;``, ``,``
and line breaks) and folds lines at 75 octets without splitting a UTF-8 character, which
is what Google Calendar needs to read a feed at all. The answer is a function of the
events only (no "now" in it: ``DTSTAMP`` is the event's last change), so that the same
events make the same bytes, and the feed's ETag and 304 work.

Each event is a ``VEVENT``:

- ``UID`` ``<id>@<domain>``: the same on every replica and after every restart (the
  domain is the host of the ``public_url`` setting, or ``feeds.DEFAULT_DOMAIN``);
- ``SEQUENCE`` the event's version less one (RFC 5545 starts it at 0), so a calendar
  app takes each new version for an update of the one it has;
- ``DTSTART``/``DTEND`` in the event's ``timezone`` (``TZID``, with its ``VTIMEZONE``)
  or in UTC; an event without a start has no place in a calendar and is left out (a
  ``VEVENT`` must have one), as is one whose times no time zone can express (years 1
  and 9999 at their edges);
- ``STATUS`` ``CONFIRMED``, or ``CANCELLED`` for a cancelled event (calendar apps strike
  it out or hide it);
- ``CATEGORIES`` from the tags; ``SUMMARY``, ``DESCRIPTION``, ``LOCATION``;
  ``CREATED``, ``LAST-MODIFIED`` and ``DTSTAMP`` in UTC.

A line break in a text is written ``\\n``: iCalendar text has no other, so a carriage
return (alone or before a line feed) reads back as a line feed.

Attendees (``attendees``: only in the calendar of one event its owner or an admin asks for,
``api/feeds.py``): an ``ATTENDEE`` per active registration, in the order people joined,
its value the registrant's ``mailto:`` URI (RFC 6068: each character outside the URI's own
set percent-encoded, so that one address stays one, and one line), its ``CN`` the name
(a parameter value in double quotes, with RFC 6868's ``^n``, ``^'`` and ``^^`` for line
breaks, double quotes and carets: no name can end the parameter, the property or the
line), its ``PARTSTAT`` ``ACCEPTED`` for a confirmed registration and ``TENTATIVE`` for a
waitlisted one (RFC 5545 3.2.12: "tentatively accepted", which is what a place on the
waitlist is: the registrant said yes, the seat is not theirs yet; ``NEEDS-ACTION`` would
say they have not answered). A calendar with attendees has no ``METHOD``: iTIP's
``PUBLISH`` (RFC 5546 3.2.1) forbids them. It has no ``ORGANIZER`` either (accounts hold
no address), which also keeps calendar servers and apps from taking the event for a
meeting of theirs and mailing the attendees (RFC 6638 schedules only with one).
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final
from urllib.parse import quote

from icalendar import Calendar, vCalAddress, vDuration, vText
from icalendar import Event as VEvent

from eventsapi.domain.events import Event
from eventsapi.domain.registrations import Registration

__all__ = ["REFRESH", "calendar"]

PRODID: Final = "-//eventsapi//Calendar feeds//EN"
REFRESH: Final = timedelta(hours=1)
"""How often a calendar app should fetch a feed again (a hint: Google decides its own)."""
# The years a VTIMEZONE describes: the library computes transitions only between dates a
# datetime can hold, and nobody's calendar needs rules outside these.
_ZONE_RULES_FROM: Final = date(1900, 1, 1)
_ZONE_RULES_UNTIL: Final = date(2100, 1, 1)
_DAY: Final = timedelta(days=1)
# RFC 6068's characters of an address that stay as they are (with the unreserved ones,
# which quote keeps): "," (which would start a second address), "?", "#", "%", "/", "&"
# and "=" are percent-encoded, as is anything outside US-ASCII or a control character.
_MAILTO_SAFE: Final = "!$'()*+;:@"
_PARTSTAT: Final = {"confirmed": "ACCEPTED", "waitlisted": "TENTATIVE"}


@functools.cache
def _zone(name: str | None) -> tzinfo:
    if name is None:
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC  # a zone that tzdata has since removed: the instant is still right


def _in(instant: datetime, zone: tzinfo) -> datetime | None:
    try:
        return instant.astimezone(zone)
    except OverflowError:  # 0001-01-01T00:00:00+05:00 is before year 1 in UTC
        return None


def _vevent(event: Event, domain: str) -> VEvent | None:
    """The ``VEVENT`` of ``event``, or ``None`` if it has no start a calendar can show."""
    if event.starts_at is None:
        return None
    zone = _zone(event.timezone)
    start = _in(event.starts_at, zone)
    end = _in(event.ends_at, zone) if event.ends_at is not None else None
    if start is None or (event.ends_at is not None and end is None):
        return None
    component = VEvent()
    component.add("uid", f"{event.id}@{domain}")
    component.add("sequence", event.version - 1)
    component.add("dtstamp", event.updated_at.astimezone(UTC))
    component.add("created", event.created_at.astimezone(UTC))
    component.add("last-modified", event.updated_at.astimezone(UTC))
    component.add("dtstart", start)
    if end is not None:
        component.add("dtend", end)
    component.add("summary", event.title)
    if event.description:
        component.add("description", event.description)
    if event.location:
        component.add("location", event.location)
    if event.tags:
        component.add("categories", list(event.tags))
    component.add("status", "CANCELLED" if event.status == "cancelled" else "CONFIRMED")
    return component


def attendee(registration: Registration) -> vCalAddress:
    """The ``ATTENDEE`` of a confirmed or waitlisted registration (``KeyError`` for a
    cancelled one: a caller's mistake)."""
    address = vCalAddress("mailto:" + quote(registration.email, safe=_MAILTO_SAFE))
    address.params["CN"] = registration.name
    address.params["PARTSTAT"] = _PARTSTAT[registration.status]
    return address


def calendar(
    events: Iterable[Event],
    *,
    name: str,
    domain: str,
    attendees: Mapping[str, Sequence[Registration]] | None = None,
) -> bytes:
    """The ``VCALENDAR`` of ``events`` (those with a start), named ``name``: one
    ``VTIMEZONE`` per time zone the events use, then a ``VEVENT`` per event, in order;
    with an ``ATTENDEE`` for each registration in ``attendees`` (by event id; confirmed
    or waitlisted ones only)."""
    attendees = attendees or {}
    body = Calendar()
    body.add("prodid", PRODID)
    body.add("version", "2.0")
    body.add("calscale", "GREGORIAN")
    if not any(attendees.values()):
        body.add("method", "PUBLISH")
    # The text types given: the library would write these names' values unescaped.
    body.add("name", vText(name))
    body.add("x-wr-calname", vText(name))
    body.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    body.add("x-published-ttl", vDuration(REFRESH))
    first: date | None = None
    last: date | None = None
    for event in events:
        component = _vevent(event, domain)
        if component is None:
            continue
        for registration in attendees.get(event.id, ()):
            component.add("attendee", attendee(registration))
        body.add_component(component)
        start = component.decoded("dtstart").date()
        end = component.decoded("dtend").date() if "dtend" in component else start
        first = start if first is None else min(first, start)
        last = end if last is None else max(last, end)
    if first is not None and last is not None:
        # The zones' rules over the events' dates only: a VTIMEZONE from 1970 to 2038
        # lists every transition, some 4 kB per zone.
        since = min(max(first - _DAY, _ZONE_RULES_FROM), _ZONE_RULES_UNTIL - _DAY)
        until = max(min(last + _DAY, _ZONE_RULES_UNTIL), since + _DAY)
        body.add_missing_timezones(first_date=since, last_date=until)
    ical: bytes = body.to_ical()
    return ical
