"""What the CLI needs of a store (``Store``: the CLI owns this protocol, every backend
satisfies it), and opening the configured store from a command."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from typing import Protocol

import click

from eventsapi import storage
from eventsapi.domain.changes import ChangeRecord
from eventsapi.domain.events import Event
from eventsapi.domain.registrations import Registration
from eventsapi.settings import Settings
from eventsapi.storage.events import EventRow
from eventsapi.storage.migrations import Migration
from eventsapi.storage.sqlite import SQLiteStore
from eventsapi.storage.transfer import ImportResult, OnConflict

__all__ = ["Store", "opened_store"]


class Store(Protocol):
    """A store's life (open, close), its schema, and its events in bulk."""

    async def open(self, *, migrate: bool = True) -> None:
        """Connect, and apply pending migrations unless told not to.

        Called once before any other method."""

    async def close(self) -> None:
        """Finish writes in flight and release connections."""

    async def migrations(self) -> list[Migration]:
        """Every migration this version knows, with when it was applied (or ``None``)."""

    async def get(self, event_id: str) -> Event | None:
        """The event with this id, or ``None`` (none, or in the trash)."""

    async def list_registrations(
        self, event_id: str, *, after: int = 0, limit: int = 100, account: str | None = None
    ) -> list[Registration]:
        """The event's registrations (every status) in the order they joined, after ``seq``
        ``after``; only ``account``'s with one."""

    async def get_json(self, event_id: str) -> EventRow | None:
        """The event's stored JSON document first, then its revision, counts and capacity (a
        copy's check reads the document back)."""

    async def import_events(
        self,
        events: Iterable[Event],
        *,
        on_conflict: OnConflict = "error",
        keep: Callable[[ImportResult], bool] | None = None,
        actor: str | None = None,
    ) -> ImportResult:
        """Store ``events`` as they are (ids, times and versions too): all of them, or none.

        One transaction. ``events`` is read inside it, one event at a time, so it
        can be a generator over a file larger than memory; if reading it raises,
        nothing is stored and the exception propagates. New events go after every
        stored one in creation order, in the order read.

        An event whose id is taken (by a stored event, or by one read before it)
        is a conflict. ``"error"``: if there is any, nothing is stored, and the
        result lists every one. ``"skip"``: the event already there stays as it
        is. ``"replace"``: the imported event takes its place, as ``put`` does.

        ``keep``, when given, is called with the result once ``events`` is read to
        the end, still inside the transaction; if it returns false, nothing is
        stored (a dry run, or a caller that found bad input on the way).

        Each event stored appends its record to the change log (``event.created``, or
        ``event.updated`` for one replaced), naming ``actor``, in the same transaction.
        """

    async def instance_key(self) -> bytes:
        """The database's own secret (signs sync tokens)."""

    async def changes_after(self, position: int, limit: int) -> list[ChangeRecord]:
        """The change log's records after ``position``, ascending, at most ``limit``."""

    async def change_horizon(self) -> tuple[int, int]:
        """``(pruned_through, last)`` of the change log (see ``api/store.py``)."""

    def export_documents(self, *, batch_size: int = 1000) -> AsyncGenerator[list[bytes], None]:
        """Every event's JSON document (what ``get_json`` gives), oldest first.

        An async generator of lists of up to ``batch_size`` documents, read from
        one consistent snapshot, so memory holds one batch whatever the number of
        events and writes made meanwhile do not tear the export. Close it
        (``contextlib.aclosing``) when not reading it to the end.
        """


@contextlib.asynccontextmanager
async def opened_store(
    settings: Settings, *, create: bool = False
) -> AsyncIterator[storage.Backend]:
    """The store of ``settings``, open; closed at the end.

    Without ``create`` the database must exist and its schema is left as it is (a command
    that only reads or changes what is there must not migrate an older database): a
    missing SQLite file is a ``ClickException``, since opening it would make an empty
    database. ``create``: make and migrate the database if needed.
    """
    store = storage.load(settings.database, settings)
    if not create and isinstance(store, SQLiteStore) and not store.path.exists():
        raise click.ClickException(f"There is no database at {store.path.resolve()}.")
    await store.open(migrate=create)
    try:
        yield store
    finally:
        await store.close()
