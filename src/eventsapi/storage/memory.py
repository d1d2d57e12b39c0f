"""An in-memory backend: a real implementation of the contract, for tests and demos.

Everything is lost when the process exits, and it cannot be shared between
worker processes; ``eventsapi serve`` says so when it is chosen.
"""

from __future__ import annotations

import bisect
import secrets

import msgspec

from eventsapi.domain.events import Event
from eventsapi.errors import AlreadyExists, NotFound
from eventsapi.storage.base import Build, Change, EventStore, Migration, Page

_encode = msgspec.json.Encoder().encode


class MemoryStore(EventStore):
    """Events in a dict, positions in a sorted list. Every method runs without awaiting,
    so each is atomic on the event loop."""

    name = "memory"

    def __init__(self) -> None:
        self._events: dict[str, tuple[int, Event]] = {}
        self._positions: list[int] = []
        self._ids_by_position: dict[int, str] = {}
        self._last_position = 0
        self._key = secrets.token_bytes(32)

    async def open(self, *, migrate: bool = True) -> None:
        return None

    async def close(self) -> None:
        return None

    async def check(self) -> None:
        return None

    async def get(self, event_id: str) -> Event | None:
        found = self._events.get(event_id)
        return found[1] if found else None

    async def get_json(self, event_id: str) -> tuple[bytes, int] | None:
        found = self._events.get(event_id)
        return (_encode(found[1]), found[1].version) if found else None

    async def list_page(self, *, after: int | None, limit: int) -> Page:
        start = 0 if after is None else bisect.bisect_right(self._positions, after)
        window = self._positions[start : start + limit + 1]
        documents = [
            _encode(self._events[self._ids_by_position[p]][1]) for p in window[:limit]
        ]
        more = len(window) > limit
        return Page(documents=documents, next_after=window[limit - 1] if more else None)

    async def create(self, event: Event) -> Event:
        if event.id in self._events:
            raise AlreadyExists(f"An event with id {event.id!r} already exists.")
        self._insert(event)
        return event

    async def update(self, event_id: str, change: Change) -> Event:
        found = self._events.get(event_id)
        if found is None:
            raise NotFound(f"No event with id {event_id!r}.")
        position, current = found
        updated = change(current)
        self._events[event_id] = (position, updated)
        return updated

    async def put(self, event_id: str, build: Build) -> tuple[Event, bool]:
        found = self._events.get(event_id)
        if found is None:
            event = build(None)
            self._insert(event)
            return event, True
        position, current = found
        event = build(current)
        self._events[event_id] = (position, event)
        return event, False

    async def delete(self, event_id: str) -> None:
        found = self._events.pop(event_id, None)
        if found is None:
            raise NotFound(f"No event with id {event_id!r}.")
        position = found[0]
        del self._positions[bisect.bisect_left(self._positions, position)]
        del self._ids_by_position[position]

    async def instance_key(self) -> bytes:
        return self._key

    async def migrations(self) -> list[Migration]:
        return []

    def _insert(self, event: Event) -> None:
        self._last_position += 1
        self._events[event.id] = (self._last_position, event)
        self._positions.append(self._last_position)
        self._ids_by_position[self._last_position] = event.id
