"""Events in SQLite: reads by id on the loop, listings in reader threads, writes as jobs.

Each write is a job of the writer thread (``writer.Job``): the caller's pure function runs
inside the group's transaction, under the write lock, and a keyed write claims and saves its
idempotency key in that same transaction (``idempotency.py``). The write's record in the
change log is appended last (``changes.append``). A delete moves the event to the trash
(``trash.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Final

from eventsapi.domain.events import Event
from eventsapi.domain.query import EventQuery
from eventsapi.errors import AlreadyExists, NotFound
from eventsapi.storage import changes
from eventsapi.storage.events import (
    Build,
    Change,
    Counted,
    EventRow,
    Guard,
    Page,
    page_of,
    served,
    with_counts,
)
from eventsapi.storage.idempotency import IdempotencyKey
from eventsapi.storage.sqlite import idempotency, query, rows
from eventsapi.storage.sqlite.changes import append
from eventsapi.storage.sqlite.connection import Connections
from eventsapi.storage.sqlite.registrations import capacity_changed
from eventsapi.storage.sqlite.trash import move, refuse_trashed

_GET_JSON: Final = "SELECT doc, revision, registered, waitlisted, capacity FROM events WHERE id = ?"


def _create(
    event: Event, once: IdempotencyKey | None, actor: str | None
) -> Callable[[sqlite3.Connection], Counted]:
    def work(conn: sqlite3.Connection) -> Counted:
        idempotency.claim(conn, once)
        refuse_trashed(conn, event.id)
        try:
            document = rows.insert(conn, event)
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"An event with id {event.id!r} already exists.") from None
        created = Counted.fresh(event)
        # The key's row cannot collide (it was looked up under the write lock just
        # now), so the only way it fails is a database error, and that undoes the
        # whole group: the event and its key commit together or not at all.
        idempotency.save(conn, once, served(document, created.counts))
        append(conn, changes.written(event, document, created.counts, created=True, actor=actor))
        return created

    return work


def _update(
    event_id: str, change: Change, once: IdempotencyKey | None, actor: str | None
) -> Callable[[sqlite3.Connection], Counted]:
    def work(conn: sqlite3.Connection) -> Counted:
        idempotency.claim(conn, once)
        stored = rows.current(conn, event_id)
        if stored is None:
            raise NotFound(f"No event with id {event_id!r}.")
        updated = change(stored.event)
        document = rows.replace(conn, stored, updated)
        counts = stored.counts(updated)
        append(conn, changes.written(updated, document, counts, created=False, actor=actor))
        if updated.capacity != stored.event.capacity:
            counts = capacity_changed(conn, updated, document, counts, actor)
        # as in _create: fails only with the whole group
        idempotency.save(conn, once, served(document, counts))
        return Counted(updated, counts)

    return work


def _put(
    event_id: str, build: Build, actor: str | None
) -> Callable[[sqlite3.Connection], tuple[Counted, bool]]:
    def work(conn: sqlite3.Connection) -> tuple[Counted, bool]:
        stored = rows.current(conn, event_id)
        if stored is None:
            refuse_trashed(conn, event_id)
        event = build(None if stored is None else stored.event)
        if stored is None:
            document = rows.insert(conn, event)
            counts = Counted.fresh(event).counts
        else:
            document = rows.replace(conn, stored, event)
            counts = stored.counts(event)
        created = stored is None
        append(conn, changes.written(event, document, counts, created=created, actor=actor))
        if stored is not None and event.capacity != stored.event.capacity:
            counts = capacity_changed(conn, event, document, counts, actor)
        return Counted(event, counts), created

    return work


def _delete(
    event_id: str, guard: Guard | None, actor: str | None
) -> Callable[[sqlite3.Connection], None]:
    def work(conn: sqlite3.Connection) -> None:
        if guard is not None:
            stored = rows.current(conn, event_id)
            if stored is None:
                raise NotFound(f"No event with id {event_id!r}.")
            guard(stored.event)
        move(conn, event_id, actor)

    return work


def _list_page(conn: sqlite3.Connection, request: EventQuery) -> Page:
    select = query.page(request, rare_tag=_rarest_tag(conn, request))
    found = conn.execute(select.sql, select.params).fetchall()
    more = len(found) > request.limit
    found = found[: request.limit]
    if select.reversed:
        found.reverse()
    width = select.width
    positions = [tuple(row[2 : 2 + width]) for row in found]
    total = None
    if request.count:
        counting = query.count(request)
        total = conn.execute(counting.sql, counting.params).fetchone()[0]
    # The counts follow the sort columns (query.COUNTS).
    at = 2 + width
    documents = [with_counts(row[1], row[at], row[at + 1], row[at + 2]) for row in found]
    return page_of(documents, positions, request, more=more, total=total)


def _rarest_tag(conn: sqlite3.Connection, request: EventQuery) -> str | None:
    """The query's rarest tag if it is rare enough to drive the query (see query.py)."""
    counted = []
    for tag in request.filter.tags:
        frequency = query.tag_frequency(tag)
        counted.append((conn.execute(frequency.sql, frequency.params).fetchone()[0], tag))
    if not counted:
        return None
    events, tag = min(counted)
    return tag if events < query.RARE_TAG_EVENTS else None


class SQLiteEvents(Connections):
    """The event methods of the SQLite store."""

    async def get(self, event_id: str) -> Event | None:
        stored = rows.current(self._read(), event_id)
        return None if stored is None else stored.event

    async def get_json(self, event_id: str) -> EventRow | None:
        row: EventRow | None = self._read().execute(_GET_JSON, (event_id,)).fetchone()
        return row

    async def list_page(self, query: EventQuery) -> Page:
        return await self._read_off_loop(lambda conn: _list_page(conn, query))

    async def create(
        self, event: Event, *, once: IdempotencyKey | None = None, actor: str | None = None
    ) -> Counted:
        return await self._write(_create(event, once, actor))

    async def update(
        self,
        event_id: str,
        change: Change,
        *,
        once: IdempotencyKey | None = None,
        actor: str | None = None,
    ) -> Counted:
        return await self._write(_update(event_id, change, once, actor))

    async def put(
        self, event_id: str, build: Build, *, actor: str | None = None
    ) -> tuple[Counted, bool]:
        return await self._write(_put(event_id, build, actor))

    async def delete(
        self, event_id: str, *, guard: Guard | None = None, actor: str | None = None
    ) -> None:
        await self._write(_delete(event_id, guard, actor))
