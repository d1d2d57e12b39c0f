"""The events resource over HTTP: parse the request, call the domain and the store, render."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Final
from urllib.parse import urlencode

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from eventsapi.api.body import JSON, MERGE_PATCH, read_body
from eventsapi.api.cursors import decode_cursor, encode_cursor
from eventsapi.api.responses import JSONBytes
from eventsapi.clock import Clock
from eventsapi.domain.events import (
    DOT_SEGMENTS,
    ID_PATTERN,
    Event,
    build_event,
    input_id,
    parse_input,
    revise,
)
from eventsapi.domain.ids import new_event_id
from eventsapi.domain.merge_patch import patch_event
from eventsapi.errors import BadRequest, NotFound
from eventsapi.settings import Settings
from eventsapi.storage.base import EventStore

_encode = msgspec.json.Encoder().encode
_LIST_PARAMETERS: Final = frozenset({"limit", "cursor"})
_ID_MATCH: Final = re.compile(ID_PATTERN).fullmatch


Handler = Callable[[Request], Awaitable[Response]]


def with_head(handlers: dict[str, Handler]) -> dict[str, Handler]:
    """``handlers`` with HEAD answered by the GET handler, when there is one."""
    return {**handlers, "HEAD": handlers["GET"]} if "GET" in handlers else handlers


class EventsAPI:
    """Handlers for ``/events`` and ``/events/{id}``, bound to one store and settings."""

    def __init__(self, store: EventStore, settings: Settings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self._cursor_key = b""

    async def start(self) -> None:
        self._cursor_key = await self.store.instance_key()

    def handlers(self) -> dict[str, dict[str, Handler]]:
        """The event routes: path template, then method, then handler (HEAD is GET's).

        The router and the hot path (``api/hotpath.py``) both serve from this table.
        """
        return {
            "/events/{id}": with_head(
                {
                    "GET": self.get_event,
                    "PUT": self.put_event,
                    "PATCH": self.patch_event,
                    "DELETE": self.delete_event,
                }
            ),
            "/events": with_head({"GET": self.list_events, "POST": self.create_event}),
            "/event": {"POST": self.create_event},
        }

    def _event_id(self, request: Request) -> str:
        event_id: str = request.path_params["id"]
        if _ID_MATCH(event_id) is None or event_id in DOT_SEGMENTS:
            raise NotFound(f"No event with id {event_id!r}.")
        return event_id

    async def list_events(self, request: Request) -> Response:
        limit, after = self._list_parameters(request.query_params)
        page = await self.store.list_page(after=after, limit=limit)
        headers = []
        if page.next_after is not None:
            query = urlencode(
                {"limit": limit, "cursor": encode_cursor(self._cursor_key, page.next_after)}
            )
            headers.append((b"link", f'<{request.url.path}?{query}>; rel="next"'.encode()))
        return JSONBytes(page.to_json(), headers=headers)

    def _list_parameters(self, query: Mapping[str, str]) -> tuple[int, int | None]:
        for name in query:
            if name not in _LIST_PARAMETERS:
                raise BadRequest(f"Unknown query parameter {name!r}.", parameter=name)
        limit = self.settings.page_size
        raw_limit = query.get("limit")
        if raw_limit is not None:
            top = self.settings.max_page_size
            if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= top:
                raise BadRequest(
                    f"limit must be a whole number from 1 to {top}.", parameter="limit"
                )
            limit = int(raw_limit)
        cursor = query.get("cursor")
        after = None if cursor is None else decode_cursor(self._cursor_key, cursor)
        return limit, after

    async def get_event(self, request: Request) -> Response:
        found = await self.store.get_json(self._event_id(request))
        if found is None:
            raise NotFound(f"No event with id {request.path_params['id']!r}.")
        return JSONBytes(found[0])

    async def create_event(self, request: Request) -> Response:
        body = await read_body(request, accepted=(JSON,), limit=self.settings.max_body_bytes)
        data = parse_input(body)
        now = self.clock()
        event_id = input_id(data) or new_event_id(now)
        event = await self.store.create(build_event(data, event_id=event_id, now=now))
        return _render(event, status=201, location=True)

    async def put_event(self, request: Request) -> Response:
        event_id = self._event_id(request)
        body = await read_body(request, accepted=(JSON,), limit=self.settings.max_body_bytes)
        data = parse_input(body)
        now = self.clock()

        def build(current: Event | None) -> Event:
            if current is None:
                return build_event(data, event_id=event_id, now=now)
            return revise(current, data, now=now)

        event, created = await self.store.put(event_id, build)
        return _render(event, status=201 if created else 200, location=created)

    async def patch_event(self, request: Request) -> Response:
        event_id = self._event_id(request)
        body = await read_body(
            request, accepted=(MERGE_PATCH, JSON), limit=self.settings.max_body_bytes
        )
        now = self.clock()

        def change(current: Event) -> Event:
            return revise(current, patch_event(current, body), now=now)

        return _render(await self.store.update(event_id, change))

    async def delete_event(self, request: Request) -> Response:
        await self.store.delete(self._event_id(request))
        return Response(status_code=204)


def _render(event: Event, *, status: int = 200, location: bool = False) -> Response:
    headers = [(b"location", b"/events/" + event.id.encode())] if location else None
    return JSONBytes(_encode(event), status, headers)
