"""The trash in PostgreSQL: deleted events' rows, moved there and back in one transaction.

A delete moves the row it locked; a restore takes the trash row (``DELETE ... RETURNING``
locks it, so two restores of one event cannot both win) and inserts the event back, and any
refusal (``change`` or ``guard`` raising, an id live again) rolls the whole transaction back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from eventsapi.domain.events import Event
from eventsapi.domain.registrations import Counts
from eventsapi.errors import AlreadyExists, InTrash, NotFound
from eventsapi.storage import changes, trash
from eventsapi.storage.events import Change, Counted, Guard, with_counts
from eventsapi.storage.postgres import rows
from eventsapi.storage.postgres.changes import append
from eventsapi.storage.postgres.connection import Connection, Connections
from eventsapi.storage.registrations import statements as registration_statements
from eventsapi.storage.trash import Trashed, TrashPage, TrashQuery

_SQL: Final = trash.statements("%s")
_REGISTRATIONS: Final = registration_statements("%s")
# An id can be in the trash and live at once only after an import of a trashed id, or a
# create racing the delete of its id (creates refuse trashed ids): the newer delete then
# replaces the older copy.
_MOVE: Final = (
    _SQL.insert + " ON CONFLICT (id) DO UPDATE SET owner = excluded.owner,"
    " version = excluded.version, doc = excluded.doc, deleted_at = excluded.deleted_at,"
    " deleted_by = excluded.deleted_by"
)
_decode_event = msgspec.json.Decoder(Event).decode


async def refuse_trashed(conn: Connection, event_id: str) -> None:
    """Raise ``InTrash`` if ``event_id`` is in the trash."""
    if await (await conn.execute(_SQL.taken, (event_id,))).fetchone() is not None:
        raise InTrash(trash.in_trash_message(event_id))


async def move(conn: Connection, event_id: str, actor: str | None) -> None:
    """Move the event from ``events`` to the trash, as it is served (with its counts);
    ``NotFound`` if there is none."""
    cursor = await conn.execute(
        "DELETE FROM events WHERE id = %s RETURNING version, doc, registered, waitlisted, capacity",
        (event_id,),
        binary=True,
    )
    found = await cursor.fetchone()
    if found is None:
        raise NotFound(f"No event with id {event_id!r}.")
    version, document = int(found[0]), bytes(found[1])
    owner = trash.owner_of(_decode_event(document))
    capacity = None if found[4] is None else int(found[4])
    document = with_counts(document, int(found[2]), int(found[3]), capacity)
    await conn.execute(_MOVE, (event_id, owner, version, document, changes.now(), actor))
    await append(conn, changes.deleted(event_id, version, actor=actor))


def _trashed(row: Sequence[Any]) -> Trashed:
    return Trashed(
        event_id=row[0],
        owner=row[1],
        version=int(row[2]),
        document=bytes(row[3]),
        deleted_at=row[4].astimezone(UTC),
        deleted_by=row[5],
    )


async def _take(conn: Connection, event_id: str) -> Trashed:
    found = await (await conn.execute(_SQL.take, (event_id,), binary=True)).fetchone()
    if found is None:
        raise NotFound(f"No event with id {event_id!r}.")
    return _trashed(found)


class PostgresTrash(Connections):
    """The trash methods of the PostgreSQL store."""

    async def trash_page(self, query: TrashQuery) -> TrashPage:
        limit = query.limit + 1
        params: tuple[Any, ...]
        if query.owner is None:
            sql = _SQL.page_all if query.after is None else _SQL.page_all_after
            params = (limit,) if query.after is None else (*query.after, limit)
        else:
            sql = _SQL.page_owner if query.after is None else _SQL.page_owner_after
            params = (query.owner, limit)
            if query.after is not None:
                params = (query.owner, *query.after, limit)

        async def work(conn: Connection) -> TrashPage:
            found = await (await conn.execute(sql, params, binary=True)).fetchall()
            return trash.page_of([_trashed(row) for row in found], query.limit)

        return await self._read(work)

    async def restore(self, event_id: str, change: Change, *, actor: str | None = None) -> Counted:
        async def work(conn: Connection) -> Counted:
            found = await _take(conn, event_id)
            event = change(_decode_event(found.document))
            values = rows.row_values(event)
            if (await conn.execute(rows.INSERT, values)).rowcount == 0:
                raise AlreadyExists(
                    f"An event with id {event_id!r} exists: it cannot be restored over it."
                )
            # The registrations stayed while the event was in the trash; its counts come back.
            cursor = await conn.execute(_REGISTRATIONS.recount, (event_id, event_id, event_id))
            recounted = await cursor.fetchone()
            assert recounted is not None  # noqa: S101 - inserted just now, in this transaction
            counts = Counts(int(recounted[0]), int(recounted[1]), event.capacity)
            document = rows.document(values)
            await append(
                conn, trash.restored(event_id, event.version, document, counts, actor=actor)
            )
            return Counted(event, counts)

        return await self._write(work)

    async def purge(
        self, event_id: str, *, guard: Guard | None = None, actor: str | None = None
    ) -> None:
        async def work(conn: Connection) -> None:
            found = await _take(conn, event_id)
            if guard is not None:
                guard(_decode_event(found.document))
            await conn.execute(_REGISTRATIONS.remove_of_event, (event_id,))
            await append(conn, trash.purged(event_id, found.version, actor=actor))

        await self._write(work)

    async def purge_trash(self, before: datetime) -> int:
        async def work(conn: Connection) -> int:
            gone = await (await conn.execute(_SQL.expired, (before,))).fetchall()
            for event_id, version in gone:
                await conn.execute(_REGISTRATIONS.remove_of_event, (event_id,))
                await append(conn, trash.purged(event_id, int(version), actor=None))
            return len(gone)

        return await self._write(work)
