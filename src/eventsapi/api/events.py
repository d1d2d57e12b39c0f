"""The events resource over HTTP: parse the request, call the domain and the store, render.

Reads need no account: each shows what its reader may see (``Authn.reader``,
``domain/visibility.py``), an event they may not see being a missing one. Every write first
asks ``Authn.writer`` who is writing (401 or 403 before the body is read, so a refusal does
not depend on it); the event's owner is checked by the store inside the write's transaction
(``auth/ownership.py``), and idempotency keys are kept per account.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.authn import Authn
from eventsapi.api.body import JSON, JSON_PATCH, MERGE_PATCH, media_type, read_body
from eventsapi.api.conditions import Preconditions, entity_tag
from eventsapi.api.idempotency import (
    ANONYMOUS,
    Idempotency,
    SavedResponse,
    request_key,
    to_response,
)
from eventsapi.api.inflight import InFlight
from eventsapi.api.listing import links, parse_listing
from eventsapi.api.listing_cache import Answer, ListingCache
from eventsapi.api.responses import PRIVATE, JSONBytes
from eventsapi.api.store import EventStore
from eventsapi.api.sync_tokens import encode_sync_token
from eventsapi.auth.ownership import new_owner, ownership_guard
from eventsapi.auth.principal import Principal
from eventsapi.clock import Clock
from eventsapi.domain.events import (
    DOT_SEGMENTS,
    ID_PATTERN,
    Event,
    EventInput,
    UnsetType,
    build_event,
    input_id,
    parse_input,
    revise,
)
from eventsapi.domain.ids import new_event_id
from eventsapi.domain.merge_patch import patch_event
from eventsapi.domain.visibility import Reader
from eventsapi.errors import NotFound
from eventsapi.settings import Settings
from eventsapi.storage.events import Counted, Guard, Page, revision, served, with_counts
from eventsapi.storage.idempotency import IdempotencyKey

_encode = msgspec.json.Encoder().encode
_ID_MATCH: Final = re.compile(ID_PATTERN).fullmatch
# PATCH bodies: JSON Merge Patch (RFC 7396; also as plain JSON, as the tutorial
# sends it) or JSON Patch (RFC 6902). Without a Content-Type: merge patch.
_PATCH_TYPES: Final = (MERGE_PATCH, JSON, JSON_PATCH)


Handler = Callable[[Request], Awaitable[Response]]


class EventsAPI:
    """Handlers for ``/events`` and ``/events/{id}``, bound to one store and settings (the
    route table, ``api/routes_events.py``, maps paths and methods to them)."""

    def __init__(self, store: EventStore, settings: Settings, clock: Clock, authn: Authn) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.authn = authn
        self.keys = Idempotency(store, clock, timedelta(hours=settings.idempotency_key_hours))
        self._cursor_key = b""
        self.listings = InFlight(settings.max_listings_per_client)
        self.answers = ListingCache()
        self.changed: Callable[[], None] = _nobody_listens
        """Called after each write that changed an event (the live stream's wake-up)."""

    async def start(self) -> None:
        self._cursor_key = await self.store.instance_key()
        await self.keys.prune()

    async def stop(self) -> None:
        """Before the store closes: nothing to stop today (kept for symmetry with start)."""

    def _event_id(self, request: Request) -> str:
        event_id: str = request.path_params["id"]
        if _ID_MATCH(event_id) is None or event_id in DOT_SEGMENTS:
            raise NotFound(f"No event with id {event_id!r}.")
        return event_id

    def _preconditions(self, request: Request) -> Preconditions:
        return Preconditions.of(request, required=self.settings.require_preconditions)

    async def list_events(self, request: Request) -> Response:
        reader = await self.authn.reader(request)
        snapshot = await self.store.snapshot()
        key = (reader, request.scope["query_string"])
        if snapshot is not None:
            kept = self.answers.get(snapshot, key)
            if kept is not None:
                return JSONBytes(kept.body, headers=list(kept.headers))
        answer = await self._list_events(request, reader)
        if snapshot is not None:
            self.answers.keep(snapshot, key, answer)
        return JSONBytes(answer.body, headers=list(answer.headers))

    async def _list_events(self, request: Request, reader: Reader) -> Answer:
        listing = parse_listing(request.query_params, self.settings, self._cursor_key)
        # Before the listing: a change made meanwhile is after the token (replayed by the
        # next sync, harmlessly) or in the listing, never lost (api/changes.py).
        _, last_change = await self.store.change_horizon()
        if listing.searches_nothing:
            page = Page(total=0 if listing.query.count else None)
        else:
            with self.listings.slot(request):
                query = msgspec.structs.replace(listing.query, reader=reader)
                page = await self.store.list_page(query)
        headers = [(b"sync-token", encode_sync_token(self._cursor_key, last_change).encode())]
        if not reader.public_only:
            headers.append(PRIVATE)
        link = links(listing, page, request.url.path, self._cursor_key)
        if link is not None:
            headers.append((b"link", link))
        if page.total is not None:
            ceiling = self.settings.max_exact_count
            if page.total > ceiling:
                headers.append((b"x-total-count-above", b"%d" % ceiling))
            else:
                headers.append((b"x-total-count", b"%d" % page.total))
        return Answer(page.to_json(), tuple(headers))

    async def get_event(self, request: Request) -> Response:
        # Who reads, first: an event they may not see is answered as a missing one, before
        # any condition is looked at (a 304 would tell that it exists).
        reader = self.authn.anonymous_reader(request.scope) or await self.authn.reader(request)
        found = await self.store.get_json(self._event_id(request), reader=reader)
        if found is None:
            raise NotFound(f"No event with id {request.path_params['id']!r}.")
        document, stored_revision, registered, waitlisted, capacity = found
        tag = entity_tag(stored_revision, registered, waitlisted)
        headers = [(b"etag", tag.encode())]
        if not reader.public_only:
            headers.append(PRIVATE)
        # The raw headers, not request.headers: this is the hottest read, and most
        # requests carry no condition.
        for name, _ in request.scope["headers"]:
            if name == b"if-none-match":
                if Preconditions.of(request).not_modified(tag):
                    return Response(status_code=304, headers=_fields(headers))
                break
        body = with_counts(document, registered, waitlisted, capacity)
        return JSONBytes(body, headers=headers)

    async def create_event(self, request: Request) -> Response:
        principal = await self.authn.writer(request)
        owner = new_owner(principal)
        actor = _actor(principal)
        key = request_key(request)
        if key is None:
            body = await self._body(request, (JSON,))
            created = await self.store.create(self._new(body, owner), actor=actor)
            self.changed()
            return to_response(_respond_created(created))

        async def create(body: bytes, once: IdempotencyKey) -> Counted:
            created = await self.store.create(self._new(body, owner), once=once, actor=actor)
            self.changed()
            return created

        return await self.keys.run(
            request,
            key,
            lambda: self._body(request, (JSON,)),
            _respond_created,
            create,
            scope=_key_scope(principal),
        )

    def _new(self, body: bytes, owner: str | UnsetType) -> Event:
        data = parse_input(body)
        now = self.clock()
        event_id = input_id(data) or new_event_id(now)
        return build_event(data, event_id=event_id, now=now, owner=owner)

    async def _body(self, request: Request, accepted: tuple[str, ...]) -> bytes:
        return await read_body(request, accepted=accepted, limit=self.settings.max_body_bytes)

    async def put_event(self, request: Request) -> Response:
        principal = await self.authn.writer(request)
        event_id = self._event_id(request)
        conditions = self._preconditions(request)
        data = parse_input(await self._body(request, (JSON,)))
        now = self.clock()
        owned = ownership_guard(principal)

        def build(current: Event | None) -> Event:
            if current is not None and owned is not None:
                owned(current)
            conditions.check(current)
            if current is None:
                return build_event(data, event_id=event_id, now=now, owner=new_owner(principal))
            return revise(current, data, now=now)

        event, created = await self.store.put(event_id, build, actor=_actor(principal))
        self.changed()
        return to_response(_respond_created(event) if created else _respond(event))

    async def patch_event(self, request: Request) -> Response:
        principal = await self.authn.writer(request)
        event_id = self._event_id(request)
        conditions = self._preconditions(request)
        owned = ownership_guard(principal)
        actor = _actor(principal)
        key = request_key(request)
        if key is None:
            body = await self._body(request, _PATCH_TYPES)
            change = self._change(owned, conditions, request, body)
            updated = await self.store.update(event_id, change, actor=actor)
            self.changed()
            return to_response(_respond(updated))

        async def update(body: bytes, once: IdempotencyKey) -> Counted:
            change = self._change(owned, conditions, request, body)
            updated = await self.store.update(event_id, change, once=once, actor=actor)
            self.changed()
            return updated

        return await self.keys.run(
            request,
            key,
            lambda: self._body(request, _PATCH_TYPES),
            _respond,
            update,
            scope=_key_scope(principal),
        )

    def _change(
        self, owned: Guard | None, conditions: Preconditions, request: Request, body: bytes
    ) -> Callable[[Event], Event]:
        now = self.clock()
        patch: Callable[[Event, bytes], EventInput] = patch_event
        if media_type(request, _PATCH_TYPES) == JSON_PATCH:
            # Imported with the first JSON Patch: jsonpatch and jsonpointer (0.4 MB) are for
            # the clients that send one, most send merge patches.
            from eventsapi.domain.json_patch import patch_event_json

            patch = patch_event_json

        def change(current: Event) -> Event:
            if owned is not None:
                owned(current)  # first: another's event is answered as a missing one
            conditions.check(current)
            return revise(current, patch(current, body), now=now)

        return change

    async def delete_event(self, request: Request) -> Response:
        principal = await self.authn.writer(request)
        owned = ownership_guard(principal)
        conditions = self._preconditions(request)
        checks = [check for check in (owned, conditions.check if conditions.any else None) if check]
        guard = _all_of(checks)
        await self.store.delete(self._event_id(request), guard=guard, actor=_actor(principal))
        self.changed()
        return Response(status_code=204)


def _fields(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {name.decode(): value.decode() for name, value in raw}


def _nobody_listens() -> None:
    """The write hook while no stream is served."""


def _key_scope(principal: Principal | None) -> str:
    """Whose idempotency keys these are: one account's never replay another's."""
    return ANONYMOUS if principal is None else principal.user.id


def _actor(principal: Principal | None) -> str | None:
    """Who the change log names as making a change: the user, or no one (anonymous)."""
    return None if principal is None else principal.user.id


def _all_of(checks: list[Guard]) -> Guard | None:
    """One guard running ``checks`` in order; ``None`` when there is nothing to check."""
    if len(checks) <= 1:
        return checks[0] if checks else None

    def guard(current: Event) -> None:
        for check in checks:
            check(current)

    return guard


def _respond(written: Counted, status: int = 200) -> SavedResponse:
    """The response to a write: the event as it is served, with its counts at the write's
    commit (what an idempotency key saves)."""
    event, counts = written.event, written.counts
    document = _encode(event)
    tag = entity_tag(revision(event.version, document), counts.registered, counts.waitlisted)
    headers = [("content-type", "application/json"), ("etag", tag)]
    if status == 201:
        headers.append(("location", "/events/" + event.id))
    return SavedResponse(status, tuple(headers), served(document, counts))


def _respond_created(written: Counted) -> SavedResponse:
    return _respond(written, 201)
