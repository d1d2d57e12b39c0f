"""Writing and reading one event's row in PostgreSQL (the events and import parts share it).

The row holds the document, copies of the members queries filter and sort on, and what a
read by id serves beside the document without decoding or hashing it: the capacity and the
document's revision (``storage/events.py``)."""

# Every fragment joined into SQL here is a constant of this module or of query.py; values
# are always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from typing import Any, Final

import msgspec

from eventsapi.domain.events import Event
from eventsapi.domain.query import starts_key, utc_text
from eventsapi.domain.registrations import Counts
from eventsapi.storage.events import revision
from eventsapi.storage.postgres import query
from eventsapi.storage.postgres.connection import Connection

_encode = msgspec.json.Encoder().encode
_decode_event = msgspec.json.Decoder(Event).decode

_COLUMNS: Final = (
    "version, title, status, starts_key, created_at, updated_at, tags, search, capacity,"
    " revision, doc"
)
INSERT: Final = (
    f"INSERT INTO events ({_COLUMNS}, id) VALUES"
    f" (%s, %s, %s, %s, %s, %s, %s::text[], {query.SEARCH}, %s, %s, %s, %s)"
    " ON CONFLICT (id) DO NOTHING"
)
INSERT_UNLESS_TRASHED: Final = (
    f"INSERT INTO events ({_COLUMNS}, id) SELECT"
    f" %s, %s, %s, %s, %s, %s, %s::text[], {query.SEARCH}, %s, %s, %s, %s"
    " WHERE NOT EXISTS (SELECT 1 FROM trash WHERE id = %s) ON CONFLICT (id) DO NOTHING"
)
"""``INSERT`` for a create: nothing when the id is taken, live or in the trash (one round
trip; the parameters are ``row_values`` and the id again)."""
_UPDATE: Final = (
    "UPDATE events SET version = %s, title = %s, status = %s, starts_key = %s,"
    " created_at = %s, updated_at = %s, tags = %s::text[],"
    f" search = {query.SEARCH}, capacity = %s, revision = %s, doc = %s WHERE id = %s"
    " RETURNING registered, waitlisted"
)


def row_values(event: Event) -> tuple[Any, ...]:
    """The parameters of ``INSERT`` and ``UPDATE`` (same order)."""
    document = _encode(event)
    return (
        event.version,
        query.text(event.title),
        event.status,
        starts_key(event),
        utc_text(event.created_at),
        utc_text(event.updated_at),
        [query.text(tag) for tag in event.tags],
        *query.search_text(event),
        event.capacity,
        revision(event.version, document),
        document,
        event.id,
    )


def document(values: tuple[Any, ...]) -> bytes:
    """The event's JSON document among its ``row_values``."""
    stored: bytes = values[-2]
    return stored


async def update(conn: Connection, event: Event, values: tuple[Any, ...]) -> Counts:
    """Store ``event`` (its ``row_values``) over its row; the counts beside it (none when no
    row was there: an import racing a delete; writes hold the row's lock)."""
    found = await (await conn.execute(_UPDATE, values)).fetchone()
    if found is None:
        return Counts(0, 0, event.capacity)
    return Counts(int(found[0]), int(found[1]), event.capacity)


async def current(conn: Connection, event_id: str, *, lock: bool = False) -> Event | None:
    sql = "SELECT doc FROM events WHERE id = %s" + (" FOR UPDATE" if lock else "")
    row = await (await conn.execute(sql, (event_id,), binary=True)).fetchone()
    return None if row is None else _decode_event(row[0])
