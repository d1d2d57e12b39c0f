"""Opening the configured store from a command that works on an existing database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import click

from eventsapi import storage
from eventsapi.settings import Settings
from eventsapi.storage.base import EventStore
from eventsapi.storage.sqlite import SQLiteStore

__all__ = ["opened_store"]


@contextlib.asynccontextmanager
async def opened_store(settings: Settings, *, create: bool = False) -> AsyncIterator[EventStore]:
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
