"""Writing one event's rows in SQLite: the event, its tags, its text index entry.

The event's row holds its document and copies of the members that queries filter and sort
on, and what a read by id serves beside the document without decoding or hashing it: the
capacity (for ``spots_left``) and the document's revision (for the ``ETag``); see
``storage/events.py``.

The tag table and the FTS5 index are kept here, in the write job, not by
triggers: a trigger made every insert several times dearer (SQLite opens a
statement journal for the trigger's nested statements, and FTS5 flushes its
pending terms at each one), which cut durable creates by half.

Within a job, the event's own statement comes first and is the only one that
can fail on its own (a taken id); the tag and index statements after it fail
only with a database error, which rolls back the whole group (see ``Job`` in
``writer.py``), so the three always commit together.
"""

from __future__ import annotations

import functools
import sqlite3
from typing import Any, Final

import msgspec

from eventsapi.domain.events import Event, owner_of, visibility_of
from eventsapi.domain.query import utc_text
from eventsapi.domain.registrations import Counts
from eventsapi.storage.events import revision

_encode = msgspec.json.Encoder().encode
_decode_event = msgspec.json.Decoder(Event).decode

_COLUMNS = (
    "version, title, status, starts_at, created_at, updated_at, description, location, tags,"
    " visibility, owner, capacity, revision, doc, id"
)
_INSERT = f"INSERT INTO events ({_COLUMNS}) VALUES ({', '.join('?' * 15)})"  # noqa: S608 - constants
_INDEXED: Final = (1, 2, 3, 4)
"""The places in ``row_values`` of the columns that sort indexes hold (title, status,
starts_at, created_at), beside ``updated_at``, which every write changes."""
_NAMES: Final = tuple(name.strip() for name in _COLUMNS.split(","))


@functools.lru_cache(maxsize=16)
def _update(indexed: tuple[bool, ...]) -> tuple[str, tuple[int, ...]]:
    """The UPDATE of a row setting the indexed columns marked in ``indexed`` and every
    other column but the id; and the places in ``row_values`` of its parameters.

    SQLite rewrites an index's entry whenever the statement sets one of its columns, even
    to the value it had: leaving out the unchanged ones saves about 10 us of a patch that
    changes a title (of ~16 us for the statement; bench/write_cost.py, docs/benchmarks.md)."""
    unchanged = {place for place, on in zip(_INDEXED, indexed, strict=True) if not on}
    places = tuple(place for place in range(len(_NAMES) - 1) if place not in unchanged)
    assignments = ", ".join(f"{_NAMES[place]} = ?" for place in places)
    return f"UPDATE events SET {assignments} WHERE id = ?", (*places, len(_NAMES) - 1)  # noqa: S608 - constants


_DOC = -2
"""The document's place in ``row_values``."""
_INDEX_TEXT = "INSERT INTO events_fts (rowid, title, description, location) VALUES (?, ?, ?, ?)"
_UNINDEX_TEXT = (
    "INSERT INTO events_fts (events_fts, rowid, title, description, location)"
    " VALUES ('delete', ?, ?, ?, ?)"
)


class Stored(msgspec.Struct, frozen=True):
    """An event as stored, with its row's position (``seq``) and its counts."""

    seq: int
    event: Event
    registered: int
    waitlisted: int

    def counts(self, event: Event) -> Counts:
        """The counts beside ``event`` (this one, or its next version: the capacity is the
        one ``event`` has)."""
        return Counts(self.registered, self.waitlisted, event.capacity)


def row_values(event: Event) -> tuple[Any, ...]:
    starts_at = utc_text(event.starts_at) if event.starts_at else None
    document = _encode(event)
    return (
        event.version,
        event.title,
        event.status,
        starts_at,
        utc_text(event.created_at),
        utc_text(event.updated_at),
        event.description,
        event.location,
        _encode(event.tags).decode(),
        visibility_of(event),
        owner_of(event),
        event.capacity,
        revision(event.version, document),
        document,
        event.id,
    )


def current(conn: sqlite3.Connection, event_id: str) -> Stored | None:
    row = conn.execute(
        "SELECT seq, doc, registered, waitlisted FROM events WHERE id = ?", (event_id,)
    ).fetchone()
    return None if row is None else Stored(row[0], _decode_event(row[1]), row[2], row[3])


def _text(event: Event) -> tuple[str, str | None, str | None]:
    return (event.title, event.description, event.location)


def _index(conn: sqlite3.Connection, seq: int, event: Event, *, tags: bool, text: bool) -> None:
    if tags and event.tags:
        conn.executemany(
            "INSERT INTO event_tags (seq, tag) VALUES (?, ?)", [(seq, tag) for tag in event.tags]
        )
    if text:
        conn.execute(_INDEX_TEXT, (seq, *_text(event)))


def insert(conn: sqlite3.Connection, event: Event) -> bytes:
    """Store a new event and return its document; ``sqlite3.IntegrityError`` (nothing
    changed) if its id is taken."""
    values = row_values(event)
    seq = conn.execute(_INSERT, values).lastrowid
    assert seq is not None  # noqa: S101 - an INSERT that returned sets it
    _index(conn, seq, event, tags=True, text=True)
    document: bytes = values[_DOC]
    return document


def replace(conn: sqlite3.Connection, stored: Stored, event: Event) -> bytes:
    """Store ``event`` in the place of ``stored`` (same id, same position); its document."""
    values = row_values(event)
    old = stored.event
    sql, places = _update(
        (
            old.title != event.title,
            old.status != event.status,
            old.starts_at != event.starts_at,
            old.created_at != event.created_at,
        )
    )
    conn.execute(sql, [values[place] for place in places])
    tags = old.tags != event.tags
    text = _text(old) != _text(event)
    if tags:
        conn.execute("DELETE FROM event_tags WHERE seq = ?", (stored.seq,))
    if text:
        conn.execute(_UNINDEX_TEXT, (stored.seq, *_text(old)))
    _index(conn, stored.seq, event, tags=tags, text=text)
    document: bytes = values[_DOC]
    return document


def remove(conn: sqlite3.Connection, event_id: str) -> int | None:
    """Delete the event; the version deleted, or ``None`` if there was none."""
    rows = conn.execute(
        "DELETE FROM events WHERE id = ? RETURNING seq, version, title, description, location",
        (event_id,),
    ).fetchall()
    if not rows:
        return None
    seq, version, *text = rows[0]
    conn.execute("DELETE FROM event_tags WHERE seq = ?", (seq,))
    conn.execute(_UNINDEX_TEXT, (seq, *text))
    return int(version)
