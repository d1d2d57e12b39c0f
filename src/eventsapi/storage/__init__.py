"""Storage backends. ``load(url)`` picks one from a database URL, as Radicale does by name.

- ``eventsapi.db``, ``sqlite:///eventsapi.db``, ``sqlite:////abs/path.db``: SQLite (the default)
- ``memory:``: in memory, lost at exit (tests and demos)
"""

from __future__ import annotations

from pathlib import Path

from eventsapi.errors import ConfigurationError
from eventsapi.storage.base import EventStore, Page

__all__ = ["EventStore", "Page", "describe", "load"]


def load(url: str) -> EventStore:
    """The backend for ``url``, not yet opened."""
    scheme, _, rest = url.partition(":")
    if url in ("memory:", ":memory:"):
        from eventsapi.storage.memory import MemoryStore

        return MemoryStore()
    if scheme in ("postgres", "postgresql"):
        raise ConfigurationError(
            "PostgreSQL is not supported by this version; use a SQLite file path."
        )
    from eventsapi.storage.sqlite import SQLiteStore

    if scheme == "sqlite":
        path = rest.removeprefix("///") if rest.startswith("///") else rest.removeprefix("//")
        return SQLiteStore(Path(path or "eventsapi.db"))
    if "://" in url:
        raise ConfigurationError(f"Unknown database URL scheme: {scheme!r}")
    return SQLiteStore(Path(url))


def describe(url: str) -> str:
    """A human description of the database for logs (never includes a password)."""
    store = load(url)
    if store.name == "sqlite":
        from eventsapi.storage.sqlite import SQLiteStore

        assert isinstance(store, SQLiteStore)  # noqa: S101
        return f"SQLite file {store.path.resolve()}"
    return "memory (nothing is kept after exit)"
