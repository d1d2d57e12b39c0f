"""The trash, as every backend keeps it: deleted events, in a table of their own, until they
are restored or purged.

``DELETE /events/{id}`` moves the event's row out of ``events`` into ``trash`` in the delete's
transaction, so every listing, search, count and read by id keeps its queries and indexes as
they were (a trashed event is simply not in ``events``). A restore moves the row back, with a
new version, in one transaction; a purge deletes it for good. Each is one change-log record:
``event.deleted``, ``event.restored`` (with the document), ``event.purged`` (without).

A trashed event keeps its document as it was served when it was deleted, with its counts
(``storage/events.py``, ``served``): its registrations stay (and cannot change) while it is
in the trash, so that is what the trash shows; a restore decodes the event from it and
counts its registrations again.

An id in the trash stays taken: a create or PUT with it is ``InTrash`` (409), so that a
restore cannot collide with a new event of the same id.

The SQL both SQL backends share is here, per placeholder style; values are always bound.
"""

# The one fragment joined into SQL here is the placeholder, a constant of the caller.
# ruff: noqa: S608

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec

from eventsapi.domain.events import Event
from eventsapi.domain.registrations import Counts
from eventsapi.storage.changes import Entry
from eventsapi.storage.events import served

_decode_event = msgspec.json.Decoder(Event).decode

LIMIT_MAX: Final = 100


class Trashed(msgspec.Struct, frozen=True):
    """An event in the trash: its document as it was served when it was deleted (with its
    counts), who deleted it and when."""

    event_id: str
    owner: str | None
    version: int
    document: bytes
    deleted_at: datetime
    deleted_by: str | None


class TrashQuery(msgspec.Struct, frozen=True):
    """A page of the trash, most recently deleted first.

    ``owner``: only the events of this account (``None``: everyone's, for admins);
    ``after``: the ``(deleted_at, id)`` of the last event of the previous page."""

    owner: str | None
    limit: int
    after: tuple[datetime, str] | None = None


class TrashPage(msgspec.Struct, frozen=True):
    """One page of the trash; ``next``: the ``after`` of the following page, if any."""

    items: list[Trashed] = msgspec.field(default_factory=list)
    next: tuple[datetime, str] | None = None


def page_of(found: list[Trashed], limit: int) -> TrashPage:
    """The page of ``found`` (up to ``limit + 1`` rows: one more says there is a next)."""
    items = found[:limit]
    more = len(found) > limit
    return TrashPage(items, (items[-1].deleted_at, items[-1].event_id) if more else None)


def restored(event: Event, document: bytes, counts: Counts, *, actor: str | None) -> Entry:
    """The entry of the restore of ``event``, as it is back (``document``), with ``counts``."""
    entry = Entry("event.restored", event.id, event.version, served(document, counts), actor)
    return entry.about(event)


def purged(document: bytes, *, actor: str | None) -> Entry:
    """The entry of the purge of the event the trash kept as ``document``."""
    event = _decode_event(document)
    return Entry("event.purged", event.id, event.version, None, actor).about(event)


def in_trash_message(event_id: str) -> str:
    return (
        f"The event {event_id!r} is in the trash: restore it (POST /trash/{event_id}/restore) "
        f"or purge it (DELETE /trash/{event_id}) before using its id again."
    )


COLUMNS: Final = "id, owner, version, doc, deleted_at, deleted_by"


class Statements(msgspec.Struct, frozen=True):
    """The SQL of the trash for one placeholder style (``?`` or ``%s``)."""

    insert: str
    """Parameters: ``COLUMNS`` in order."""
    taken: str
    """Parameter: an id; a row if it is in the trash."""
    take: str
    """Parameter: an id; deletes its row, returning ``COLUMNS``."""
    page_all: str
    """Parameters: a limit; everyone's trash, most recently deleted first."""
    page_all_after: str
    """Parameters: deleted_at, id, limit."""
    page_owner: str
    """Parameters: owner, limit."""
    page_owner_after: str
    """Parameters: owner, deleted_at, id, limit."""
    expired: str
    """Parameter: the cut-off time; deletes the rows deleted before it, returning id, doc."""


def statements(p: str) -> Statements:
    order = "ORDER BY deleted_at DESC, id DESC LIMIT"
    return Statements(
        insert=f"INSERT INTO trash ({COLUMNS}) VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
        taken=f"SELECT 1 FROM trash WHERE id = {p}",
        take=f"DELETE FROM trash WHERE id = {p} RETURNING {COLUMNS}",
        page_all=f"SELECT {COLUMNS} FROM trash {order} {p}",
        page_all_after=(
            f"SELECT {COLUMNS} FROM trash WHERE (deleted_at, id) < ({p}, {p}) {order} {p}"
        ),
        page_owner=f"SELECT {COLUMNS} FROM trash WHERE owner = {p} {order} {p}",
        page_owner_after=(
            f"SELECT {COLUMNS} FROM trash WHERE owner = {p} AND (deleted_at, id) < ({p}, {p})"
            f" {order} {p}"
        ),
        expired=f"DELETE FROM trash WHERE deleted_at < {p} RETURNING id, doc",
    )


def owner_of(event: Event) -> str | None:
    """The owner column of a trashed event: its account, or ``None`` (anonymous)."""
    return event.owner if isinstance(event.owner, str) else None
