"""The events page, ``/ui/``: search, filters by tag and status, a sort, and pages.

The filters are a GET form, so the page works without JavaScript and every state has a
URL to share or bookmark; htmx, when it runs, swaps only the results as the filters
change. The listing is the API's (``GET /events``): the page passes the filters on and
follows the API's cursors (its ``Link`` field) for the next and previous pages, so its
paging is the API's keyset paging, bounded, and stable while events are added.
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.events import EventsAPI
from eventsapi.ui.api_calls import call
from eventsapi.ui.live import Feeds, Live
from eventsapi.ui.visits import Visits

__all__ = ["PAGE_SIZE", "EventsListPage"]

PAGE_SIZE: Final = 20
SORTS: Final = (
    ("", "Best match, else oldest added first"),
    ("starts_at", "Soonest first"),
    ("-starts_at", "Latest first"),
    ("-created_at", "Newest added first"),
    ("created_at", "Oldest added first"),
    ("updated_at", "Least recently changed first"),
    ("title", "Title, A to Z"),
)
STATUSES: Final = (("", "Any"), ("scheduled", "Scheduled"), ("cancelled", "Cancelled"))
NOTICES: Final = {
    "signed-out": "You are signed out.",
    "deleted": "The event is deleted: it is in the trash.",  # owner_pages.py, with an undo
}
_LINK: Final = re.compile(r'<([^>]*)>;\s*rel="(next|prev)"')


def tags_of(text: str) -> list[str]:
    """The tags typed in one field, separated by commas."""
    return [tag.strip() for tag in text.split(",") if tag.strip()]


class EventsListPage:
    """``GET /ui/``."""

    def __init__(self, visits: Visits, events: EventsAPI, live: Live, feeds: Feeds) -> None:
        self.visits = visits
        self.events = events
        self.live = live
        self.feeds = feeds

    async def show(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        given = request.query_params
        filters = {
            "q": given.get("q", "").strip(),
            "tag": ", ".join(tag for value in given.getlist("tag") for tag in tags_of(value)),
            "status": given.get("status", ""),
            "sort": given.get("sort", ""),
        }
        query = [(name, filters[name]) for name in ("q", "status", "sort") if filters[name]]
        query += [("tag", tag) for tag in tags_of(filters["tag"])]
        kept = list(query)
        cursor = given.get("cursor", "")
        if cursor:
            query.append(("cursor", cursor))
        limit = min(PAGE_SIZE, self.events.settings.max_page_size)
        query.append(("limit", str(limit)))
        stream = await self.live.since()
        answer = await call(self.events.list_events, request, "GET", "/events", query=query)
        # The feed takes the list's filters but its own order (by start).
        feed = self.feeds.events(request, [(name, value) for name, value in kept if name != "sort"])
        context: dict[str, Any] = {
            "filters": filters,
            "sorts": SORTS,
            "statuses": STATUSES,
            "events": [],
            "pages": {},
            "errors": {},
            "notice": NOTICES.get(given.get("notice", "")),
            "undo": given.get("event", "") if given.get("notice") == "deleted" else "",
            "filtered": bool(kept),
            "feed": feed,
            "stream": stream,
        }
        if answer.ok:
            context["events"] = answer.json()
            context["pages"] = _pages(answer.headers.get("link", ""), kept)
        else:
            context["errors"] = answer.problem().by_field()
        return self.visits.page(visit, "events.html", context, status=answer.status)


def _pages(link: str, kept: list[tuple[str, str]]) -> dict[str, str]:
    """The UI's URLs of the next and previous pages, from the API's ``Link`` field."""
    found = {}
    for target, relation in _LINK.findall(link):
        cursor = parse_qs(urlsplit(target).query).get("cursor")
        if cursor:
            found[relation] = "/ui/?" + urlencode([*kept, ("cursor", cursor[0])])
    return found
