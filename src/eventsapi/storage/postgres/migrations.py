"""Applying PostgreSQL's migrations (the runner's rule is in ``storage/migrations``).

Each transaction takes an advisory lock per schema, so replicas that start together apply
each migration once.
"""

# The one fragment joined into SQL here is a constant of this module.
# ruff: noqa: S608

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Final

from eventsapi.storage import migrations
from eventsapi.storage.migrations import Migration
from eventsapi.storage.postgres.connection import Connection, lock_key

_SQL: Final = migrations.statements("%s")
_MIGRATIONS_TABLE: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
_APPLIED_AT: Final = "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"


class _Transaction:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def applied(self, version: int) -> bool:
        return await (await self._conn.execute(_SQL.applied, (version,))).fetchone() is not None

    async def apply(self, script: migrations.MigrationScript) -> None:
        await self._conn.execute(script.sql.encode())
        await self._conn.execute(_SQL.record, (script.version, script.name))


@contextlib.asynccontextmanager
async def _locked(conn: Connection, schema: str) -> AsyncIterator[_Transaction]:
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            (lock_key("migrate", schema),),
        )
        await conn.execute(_MIGRATIONS_TABLE)
        yield _Transaction(conn)


async def apply_migrations(conn: Connection, schema: str) -> list[int]:
    """Apply pending migrations, each in its own transaction; return the versions applied.

    Each transaction first takes an advisory lock for this schema, then reads what
    is applied: replicas that start together apply each migration once. ``conn``
    must be in autocommit mode (each ``transaction()`` is then a real one).
    """
    return await migrations.run("postgres", lambda: _locked(conn, schema))


async def migration_status(conn: Connection) -> list[Migration]:
    cursor = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    exists = await cursor.fetchone()
    applied: dict[int, str] = {}
    if exists is not None and exists[0]:
        cursor = await conn.execute(f"SELECT version, {_APPLIED_AT} FROM schema_migrations")
        applied = {version: at for version, at in await cursor.fetchall()}
    return migrations.status("postgres", applied)
