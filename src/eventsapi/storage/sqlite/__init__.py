"""The SQLite backend: one module per concern, composed in ``store.SQLiteStore``."""

from eventsapi.storage.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
