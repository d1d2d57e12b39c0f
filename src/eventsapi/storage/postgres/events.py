"""Events in PostgreSQL: each write one transaction that locks the event's row.

Writes that depend on the current state lock the row (``SELECT ... FOR UPDATE``) and run the
caller's pure function inside the transaction, as SQLite runs it under its write lock; a keyed
write claims and saves its idempotency key in that same transaction (``idempotency.py``).
Each write appends its record to the change log (``changes.append``) in its transaction. A
delete moves the event to the trash (``trash.py``).
"""

from __future__ import annotations

import asyncio
from typing import Final

import psycopg

from eventsapi.domain.events import Event
from eventsapi.domain.query import EventQuery
from eventsapi.errors import AlreadyExists, NotFound, QueryTooExpensive
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
from eventsapi.storage.postgres import idempotency, rows
from eventsapi.storage.postgres import query as sql
from eventsapi.storage.postgres.changes import append
from eventsapi.storage.postgres.connection import Connection, Connections
from eventsapi.storage.postgres.registrations import capacity_changed
from eventsapi.storage.postgres.trash import move, refuse_trashed

_GET_JSON: Final = (
    "SELECT doc, revision, registered, waitlisted, capacity FROM events WHERE id = %s"
)


class PostgresEvents(Connections):
    """The event methods of the PostgreSQL store."""

    query_timeout: float
    _listings: asyncio.Semaphore

    async def get(self, event_id: str) -> Event | None:
        async def work(conn: Connection) -> Event | None:
            return await rows.current(conn, event_id)

        return await self._read(work)

    async def get_json(self, event_id: str) -> EventRow | None:
        async def work(conn: Connection) -> EventRow | None:
            cursor = await conn.execute(_GET_JSON, (event_id,), binary=True)
            row = await cursor.fetchone()
            if row is None:
                return None
            capacity = None if row[4] is None else int(row[4])
            return (bytes(row[0]), row[1], int(row[2]), int(row[3]), capacity)

        return await self._read(work)

    async def list_page(self, query: EventQuery) -> Page:
        select = sql.page(query)
        # The budget counts from now: a listing that waited for a connection has less left.
        deadline = asyncio.get_running_loop().time() + self.query_timeout

        async def work(conn: Connection) -> Page:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise QueryTooExpensive.past_budget(self.query_timeout, waited=True)
            try:
                async with conn.transaction():
                    return await budgeted(conn, round(left * 1000))
            except psycopg.errors.QueryCanceled:
                raise QueryTooExpensive.past_budget(self.query_timeout, waited=False) from None

        async def budgeted(conn: Connection, milliseconds: int) -> Page:
            # Local to the transaction: the pool's connections keep statement_timeout.
            await conn.execute(
                "SELECT set_config('statement_timeout', %s, true)", (str(milliseconds),)
            )
            cursor = await conn.execute(select.sql, select.params, binary=True)
            found = await cursor.fetchall()
            more = len(found) > query.limit
            found = found[: query.limit]
            if select.reversed:
                found.reverse()
            positions = [select.position(row) for row in found]
            total = None
            if query.count:
                counting = sql.count(query)
                counted = await (await conn.execute(counting.sql, counting.params)).fetchone()
                total = int(counted[0]) if counted is not None else 0
            # The counts follow the sort columns (query.COUNTS).
            after = 2 + select.width
            documents = [
                with_counts(bytes(row[1]), int(row[after]), int(row[after + 1]), row[after + 2])
                for row in found
            ]
            return page_of(documents, positions, query, more=more, total=total)

        try:
            async with asyncio.timeout_at(deadline):
                await self._listings.acquire()
        except TimeoutError:
            raise QueryTooExpensive.past_budget(self.query_timeout, waited=True) from None
        try:
            return await self._read(work)
        finally:
            self._listings.release()

    async def create(
        self, event: Event, *, once: IdempotencyKey | None = None, actor: str | None = None
    ) -> Counted:
        async def work(conn: Connection) -> Counted:
            await idempotency.claim(conn, self._schema, once)
            values = rows.row_values(event)
            inserted = await conn.execute(rows.INSERT_UNLESS_TRASHED, (*values, event.id))
            if inserted.rowcount == 0:
                await refuse_trashed(conn, event.id)
                raise AlreadyExists(f"An event with id {event.id!r} already exists.")
            created = Counted.fresh(event)
            document = rows.document(values)
            await idempotency.save(conn, once, served(document, created.counts))
            await append(
                conn, changes.written(event, document, created.counts, created=True, actor=actor)
            )
            return created

        return await self._write(work)

    async def update(
        self,
        event_id: str,
        change: Change,
        *,
        once: IdempotencyKey | None = None,
        actor: str | None = None,
    ) -> Counted:
        async def work(conn: Connection) -> Counted:
            await idempotency.claim(conn, self._schema, once)
            current = await rows.current(conn, event_id, lock=True)
            if current is None:
                raise NotFound(f"No event with id {event_id!r}.")
            updated = change(current)
            values = rows.row_values(updated)
            document = rows.document(values)
            counts = await rows.update(conn, updated, values)
            await append(
                conn, changes.written(updated, document, counts, created=False, actor=actor)
            )
            if updated.capacity != current.capacity:
                counts = await capacity_changed(conn, updated, document, counts, actor)
            await idempotency.save(conn, once, served(document, counts))
            return Counted(updated, counts)

        return await self._write(work)

    async def put(
        self, event_id: str, build: Build, *, actor: str | None = None
    ) -> tuple[Counted, bool]:
        async def work(conn: Connection) -> tuple[Counted, bool] | None:
            current = await rows.current(conn, event_id, lock=True)
            if current is None:
                await refuse_trashed(conn, event_id)
            event = build(current)
            values = rows.row_values(event)
            document = rows.document(values)
            if current is not None:
                counts = await rows.update(conn, event, values)
            elif (await conn.execute(rows.INSERT, values)).rowcount == 0:
                return None  # created meanwhile by another transaction: build on it
            else:
                counts = Counted.fresh(event).counts
            created = current is None
            await append(
                conn, changes.written(event, document, counts, created=created, actor=actor)
            )
            if current is not None and event.capacity != current.capacity:
                counts = await capacity_changed(conn, event, document, counts, actor)
            return Counted(event, counts), created

        while True:
            done = await self._write(work)
            if done is not None:
                return done

    async def delete(
        self, event_id: str, *, guard: Guard | None = None, actor: str | None = None
    ) -> None:
        async def work(conn: Connection) -> None:
            if guard is not None:
                current = await rows.current(conn, event_id, lock=True)
                if current is None:
                    raise NotFound(f"No event with id {event_id!r}.")
                guard(current)
            await move(conn, event_id, actor)

        await self._write(work)
