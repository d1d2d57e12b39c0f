"""The trash over HTTP: ``GET /trash``, ``POST /trash/{id}/restore``, ``DELETE /trash/{id}``.

Who may: as with the events' writes (``Authn.writer``: an account with ``events:write``, or
anyone while anonymous writes are on, as the one user of a local service). A member sees and
handles only their own deleted events, an admin everyone's; another's is answered exactly as
a missing one (404), so the trash tells no one which ids others deleted. The check runs in the
store's transaction, on the trashed event (``auth/ownership.py``), so it cannot be raced.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.authn import Authn
from eventsapi.api.conditions import entity_tag
from eventsapi.api.cursors import Cursor, decode_cursor, encode_cursor
from eventsapi.api.parameters import single_values, whole_number
from eventsapi.api.responses import JSONBytes
from eventsapi.api.store import EventStore
from eventsapi.auth.ownership import ownership_guard
from eventsapi.auth.principal import Principal
from eventsapi.clock import Clock
from eventsapi.domain.accounts import Scope
from eventsapi.domain.events import DOT_SEGMENTS, ID_PATTERN, Event, restored
from eventsapi.domain.query import utc_text
from eventsapi.errors import NotFound
from eventsapi.settings import Settings
from eventsapi.storage.events import revision, served
from eventsapi.storage.trash import LIMIT_MAX, Trashed, TrashQuery

__all__ = ["LIMIT_DEFAULT", "TrashAPI", "TrashedEvent", "trash_schemas"]

LIMIT_DEFAULT: Final = 50
_ID_MATCH: Final = re.compile(ID_PATTERN).fullmatch
_encode = msgspec.json.Encoder().encode


class TrashedEvent(msgspec.Struct, kw_only=True):
    """An event in the trash (``GET /trash``)."""

    id: str
    event: msgspec.Raw
    """The event as it was when it was deleted, as ``GET /events/{id}`` answered then (with
    its counts, which cannot change while it is in the trash)."""
    deleted_at: datetime
    deleted_by: str | None
    """The id of the account that deleted it (``null``: an anonymous local client)."""
    purge_at: datetime
    """When it will be purged for good (``trash_retention_days`` after ``deleted_at``)."""


def trash_schemas() -> dict[str, Any]:
    """``TrashedEvent``, from the struct the server encodes; ``event`` is an ``Event``."""
    _, schemas = msgspec.json.schema_components(
        (TrashedEvent,), ref_template="#/components/schemas/{name}"
    )
    properties = schemas["TrashedEvent"]["properties"]
    properties["event"] = {
        "$ref": "#/components/schemas/Event",
        "description": "The event as it was deleted",
    }
    properties["deleted_by"]["description"] = (
        "The id of the account that deleted it (`null`: an anonymous local client)"
    )
    properties["purge_at"]["description"] = "When it is purged for good"
    return schemas


class TrashAPI:
    """Handlers of the trash, bound to one store (the route table is
    ``api/routes_trash.py``)."""

    def __init__(self, store: EventStore, settings: Settings, clock: Clock, authn: Authn) -> None:
        self.store = store
        self.clock = clock
        self.authn = authn
        self.keep = timedelta(days=settings.trash_retention_days)
        self._cursor_key = b""
        self.changed: Callable[[], None] = lambda: None
        """Called after each restore and purge (the live stream's wake-up), as
        ``EventsAPI.changed``."""

    async def start(self) -> None:
        self._cursor_key = await self.store.instance_key()

    def _event_id(self, request: Request) -> str:
        event_id: str = request.path_params["id"]
        if _ID_MATCH(event_id) is None or event_id in DOT_SEGMENTS:
            raise NotFound(f"No event with id {event_id!r}.")
        return event_id

    async def list_trash(self, request: Request) -> Response:
        principal = await self.authn.writer(request)
        owner = _owner_filter(principal)
        params = single_values(request.query_params, ("limit", "cursor"))
        limit = LIMIT_DEFAULT
        if "limit" in params:
            limit = whole_number("limit", params["limit"], 1, LIMIT_MAX)
        # A cursor is bound to whose trash it pages: another account's is refused (400).
        listing = "trash:" + ("*" if owner is None else owner)
        after = None
        if "cursor" in params:
            position = decode_cursor(self._cursor_key, listing, params["cursor"]).position
            after = (datetime.fromisoformat(str(position[0])), str(position[1]))
        page = await self.store.trash_page(TrashQuery(owner=owner, limit=limit, after=after))
        headers = []
        if page.next is not None:
            cursor = Cursor((utc_text(page.next[0]), page.next[1]), backwards=False)
            token = encode_cursor(self._cursor_key, listing, cursor)
            link = f'<{request.url.path}?limit={limit}&cursor={token}>; rel="next"'
            headers.append((b"link", link.encode()))
        body = _encode([self._shown(trashed) for trashed in page.items])
        return JSONBytes(body, headers=headers)

    def _shown(self, trashed: Trashed) -> TrashedEvent:
        return TrashedEvent(
            id=trashed.event_id,
            event=msgspec.Raw(trashed.document),
            deleted_at=trashed.deleted_at,
            deleted_by=trashed.deleted_by,
            purge_at=trashed.deleted_at + self.keep,
        )

    async def restore(self, request: Request) -> Response:
        principal = await self.authn.writer(request)
        owned = ownership_guard(principal)
        now = self.clock()

        def change(trashed: Event) -> Event:
            if owned is not None:
                owned(trashed)  # another's is answered as a missing one
            return restored(trashed, now=now)

        back = await self.store.restore(self._event_id(request), change, actor=_actor(principal))
        self.changed()
        event, counts = back.event, back.counts
        document = _encode(event)
        tag = entity_tag(revision(event.version, document), counts.registered, counts.waitlisted)
        headers = [(b"etag", tag.encode()), (b"location", f"/events/{event.id}".encode())]
        return JSONBytes(served(document, counts), status_code=201, headers=headers)

    async def purge(self, request: Request) -> Response:
        principal = await self.authn.writer(request)
        await self.store.purge(
            self._event_id(request), guard=ownership_guard(principal), actor=_actor(principal)
        )
        self.changed()
        return Response(status_code=204)


def _owner_filter(principal: Principal | None) -> str | None:
    """Whose deleted events ``principal`` sees: their own, or everyone's (``None``) for an
    admin and for an anonymous local client (who may delete any event)."""
    if principal is None or principal.can(Scope.ADMIN):
        return None
    return principal.user.id


def _actor(principal: Principal | None) -> str | None:
    return None if principal is None else principal.user.id
