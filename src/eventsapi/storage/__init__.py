"""Storage backends. ``load(url)`` picks one from a database URL, as Radicale does by name.

Each backend is a package with a module per concern (events, idempotency keys, import and
export, migrations, SLIs, accounts); what is the same on every backend (value types, pure
rules, SQL per placeholder style) is in this package's module of that concern. Each consumer
owns the protocol it needs (``api/store.py``, ``auth/store.py``, ``slo/store.py``,
``cli/stores.py``); every backend satisfies all of them.

- ``eventsapi.db``, ``sqlite:///eventsapi.db``, ``sqlite:////abs/path.db``: SQLite (the default)
- ``postgresql://user@host:5432/dbname`` (or ``postgres://``): PostgreSQL, with the pool
  settings (``pool_min_size`` ...) of the ``settings`` given
- ``memory:``: in memory, lost at exit (tests and demos)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from eventsapi.errors import ConfigurationError

if TYPE_CHECKING:
    from eventsapi.settings import Settings
    from eventsapi.storage.memory import MemoryStore
    from eventsapi.storage.postgres import PostgresStore
    from eventsapi.storage.sqlite import SQLiteStore

__all__ = ["Backend", "describe", "load"]

Backend: TypeAlias = "MemoryStore | SQLiteStore | PostgresStore"
"""What ``load`` gives: any backend (each module imported only when chosen)."""


def load(url: str, settings: Settings | None = None) -> Backend:
    """The backend for ``url``, not yet opened; ``settings`` tune it (defaults if none)."""
    scheme, _, rest = url.partition(":")
    if url in ("memory:", ":memory:"):
        from eventsapi.storage.memory import MemoryStore

        return MemoryStore()
    from eventsapi.settings import Settings

    settings = settings if settings is not None else Settings(database=url)
    query_timeout = settings.query_timeout_ms / 1000
    if scheme in ("postgres", "postgresql"):
        from eventsapi import extras

        extras.require("postgres", "A postgresql:// database")
        from eventsapi.storage.postgres import PostgresStore

        return PostgresStore(
            url,
            pool_min_size=settings.pool_min_size,
            pool_max_size=settings.pool_max_size,
            pool_timeout=settings.pool_timeout,
            statement_timeout=settings.statement_timeout,
            query_timeout=query_timeout,
            max_listings=settings.max_listings,
        )
    from eventsapi.storage.sqlite import SQLiteStore

    if scheme == "sqlite":
        path = rest.removeprefix("///") if rest.startswith("///") else rest.removeprefix("//")
    elif "://" in url:
        raise ConfigurationError(f"Unknown database URL scheme: {scheme!r}")
    else:
        path = url
    return SQLiteStore(
        Path(path or "eventsapi.db"),
        max_listings=settings.max_listings,
        query_timeout=query_timeout,
    )


def describe(url: str) -> str:
    """A human description of the database for logs (never includes a password)."""
    store = load(url)
    if store.name == "sqlite":
        from eventsapi.storage.sqlite import SQLiteStore

        assert isinstance(store, SQLiteStore)  # noqa: S101
        return f"SQLite file {store.path.resolve()}"
    if store.name == "postgres":
        from eventsapi.storage import postgres

        return postgres.describe(url)
    return "memory (nothing is kept after exit)"
