"""The trash, ``/ui/trash``: deleted events, with restore and purge.

The listing, restore and purge are the API's (``GET /trash``, ``POST /trash/{id}/restore``,
``DELETE /trash/{id}``), so who sees what is its rule: a member their own deleted events,
an admin everyone's, another's answered as a missing one. Purging is for good, so it asks
first: the purge form leads to a page that asks to confirm, whose form purges.
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import parse_qs, quote, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.trash import TrashAPI
from eventsapi.ui.api_calls import Answer, Handler, call
from eventsapi.ui.owner_pages import event_url
from eventsapi.ui.render import see_other
from eventsapi.ui.visits import Visit, Visits

__all__ = ["TrashPage"]

PATH: Final = "/ui/trash"
PAGE_SIZE: Final = 20
NOTICES: Final = {"purged": "The event is purged for good."}
_NEXT: Final = re.compile(r'<([^>]*)>;\s*rel="next"')


class TrashPage:
    """``GET /ui/trash``, ``POST /ui/trash/{id}/restore`` and ``/purge``."""

    def __init__(self, visits: Visits, trash: TrashAPI) -> None:
        self.visits = visits
        self.trash = trash

    async def show(self, request: Request) -> Response:
        visit = await self.visits.start(request)
        query = [("limit", str(PAGE_SIZE))]
        cursor = request.query_params.get("cursor", "")
        if cursor:
            query.append(("cursor", cursor))
        answer = await call(self.trash.list_trash, request, "GET", "/trash", query=query)
        context: dict[str, Any] = {
            "trashed": [],
            "next": None,
            "notice": NOTICES.get(request.query_params.get("notice", "")),
            "problem": None,
            "sign_in": "/ui/sign-in?next=" + quote(PATH, safe=""),
        }
        if answer.ok:
            context["trashed"] = answer.json()
            context["next"] = _next_page(answer.headers.get("link", ""))
        else:
            context["problem"] = answer.problem()
        return self.visits.page(visit, "trash.html", context, status=answer.status)

    async def restore(self, request: Request) -> Response:
        visit, _ = await self.visits.form(request)
        event_id: str = request.path_params["id"]
        answer = await self._call(self.trash.restore, request, "POST", f"/trash/{event_id}/restore")
        if answer.ok:
            return see_other(event_url(event_id, "?notice=restored"))
        return self._problem(visit, answer)

    async def purge(self, request: Request) -> Response:
        visit, form = await self.visits.form(request)
        event_id: str = request.path_params["id"]
        if form.get("confirm") != "yes":
            context = {"event_id": event_id, "name": form.get("title") or event_id}
            return self.visits.page(visit, "purge.html", context)
        answer = await self._call(self.trash.purge, request, "DELETE", f"/trash/{event_id}")
        if answer.ok:
            return see_other(PATH + "?notice=purged")
        return self._problem(visit, answer)

    async def _call(self, handler: Handler, request: Request, method: str, path: str) -> Answer:
        event_id: str = request.path_params["id"]
        return await call(handler, request, method, path, path_params={"id": event_id})

    def _problem(self, visit: Visit, answer: Answer) -> Response:
        problem = answer.problem()
        return self.visits.page(visit, "error.html", {"problem": problem}, status=problem.status)


def _next_page(link: str) -> str | None:
    """The UI's URL of the next page, from the API's ``Link`` field."""
    found = _NEXT.search(link)
    if found is None:
        return None
    cursor = parse_qs(urlsplit(found.group(1)).query).get("cursor")
    return None if not cursor else PATH + "?cursor=" + quote(cursor[0], safe="")
