"""An event's pages for its owner (and admins): edit it, see its registrations and download
them as CSV, delete it to the trash.

**Editing** sends only the fields the person changed, as a merge patch
(``PATCH /events/{id}``), with ``If-Match`` holding the event's ``ETag`` as the form was
loaded: if someone changed the event meanwhile, the API refuses (412) and changes nothing.
The page then shows what changed since the form was loaded, field by field, beside what the
person typed; the form keeps their changes, takes the others' changes in the fields they
did not touch, and carries the new ``ETag``, so sending it again applies their edit over
the current event and nothing of either is lost. The values the form was loaded with travel
in hidden fields (``was_*``): the server keeps nothing between the two requests.

**Registrations** are read from the store, as ``eventsapi registrations export`` reads
them, once the page has checked that the visitor manages the event (the API's rule,
``auth/ownership.manages``); the CSV is that command's file (``registrations_export.py``).
Anyone else is answered as the API answers a write to another's event: no such event (404).

**Deleting** is the API's ``DELETE /events/{id}`` (to the trash); the next page has an
"Undo" button, the trash's restore.
"""

from __future__ import annotations

import io
from typing import Any, Final
from urllib.parse import quote

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.body import MERGE_PATCH
from eventsapi.api.events import EventsAPI
from eventsapi.api.store import EventStore
from eventsapi.auth.ownership import manages
from eventsapi.domain.events import UNSET
from eventsapi.domain.registrations import Registration
from eventsapi.errors import NotFound
from eventsapi.registrations_export import Export, export
from eventsapi.ui import event_form
from eventsapi.ui.api_calls import Answer, call
from eventsapi.ui.render import see_other
from eventsapi.ui.visits import Visit, Visits

__all__ = ["OwnerPages", "event_url"]

WAS: Final = "was_"
"""The prefix of the hidden fields holding the values the edit form was loaded with."""
TABLE_ROWS: Final = 500
"""Registrations the page's table shows at most; the CSV has them all."""


def event_url(event_id: str, tail: str = "") -> str:
    return "/ui/events/" + quote(event_id, safe="") + tail


