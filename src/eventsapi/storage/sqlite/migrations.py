"""Applying SQLite's migrations (the runner's rule is in ``storage/migrations``)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from typing import Final

from eventsapi.errors import ConfigurationError
from eventsapi.storage import migrations
from eventsapi.storage.events import revision
from eventsapi.storage.migrations import Migration

_SQL: Final = migrations.statements("?")
REVISION_FUNCTION: Final = "eventsapi_revision"
"""``eventsapi_revision(version, doc)``: ``storage/events.py``'s ``revision``, for the
scripts."""

_MIGRATIONS_TABLE: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT
"""


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def applied(self, version: int) -> bool:
        return self._conn.execute(_SQL.applied, (version,)).fetchone() is not None

    async def apply(self, script: migrations.MigrationScript) -> None:
        # What the scripts need that SQLite has not: a stored document's revision, with
        # its SHA-256 (migration 0012), computed as the stores compute it.
        self._conn.create_function(REVISION_FUNCTION, 2, revision, deterministic=True)
        for statement in _statements(script.sql):
            self._conn.execute(statement)
        self._conn.execute(_SQL.record, (script.version, script.name))


@contextlib.asynccontextmanager
async def _locked(conn: sqlite3.Connection) -> AsyncIterator[_Transaction]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield _Transaction(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


async def apply_migrations(conn: sqlite3.Connection) -> list[int]:
    """Apply pending migrations, each in its own transaction; return the versions applied.

    ``BEGIN IMMEDIATE`` takes the write lock before reading what is applied, so
    workers that start together apply each migration once. Nothing here awaits: it runs
    on the caller's thread, as SQLite's calls do.
    """
    conn.execute(_MIGRATIONS_TABLE)
    return await migrations.run("sqlite", lambda: _locked(conn))


def migration_status(conn: sqlite3.Connection) -> list[Migration]:
    conn.execute(_MIGRATIONS_TABLE)
    applied = dict(conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall())
    return migrations.status("sqlite", applied)


def _statements(sql: str) -> list[str]:
    """Split a script into complete statements (sqlite3 executes one at a time)."""
    statements, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
    ):
        raise ConfigurationError(f"incomplete SQL statement in migration: {pending!r}")
    return statements
