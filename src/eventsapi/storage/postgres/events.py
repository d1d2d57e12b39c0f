"""Events in PostgreSQL: each write one transaction that locks the event's row.

Writes that depend on the current state lock the row (``SELECT ... FOR UPDATE``) and run the
caller's pure function inside the transaction, as SQLite runs it under its write lock; a keyed
write claims and saves its idempotency key in that same transaction (``idempotency.py``).
Each write appends its record to the change log (``changes.append``) in its transaction. A
delete moves the event to the trash (``trash.py``).
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, Final

import msgspec
import psycopg

from eventsapi.domain.events import Event
from eventsapi.domain.query import EventQuery
from eventsapi.domain.visibility import ANONYMOUS, Reader, Registrant
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
from eventsapi.storage.postgres.batch import Batches
from eventsapi.storage.postgres.changes import CREATE, append, create_params
from eventsapi.storage.postgres.connection import Connection, Connections
from eventsapi.storage.postgres.registrations import capacity_changed
from eventsapi.storage.postgres.trash import move, refuse_trashed
from eventsapi.storage.visibility import ById, registrants_of, registrants_sql

_decode_event = msgspec.json.Decoder(Event).decode
_CREATE: Final = CREATE.format(insert=rows.INSERT_UNLESS_TRASHED)
_BY_ID: Final = ById.of(
    "SELECT e.doc, e.revision, e.registered, e.waitlisted, e.capacity FROM events AS e"
    " WHERE e.id = %s",
    "%s",
)
_BY_IDS: Final = ById.of(
    "SELECT e.id, e.doc, e.revision, e.registered, e.waitlisted, e.capacity FROM events AS e"
    " WHERE e.id = ANY(%s::text[])",
    "%s",
)
ByIdKey = tuple[str, tuple[str, ...]]
"""A batch of reads by id (``batch.py``): the statement and the parameters after the ids."""


def _event_row(row: tuple[Any, ...]) -> EventRow:
    capacity = None if row[4] is None else int(row[4])
    return (bytes(row[0]), row[1], int(row[2]), int(row[3]), capacity)


class PostgresEvents(Connections):
    """The event methods of the PostgreSQL store."""

    query_timeout: float
    _listings: asyncio.Semaphore
    _by_id: Batches[ByIdKey, None, EventRow]
    _creates: Batches[None, tuple[Any, ...], bool]
    _created: itertools.count[int]

    async def get(self, event_id: str, *, reader: Reader = ANONYMOUS) -> Event | None:
        found = await self.get_json(event_id, reader=reader)
        return None if found is None else _decode_event(found[0])

    async def get_json(self, event_id: str, *, reader: Reader = ANONYMOUS) -> EventRow | None:
        if "\x00" in event_id:  # text cannot hold it: alone, not to fail a batch's reads
            return await self._get_alone(event_id, reader)
        sql, params = _BY_IDS.statement(reader)
        return await self._by_id.get((sql, params), event_id, None)

    async def _read_by_ids(self, key: ByIdKey, event_ids: dict[str, None]) -> dict[str, EventRow]:
        """The rows of ``event_ids`` that the batch's reader may see (``batch.py``)."""
        sql, params = key

        async def work(conn: Connection) -> dict[str, EventRow]:
            cursor = await conn.execute(sql, (list(event_ids), *params), binary=True)
            return {row[0]: _event_row(row[1:]) for row in await cursor.fetchall()}

        return await self._read(work)

    async def _get_alone(self, event_id: str, reader: Reader) -> EventRow | None:
        sql, params = _BY_ID.statement(reader)

        async def work(conn: Connection) -> EventRow | None:
            cursor = await conn.execute(sql, (event_id, *params), binary=True)
            row = await cursor.fetchone()
            return None if row is None else _event_row(row)

        return await self._read(work)

    async def registrants(self, account: str, event_ids: list[str]) -> dict[str, Registrant]:
        unique = list(dict.fromkeys(event_ids))
        if not unique:
            return {}
        sql = registrants_sql("%s", len(unique))

        async def work(conn: Connection) -> dict[str, Registrant]:
            found = await (await conn.execute(sql, (account, *unique))).fetchall()
            return registrants_of(found, unique)

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
        if once is None:
            return await self._create_at_once(event, actor)

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

    async def _create_at_once(self, event: Event, actor: str | None) -> Counted:
        """A create without a key: one statement, one round trip (``changes.CREATE``), where a
        transaction costs four (``BEGIN``, two inserts, ``COMMIT``); committed as any other,
        with synchronous commit, before the answer."""
        values = rows.row_values(event)
        created = Counted.fresh(event)
        document = rows.document(values)
        entry = changes.written(event, document, created.counts, created=True, actor=actor)
        params = (*values, event.id, *create_params(entry))
        if await self._creates.get(None, str(next(self._created)), params):
            return created
        async with self._connection() as conn:
            await refuse_trashed(conn, event.id)
        raise AlreadyExists(f"An event with id {event.id!r} already exists.")

    async def _create_together(
        self, _: None, creates: dict[str, tuple[Any, ...]]
    ) -> dict[str, bool]:
        """The creates of one loop turn (``batch.py``): their statements in one pipeline, in
        one transaction, so one round trip and one commit (one flush of the WAL) for all of
        them; whether each inserted its event."""

        async def work(conn: Connection) -> dict[str, bool]:
            async with conn.pipeline(), conn.transaction():
                cursors = [
                    (item, await conn.execute(_CREATE, params)) for item, params in creates.items()
                ]
            return {item: cursor.rowcount > 0 for item, cursor in cursors}

        async with self._connection() as conn:
            return await work(conn)

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
            entry = changes.written(
                updated, document, counts, created=False, actor=actor, previous=current
            )
            await append(conn, entry)
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
            entry = changes.written(
                event, document, counts, created=created, actor=actor, previous=current
            )
            await append(conn, entry)
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
