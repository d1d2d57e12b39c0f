"""Events and idempotency keys in memory: a dict of events and a sorted list of positions;
a deleted event goes to the trash (a dict, read and emptied by ``trash.py``). Each event's
registrations' counts are kept beside it (``_tallies``, kept by ``registrations.py``), as
the SQL backends keep them in two columns.

Each write appends its record to the change log (``changes.py``) in the same step."""

from __future__ import annotations

import bisect
from datetime import datetime

import msgspec

from eventsapi.domain.events import Event
from eventsapi.domain.query import EventQuery, Position, matches, relevance, sort_position
from eventsapi.domain.registrations import Counts
from eventsapi.errors import AlreadyExists, InTrash, NotFound
from eventsapi.storage import changes, idempotency, trash
from eventsapi.storage.events import (
    Build,
    Change,
    Counted,
    EventRow,
    Guard,
    Page,
    page_of,
    revision,
    served,
)
from eventsapi.storage.idempotency import IdempotencyKey, SavedKey
from eventsapi.storage.memory.changes import MemoryChanges
from eventsapi.storage.trash import Trashed

_encode = msgspec.json.Encoder().encode


class MemoryEvents(MemoryChanges):
    """The event and idempotency-key methods of the memory store."""

    def __init__(self) -> None:
        super().__init__()
        self._events: dict[str, tuple[int, Event]] = {}
        self._positions: list[int] = []
        self._ids_by_position: dict[int, str] = {}
        self._last_position = 0
        self._saved: dict[tuple[str, str], tuple[datetime, SavedKey]] = {}
        self._trash: dict[str, Trashed] = {}
        """Deleted events by id (``trash.py``)."""
        self._tallies: dict[str, dict[str, int]] = {}
        """Per event id, its registrations by status, confirmed and waitlisted (kept by
        ``registrations.py``; an event in the trash keeps its tally for a restore)."""

    def _counts(self, event: Event) -> Counts:
        tally = self._tallies.get(event.id)
        if tally is None:
            return Counts(0, 0, event.capacity)
        return Counts(tally["confirmed"], tally["waitlisted"], event.capacity)

    def _served(self, event: Event) -> bytes:
        return served(_encode(event), self._counts(event))

    async def get(self, event_id: str) -> Event | None:
        found = self._events.get(event_id)
        return found[1] if found else None

    async def get_json(self, event_id: str) -> EventRow | None:
        found = self._events.get(event_id)
        if found is None:
            return None
        event = found[1]
        document = _encode(event)
        counts = self._counts(event)
        return (
            document,
            revision(event.version, document),
            counts.registered,
            counts.waitlisted,
            event.capacity,
        )

    async def list_page(self, query: EventQuery) -> Page:
        found: list[tuple[Position, Event]] = []
        for position in self._positions:
            event = self._events[self._ids_by_position[position]][1]
            if matches(event, query.filter):
                rank = relevance(event, query.filter.terms) if query.filter.terms else 0.0
                found.append((sort_position(event, query.sort, seq=position, rank=rank), event))
        found.sort(key=lambda item: item[0], reverse=query.descending)
        if query.after is not None:
            found = [item for item in found if self._beyond(item[0], query.after, query)]
        if query.before is not None:
            found = [item for item in found if self._beyond(query.before, item[0], query)]
            found = found[-query.limit - 1 :]
            more = len(found) > query.limit
            window = found[-query.limit :] if more else found
        else:
            more = len(found) > query.limit
            window = found[: query.limit]
        return page_of(
            [self._served(event) for _, event in window],
            [position for position, _ in window],
            query,
            more=more,
            total=self._count(query) if query.count else None,
        )

    @staticmethod
    def _beyond(position: Position, mark: Position, query: EventQuery) -> bool:
        """Whether ``position`` comes after ``mark`` in the query's order."""
        return position < mark if query.descending else position > mark

    def _count(self, query: EventQuery) -> int:
        found = sum(1 for _, event in self._events.values() if matches(event, query.filter))
        ceiling = query.count_ceiling
        return found if ceiling is None else min(found, ceiling + 1)

    def _claim(self, once: IdempotencyKey | None) -> None:
        if once is not None:
            idempotency.claimed(self._saved_key(once.scope, once.key, once.now), once)

    def _save(self, once: IdempotencyKey | None, event: Event) -> None:
        if once is not None:
            saved = SavedKey(once.fingerprint, self._served(event))
            self._saved[(once.scope, once.key)] = (once.expires_at, saved)

    def _saved_key(self, scope: str, key: str, now: datetime) -> SavedKey | None:
        found = self._saved.get((scope, key))
        return found[1] if found is not None and found[0] > now else None

    async def create(
        self, event: Event, *, once: IdempotencyKey | None = None, actor: str | None = None
    ) -> Counted:
        self._claim(once)
        if event.id in self._events:
            raise AlreadyExists(f"An event with id {event.id!r} already exists.")
        self._refuse_trashed(event.id)
        self._insert(event, actor)
        self._save(once, event)
        return Counted(event, self._counts(event))

    async def update(
        self,
        event_id: str,
        change: Change,
        *,
        once: IdempotencyKey | None = None,
        actor: str | None = None,
    ) -> Counted:
        self._claim(once)
        found = self._events.get(event_id)
        if found is None:
            raise NotFound(f"No event with id {event_id!r}.")
        position, current = found
        updated = change(current)
        self._replace(position, updated, actor)
        self._save(once, updated)  # as it is served after the change (and any promotion)
        return Counted(updated, self._counts(updated))

    async def put(
        self, event_id: str, build: Build, *, actor: str | None = None
    ) -> tuple[Counted, bool]:
        found = self._events.get(event_id)
        if found is None:
            self._refuse_trashed(event_id)
            event = build(None)
            self._insert(event, actor)
            return Counted(event, self._counts(event)), True
        position, current = found
        event = build(current)
        self._replace(position, event, actor)
        return Counted(event, self._counts(event)), False

    async def delete(
        self, event_id: str, *, guard: Guard | None = None, actor: str | None = None
    ) -> None:
        found = self._events.get(event_id)
        if found is None:
            raise NotFound(f"No event with id {event_id!r}.")
        if guard is not None:
            guard(found[1])
        del self._events[event_id]
        position = found[0]
        del self._positions[bisect.bisect_left(self._positions, position)]
        del self._ids_by_position[position]
        self._removed(found[1], actor)
        self._append(changes.deleted(event_id, found[1].version, actor=actor))

    async def saved_key(self, scope: str, key: str, now: datetime) -> SavedKey | None:
        return self._saved_key(scope, key, now)

    async def prune_keys(self, now: datetime) -> int:
        expired = [name for name, (expires_at, _) in self._saved.items() if expires_at <= now]
        for name in expired:
            del self._saved[name]
        return len(expired)

    def _refuse_trashed(self, event_id: str) -> None:
        """Raise ``InTrash`` if ``event_id`` is in the trash (``trash.py``)."""
        if event_id in self._trash:
            raise InTrash(trash.in_trash_message(event_id))

    def _removed(self, event: Event, actor: str | None) -> None:
        """Keep the deleted ``event`` in the trash (``trash.py``)."""
        self._trash[event.id] = Trashed(
            event_id=event.id,
            owner=trash.owner_of(event),
            version=event.version,
            document=self._served(event),
            deleted_at=changes.now(),
            deleted_by=actor,
        )

    def _forget(self, event_id: str) -> None:
        """Drop what belongs to a purged event (registrations: ``registrations.py``)."""

    def _add(self, event: Event) -> None:
        self._last_position += 1
        self._events[event.id] = (self._last_position, event)
        self._positions.append(self._last_position)
        self._ids_by_position[self._last_position] = event.id

    def _insert(self, event: Event, actor: str | None) -> None:
        self._add(event)
        counts = self._counts(event)
        self._append(changes.written(event, _encode(event), counts, created=True, actor=actor))

    def _replace(self, position: int, event: Event, actor: str | None) -> None:
        self._events[event.id] = (position, event)
        counts = self._counts(event)
        self._append(changes.written(event, _encode(event), counts, created=False, actor=actor))
