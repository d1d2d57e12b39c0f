"""The trash in SQLite: deleted events' rows, moved there and back by write jobs.

Each move is one write job (``writer.Job``), so it commits whole or not at all. A job has at
most one statement that can fail on its own, and it runs before anything else changes: the
restore's insert into ``events`` (an id taken meanwhile, by an import). Every other statement
fails only with a database error, which undoes the whole group.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

import msgspec

from eventsapi.domain.events import Event
from eventsapi.domain.query import utc_text
from eventsapi.domain.registrations import Counts
from eventsapi.errors import AlreadyExists, InTrash, NotFound
from eventsapi.storage import changes, trash
from eventsapi.storage.events import Change, Counted, Guard, with_counts
from eventsapi.storage.registrations import statements as registration_statements
from eventsapi.storage.sqlite import rows
from eventsapi.storage.sqlite.changes import append
from eventsapi.storage.sqlite.connection import Connections
from eventsapi.storage.trash import Trashed, TrashPage, TrashQuery

_SQL: Final = trash.statements("?")
_REGISTRATIONS: Final = registration_statements("?")
# An id can be in the trash and live at once only after an import of a trashed id (creates
# and PUTs refuse them): the newer delete then replaces the older copy.
_MOVE: Final = (
    _SQL.insert + " ON CONFLICT (id) DO UPDATE SET owner = excluded.owner,"
    " version = excluded.version, doc = excluded.doc, deleted_at = excluded.deleted_at,"
    " deleted_by = excluded.deleted_by"
)
_decode_event = msgspec.json.Decoder(Event).decode


def refuse_trashed(conn: sqlite3.Connection, event_id: str) -> None:
    """Raise ``InTrash`` if ``event_id`` is in the trash (before a create takes the id)."""
    if conn.execute(_SQL.taken, (event_id,)).fetchone() is not None:
        raise InTrash(trash.in_trash_message(event_id))


def move(conn: sqlite3.Connection, event_id: str, actor: str | None) -> None:
    """Move the event from ``events`` to the trash, as it is served (with its counts);
    ``NotFound`` (nothing changed) if none."""
    found = conn.execute(
        "SELECT doc, registered, waitlisted, capacity FROM events WHERE id = ?", (event_id,)
    ).fetchone()
    if found is None:
        raise NotFound(f"No event with id {event_id!r}.")
    version = rows.remove(conn, event_id)
    assert version is not None  # noqa: S101 - found just now, under the write lock
    owner = trash.owner_of(_decode_event(found[0]))
    at = utc_text(changes.now())
    conn.execute(_MOVE, (event_id, owner, version, with_counts(*found), at, actor))
    append(conn, changes.deleted(event_id, version, actor=actor))


def _trashed(row: Sequence[Any]) -> Trashed:
    return Trashed(
        event_id=row[0],
        owner=row[1],
        version=int(row[2]),
        document=bytes(row[3]),
        deleted_at=datetime.fromisoformat(row[4]),
        deleted_by=row[5],
    )


def _find(conn: sqlite3.Connection, event_id: str) -> Trashed:
    row = conn.execute(
        f"SELECT {trash.COLUMNS} FROM trash WHERE id = ?",  # noqa: S608 - constants
        (event_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"No event with id {event_id!r}.")
    return _trashed(row)


def _restore(
    event_id: str, change: Change, actor: str | None
) -> Callable[[sqlite3.Connection], Counted]:
    def work(conn: sqlite3.Connection) -> Counted:
        found = _find(conn, event_id)
        event = change(_decode_event(found.document))  # may refuse: nothing changed yet
        try:
            document = rows.insert(conn, event)  # the one statement that can fail alone
        except sqlite3.IntegrityError:
            raise AlreadyExists(
                f"An event with id {event_id!r} exists: it cannot be restored over it."
            ) from None
        conn.execute("DELETE FROM trash WHERE id = ?", (event_id,))
        # The registrations stayed while the event was in the trash; its counts come back.
        registered, waitlisted = conn.execute(
            _REGISTRATIONS.recount, (event_id, event_id, event_id)
        ).fetchone()
        counts = Counts(registered, waitlisted, event.capacity)
        append(conn, trash.restored(event_id, event.version, document, counts, actor=actor))
        return Counted(event, counts)

    return work


def _purge(
    event_id: str, guard: Guard | None, actor: str | None
) -> Callable[[sqlite3.Connection], None]:
    def work(conn: sqlite3.Connection) -> None:
        found = _find(conn, event_id)
        if guard is not None:
            guard(_decode_event(found.document))
        conn.execute("DELETE FROM trash WHERE id = ?", (event_id,))
        conn.execute(_REGISTRATIONS.remove_of_event, (event_id,))
        append(conn, trash.purged(event_id, found.version, actor=actor))

    return work


def _purge_expired(before: datetime) -> Callable[[sqlite3.Connection], int]:
    def work(conn: sqlite3.Connection) -> int:
        gone = conn.execute(_SQL.expired, (utc_text(before),)).fetchall()
        for event_id, version in gone:
            conn.execute(_REGISTRATIONS.remove_of_event, (event_id,))
            append(conn, trash.purged(event_id, int(version), actor=None))
        return len(gone)

    return work


def _page(conn: sqlite3.Connection, request: TrashQuery) -> TrashPage:
    limit = request.limit + 1
    params: tuple[Any, ...]
    after = None if request.after is None else (utc_text(request.after[0]), request.after[1])
    if request.owner is None:
        sql = _SQL.page_all if after is None else _SQL.page_all_after
        params = (limit,) if after is None else (*after, limit)
    else:
        sql = _SQL.page_owner if after is None else _SQL.page_owner_after
        params = (request.owner, limit) if after is None else (request.owner, *after, limit)
    return trash.page_of([_trashed(row) for row in conn.execute(sql, params)], request.limit)


class SQLiteTrash(Connections):
    """The trash methods of the SQLite store."""

    async def trash_page(self, query: TrashQuery) -> TrashPage:
        return await self._read_off_loop(lambda conn: _page(conn, query))

    async def restore(self, event_id: str, change: Change, *, actor: str | None = None) -> Counted:
        return await self._write(_restore(event_id, change, actor))

    async def purge(
        self, event_id: str, *, guard: Guard | None = None, actor: str | None = None
    ) -> None:
        await self._write(_purge(event_id, guard, actor))

    async def purge_trash(self, before: datetime) -> int:
        return await self._write(_purge_expired(before))