class OwnerPages:
    """``/ui/events/{id}/edit``, ``/registrations``, ``/registrations.csv`` and
    ``/delete``."""

    def __init__(self, visits: Visits, events: EventsAPI, store: EventStore) -> None:
        self.visits = visits
        self.events = events
        self.store = store

    async def _owned_event(self, request: Request) -> _Owned | Response:
        """The visit of ``request`` and the event of its path, which the visitor manages,
        with its ``ETag``; or the page of the API's refusal: its problem as it answered
        (an event no one may see), or no such event (404), as for a write to another's
        event."""
        visit = await self.visits.start(request)
        event_id: str = request.path_params["id"]
        answer = await self._read(request, event_id)
        if not answer.ok:
            return self._problem(visit, answer)
        event: dict[str, Any] = answer.json()
        if not self.manages(visit, event):
            if visit.principal is None:
                await self.events.authn.writer(request)  # 401: sign in first
            raise NotFound(f"No event with id {event_id!r}.")
        return _Owned(visit, event, answer.headers.get("etag", ""))

    def manages(self, visit: Visit, event: dict[str, Any]) -> bool:
        """Whether the visitor may edit and delete ``event`` and see who registered."""
        anonymous = visit.principal is None and self.events.authn.anonymous_writes(
            visit.request.scope
        )
        return manages(visit.principal, event.get("owner", UNSET), anonymous_writes=anonymous)

    async def _read(self, request: Request, event_id: str) -> Answer:
        return await call(
            self.events.get_event,
            request,
            "GET",
            f"/events/{event_id}",
            path_params={"id": event_id},
        )

    # Editing

    async def edit_form(self, request: Request) -> Response:
        owned = await self._owned_event(request)
        if isinstance(owned, Response):
            return owned
        values = event_form.shown(owned.event)
        return self._edit(owned.visit, owned.event, owned.etag, values, values)

    async def save(self, request: Request) -> Response:
        visit, form = await self.visits.form(request)
        event_id: str = request.path_params["id"]
        typed = event_form.typed(form)
        loaded = event_form.typed(form, WAS)
        tag = form.get("etag")
        answer = await call(
            self.events.patch_event,
            request,
            "PATCH",
            f"/events/{event_id}",
            path_params={"id": event_id},
            json=event_form.patch(typed, loaded),
            headers=[("If-Match", tag)] if tag else [],
            content_type=MERGE_PATCH,
        )
        if answer.ok:
            return see_other(event_url(event_id, "?notice=saved"))
        if answer.status != 412:
            if answer.status in (401, 403, 404):
                return self._problem(visit, answer)
            event = {"id": event_id, "title": loaded["title"]}
            errors = answer.problem().by_field()
            return self._edit(visit, event, tag, typed, loaded, errors=errors, status=answer.status)
        current = await self._read(request, event_id)
        if not current.ok:  # deleted meanwhile
            return self._problem(visit, current)
        event = current.json()
        now = event_form.shown(event)
        changes, merged = _merge(loaded, now, typed)
        return self._edit(
            visit,
            event,
            current.headers.get("etag", ""),
            merged,
            now,
            changes=changes,
            status=409,
        )

    def _edit(
        self,
        visit: Visit,
        event: dict[str, Any],
        tag: str,
        typed: dict[str, str],
        loaded: dict[str, str],
        *,
        errors: dict[str, list[str]] | None = None,
        changes: list[dict[str, Any]] | None = None,
        status: int = 200,
    ) -> Response:
        context = {
            "event": event,
            "url": event_url(event["id"]),
            "etag": tag,
            "typed": typed,
            "loaded": loaded,
            "errors": errors or {},
            "changes": changes,
        }
        return self.visits.page(visit, "edit_event.html", context, status=status)

    # Registrations

    async def registrations(self, request: Request) -> Response:
        owned = await self._owned_event(request)
        if isinstance(owned, Response):
            return owned
        event = owned.event
        rows = _Rows(TABLE_ROWS)
        await export(self.store, event["id"], rows, everyone=False)
        context = {
            "event": event,
            "url": event_url(event["id"]),
            "registrations": rows.kept,
            "count": rows.count,
            "shown": TABLE_ROWS,
        }
        return self.visits.page(owned.visit, "registrations.html", context)

    async def registrations_csv(self, request: Request) -> Response:
        owned = await self._owned_event(request)
        if isinstance(owned, Response):
            return owned
        event = owned.event
        out = io.BytesIO()
        await export(self.store, event["id"], Export(out, "csv"), everyone=False)
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in event["id"])
        headers = {
            "Content-Disposition": f'attachment; filename="registrations-{name}.csv"',
            "Cache-Control": "no-store",
        }
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)

    # Deleting

    async def delete(self, request: Request) -> Response:
        visit, form = await self.visits.form(request)
        event_id: str = request.path_params["id"]
        tag = form.get("etag")
        answer = await call(
            self.events.delete_event,
            request,
            "DELETE",
            f"/events/{event_id}",
            path_params={"id": event_id},
            headers=[("If-Match", tag)] if tag else [],
        )
        if answer.ok:
            return see_other("/ui/?notice=deleted&event=" + quote(event_id, safe=""))
        if answer.status == 412:
            return see_other(event_url(event_id, "?notice=changed"))
        return self._problem(visit, answer)

    def _problem(self, visit: Visit, answer: Answer) -> Response:
        problem = answer.problem()
        return self.visits.page(visit, "error.html", {"problem": problem}, status=problem.status)


class _Owned(msgspec.Struct, frozen=True):
    """An event the visitor manages, as the API read it for them."""

    visit: Visit
    event: dict[str, Any]
    etag: str


class _Rows(Export):
    """An export into a list for the page's table: the first ``most`` registrations, and
    the count of them all."""

    def __init__(self, most: int) -> None:
        super().__init__(io.BytesIO(), "json")
        self.most = most
        self.kept: list[Registration] = []
        self.count = 0

    def page(self, registrations: list[Registration]) -> None:
        self.kept += registrations[: max(0, self.most - len(self.kept))]
        self.count += len(registrations)


def _merge(
    loaded: dict[str, str], now: dict[str, str], typed: dict[str, str]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """What changed since the form was ``loaded`` (each field: as loaded, as it is ``now``,
    as ``typed``, and whether both changed it), and the form to show again: the person's
    changes kept, the others' taken in the fields the person did not touch."""
    changes = []
    merged = {}
    for name in event_form.FIELDS:
        mine = typed[name] != loaded[name]
        merged[name] = typed[name] if mine else now[name]
        if now[name] != loaded[name]:
            changes.append(
                {
                    "name": name,
                    "loaded": loaded[name],
                    "now": now[name],
                    "typed": typed[name],
                    "both": mine and typed[name] != now[name],
                }
            )
    return changes, merged
