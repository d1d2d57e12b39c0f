"""The month, ``/ui/calendar?month=YYYY-MM&tz=Area/City``: a grid of weeks (ISO: Monday
first), each day with its events, and links to the months before and after.

The month is that of the time zone ``tz`` (an IANA name; UTC when not given): its days run
from midnight to midnight there, so an event is under the day it starts on in ``tz``, and
its time is shown in the event's own time zone (with that zone's abbreviation when its
offset then is not ``tz``'s). Without ``month``, the month it is now in ``tz``.

The events are the API's listing (``GET /events`` with ``starts_after`` the month's first
instant and ``starts_before`` the next month's, sorted by start), read page by page through
its cursors, up to ``MONTH_MAX_EVENTS``: a month with more says so and links to the list.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.events import EventsAPI
from eventsapi.errors import BadRequest
from eventsapi.ui.api_calls import call
from eventsapi.ui.formats import known_zone
from eventsapi.ui.live import Live
from eventsapi.ui.visits import Visits

__all__ = ["MONTH_MAX_EVENTS", "CalendarPage"]

MONTH_MAX_EVENTS: Final = 1_000
"""The most events one month shows (the first ones by start)."""
_PAGE: Final = 200
_MONTH: Final = re.compile(r"(\d{4})-(\d{2})")
_FIRST_YEAR, _LAST_YEAR = 1900, 9998
_NEXT: Final = re.compile(r'<([^>]*)>;\s*rel="next"')
WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Entry(msgspec.Struct, frozen=True):
    """One event in a day: its document, and its start as the page shows it."""

    event: dict[str, Any]
    starts: datetime
    time: str
    """``HH:MM`` in the event's own zone, with that zone's abbreviation if not the page's."""


class Day(msgspec.Struct):
    date: date
    in_month: bool
    today: bool
    entries: list[Entry] = msgspec.field(default_factory=list)


class CalendarPage:
    """``GET /ui/calendar``."""

    def __init__(self, visits: Visits, events: EventsAPI, live: Live) -> None:
        self.visits = visits
        self.events = events
        self.live = live

    async def show(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        given = request.query_params
        zone_name = given.get("tz", "").strip() or "UTC"
        zone = known_zone(zone_name)
        if zone is None:
            raise BadRequest(
                "tz must be a time zone of the IANA database, such as Europe/Paris.",
                parameter="tz",
            )
        now = self.events.clock().astimezone(zone)
        year, month = _month(given.get("month"), now)
        first = datetime(year, month, 1, tzinfo=zone)
        following = _shift(year, month, 1)
        end = datetime(*following, 1, tzinfo=zone)
        stream = await self.live.since()
        found, more, problem = await self._events(request, first, end)
        if problem is not None:
            shown = {"problem": problem}
            return self.visits.page(visit, "error.html", shown, status=problem.status)
        weeks = _weeks(year, month, now.date())
        days = {day.date: day for week in weeks for day in week}
        for event in found:
            entry = _entry(event, zone_name, zone)
            if entry is not None and entry.starts.date() in days:
                days[entry.starts.date()].entries.append(entry)
        kept = [] if zone_name == "UTC" else [("tz", zone_name)]
        context = {
            "title": f"{first:%B} {year}",
            "month": f"{year:04d}-{month:02d}",
            "zone": zone_name,
            "weekdays": WEEKDAYS,
            "weeks": weeks,
            "count": len(found),
            "more": more,
            "previous": _link(_shift(year, month, -1), kept),
            "next": _link(following, kept),
            "this_month": "/ui/calendar" + (f"?{urlencode(kept)}" if kept else ""),
            "stream": stream,
        }
        return self.visits.page(visit, "calendar.html", context)

    async def _events(
        self, request: Request, first: datetime, end: datetime
    ) -> tuple[list[dict[str, Any]], bool, Any]:
        """The month's events by start (at most ``MONTH_MAX_EVENTS``), whether there are
        more, and the API's problem if a page failed."""
        limit = min(_PAGE, self.events.settings.max_page_size)
        base = [
            ("starts_after", first.isoformat()),
            ("starts_before", end.isoformat()),
            ("sort", "starts_at"),
            ("limit", str(limit)),
        ]
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = base if cursor is None else [*base, ("cursor", cursor)]
            answer = await call(self.events.list_events, request, "GET", "/events", query=query)
            if not answer.ok:
                return found, False, answer.problem()
            found += answer.json()
            cursor = _next_cursor(answer.headers.get("link", ""))
            if len(found) >= MONTH_MAX_EVENTS:
                return found[:MONTH_MAX_EVENTS], True, None
            if cursor is None:
                return found, False, None


def _month(text: str | None, now: datetime) -> tuple[int, int]:
    """The ``YYYY-MM`` asked for (``now``'s month if none); a 400 naming ``month`` if it is
    no month of the years the calendar shows."""
    if text is None or not text.strip():
        return now.year, now.month
    found = _MONTH.fullmatch(text.strip())
    if found is not None:
        year, month = int(found[1]), int(found[2])
        if _FIRST_YEAR <= year <= _LAST_YEAR and 1 <= month <= 12:
            return year, month
    raise BadRequest(
        f"month must be a year and a month as YYYY-MM (2031-06), from {_FIRST_YEAR} to "
        f"{_LAST_YEAR}.",
        parameter="month",
    )


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + by
    return index // 12, index % 12 + 1


def _link(month: tuple[int, int], kept: list[tuple[str, str]]) -> dict[str, str] | None:
    """The URL and name of another month's page, ``None`` beyond the calendar's years."""
    year, number = month
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        return None
    query = urlencode([("month", f"{year:04d}-{number:02d}"), *kept])
    return {"url": f"/ui/calendar?{query}", "name": f"{date(year, number, 1):%B} {year}"}


def _weeks(year: int, month: int, today: date) -> list[list[Day]]:
    """The weeks (Monday to Sunday) that hold a day of the month."""
    start = date(year, month, 1)
    start -= timedelta(days=start.weekday())
    weeks: list[list[Day]] = []
    day = start
    while not weeks or day.month == month:
        week = []
        for _ in range(7):
            week.append(Day(day, day.month == month, day == today))
            day += timedelta(days=1)
        weeks.append(week)
    return weeks


def _entry(event: dict[str, Any], zone_name: str, zone: zoneinfo.ZoneInfo) -> Entry | None:
    """``event`` as a day shows it (``None`` without a readable start)."""
    try:
        starts = datetime.fromisoformat(event.get("starts_at") or "")
    except ValueError:
        return None
    if starts.tzinfo is None:
        return None
    own_name = event.get("timezone") or "UTC"
    own = known_zone(own_name) or zone
    local = starts.astimezone(own)
    time = f"{local:%H:%M}"
    if own_name != zone_name and local.utcoffset() != starts.astimezone(zone).utcoffset():
        time += f" {local.tzname()}"
    return Entry(event, starts.astimezone(zone), time)


def _next_cursor(link: str) -> str | None:
    """The cursor of the API's next page, from its ``Link`` field."""
    found = _NEXT.search(link)
    if found is None:
        return None
    cursor = parse_qs(urlsplit(found[1]).query).get("cursor")
    return cursor[0] if cursor else None
