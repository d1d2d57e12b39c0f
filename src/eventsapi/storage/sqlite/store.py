"""The SQLite backend: the embedded default, a class made of one part per concern.

Durability: WAL journal with ``synchronous=FULL``, so a commit is on disk before
it returns, and a 2xx is sent only after the commit.

Writes: one writer thread owns the only write connection and runs every write
job it finds queued in one transaction (group commit): under concurrency one
fsync covers many writes, so durable throughput grows with the number of
clients. A job that fails (a duplicate id, a validation error) is undone alone
and the others still commit (see ``writer.Job``).

Reads: read-only connections in WAL mode never wait for the writer. Primary-key
reads take microseconds, so they run on the event loop directly, on one
connection; a thread hop per read would cost more than the read. Listings (and
the SLO's reads of many rows) can take much longer: they are tried on the loop with a
small budget of SQLite steps, and those that need more run in a few threads, each with
its own connection, within a time budget (``reads.ReadPool``).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from eventsapi.errors import ConfigurationError, StorageUnavailable
from eventsapi.storage.migrations import Migration
from eventsapi.storage.sqlite.accounts import SQLiteAccounts
from eventsapi.storage.sqlite.changes import SQLiteChanges
from eventsapi.storage.sqlite.connection import connect
from eventsapi.storage.sqlite.events import SQLiteEvents
from eventsapi.storage.sqlite.idempotency import SQLiteKeys
from eventsapi.storage.sqlite.migrations import apply_migrations, migration_status
from eventsapi.storage.sqlite.reads import ReadPool, TooDear, try_cheaply
from eventsapi.storage.sqlite.registrations import SQLiteRegistrations
from eventsapi.storage.sqlite.sli import SQLiteSLI
from eventsapi.storage.sqlite.transfer import SQLiteTransfer
from eventsapi.storage.sqlite.trash import SQLiteTrash
from eventsapi.storage.sqlite.webhooks import SQLiteWebhooks
from eventsapi.storage.sqlite.writer import Writer

T = TypeVar("T")


class SQLiteStore(
    SQLiteEvents,
    SQLiteTrash,
    SQLiteKeys,
    SQLiteTransfer,
    SQLiteChanges,
    SQLiteSLI,
    SQLiteAccounts,
    SQLiteWebhooks,
    SQLiteRegistrations,
):
    """Events, the trash, idempotency keys, the change log, SLIs, accounts, webhooks and
    registrations in one SQLite file, a part per concern."""

    name = "sqlite"

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout_ms: int = 5000,
        max_batch: int = 512,
        max_listings: int = 1,
        query_timeout: float = 2.0,
    ):
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._max_batch = max_batch
        self._max_listings = max_listings
        self._query_timeout = query_timeout
        self._reader: sqlite3.Connection | None = None
        self._pool: ReadPool | None = None
        self._writer: Writer | None = None

    async def open(self, *, migrate: bool = True) -> None:
        if not self.path.parent.is_dir():
            raise ConfigurationError(f"The folder for the database does not exist: {self.path}")
        try:
            conn = connect(self.path, busy_timeout_ms=self._busy_timeout_ms)
            if migrate:
                await apply_migrations(conn)
            self._reader = connect(self.path, busy_timeout_ms=self._busy_timeout_ms, read_only=True)
        except sqlite3.Error as exc:
            raise ConfigurationError(f"Cannot open the database {self.path}: {exc}") from exc
        self._pool = ReadPool(
            self._read_only, threads=self._max_listings, timeout=self._query_timeout
        )
        self._writer = Writer(conn, self._max_batch)
        self._writer.start(asyncio.get_running_loop())

    def _read_only(self) -> sqlite3.Connection:
        return connect(self.path, busy_timeout_ms=self._busy_timeout_ms, read_only=True)

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.to_thread(self._writer.stop)
            self._writer = None
        if self._pool is not None:
            await asyncio.to_thread(self._pool.close)
            self._pool = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _read(self) -> sqlite3.Connection:
        if self._reader is None:
            raise StorageUnavailable("The store is not open.")
        return self._reader

    async def _read_off_loop(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """A read that may be dear: on the loop if it is cheap, else in a reader thread,
        within the time budget."""
        if self._pool is None:
            raise StorageUnavailable("The store is not open.")
        done = try_cheaply(self._read(), work)
        if isinstance(done, TooDear):
            return await self._pool.run(work)
        return done

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._writer is None:
            raise StorageUnavailable("The store is not open.")
        return await self._writer.submit(work)

    async def check(self) -> None:
        try:
            self._read().execute("SELECT count(*) FROM schema_migrations").fetchone()
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"The database does not answer: {exc}") from exc

    async def snapshot(self) -> int | None:
        # Changes at every commit of another connection (the writer's, another worker's),
        # and never for this read-only one's own statements.
        version: int = self._read().execute("PRAGMA data_version").fetchone()[0]
        return version

    async def instance_key(self) -> bytes:
        row = self._read().execute("SELECT value FROM meta WHERE key = 'instance_key'").fetchone()
        return bytes.fromhex(row[0])

    async def migrations(self) -> list[Migration]:
        return await self._write(migration_status)
