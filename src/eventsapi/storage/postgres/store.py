"""The PostgreSQL backend: one database shared by any number of replicas, one part per concern.

Connections: psycopg 3 with an ``AsyncConnectionPool`` per process (sizes and
timeouts are settings). No connection within ``pool_timeout`` seconds, a lost
connection, a server shutting down, a statement over ``statement_timeout``: all
raise ``StorageUnavailable`` (503 with ``Retry-After``), never a 500. A broken
connection is discarded by the pool, which connects again by itself when the
server is back; a read that met a broken connection is tried again on another,
since reading twice cannot do harm (a write is not retried: it may have
committed).

Notifications: each write that appends to the change log notifies ``eventsapi_changes``
at commit; ``notifications.py`` listens on a connection of its own (the live stream's
wake-up across replicas).

Writes: each is one transaction (``events.py``; idempotency keys under an advisory
lock, ``idempotency.py``) that appends its record to the change log last (``changes.py``:
positions in commit order).

Schema: migrations ``migrations/postgres/NNNN_name.sql`` (``migrations.py``), recorded in a
``schema_migrations`` table and applied under an advisory lock (per schema), so
replicas that start together apply each one once.

Parity with SQLite: documents are stored as the bytes msgspec encoded (ETags
are digests of them); sort keys are the same text (``domain.query.utc_text``,
``NO_START``), compared by code point (``COLLATE "C"``), so that a page position
means the same on both backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from time import monotonic
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool

from eventsapi.errors import ConfigurationError, StorageUnavailable
from eventsapi.storage.migrations import Migration
from eventsapi.storage.postgres.accounts import PostgresAccounts
from eventsapi.storage.postgres.batch import Batches
from eventsapi.storage.postgres.changes import PostgresChanges
from eventsapi.storage.postgres.connection import (
    CHECK_TIMEOUT,
    RECONNECT_TIMEOUT,
    UNAVAILABLE,
    BrokenConnection,
    Connection,
    current_schema,
    describe,
    reason,
    unavailable,
)
from eventsapi.storage.postgres.events import PostgresEvents
from eventsapi.storage.postgres.idempotency import PostgresKeys
from eventsapi.storage.postgres.migrations import apply_migrations, migration_status
from eventsapi.storage.postgres.notifications import PostgresNotices
from eventsapi.storage.postgres.registrations import PostgresRegistrations
from eventsapi.storage.postgres.sli import PostgresSLI
from eventsapi.storage.postgres.transfer import PostgresTransfer
from eventsapi.storage.postgres.trash import PostgresTrash
from eventsapi.storage.postgres.webhooks import PostgresWebhooks

T = TypeVar("T")
IDLE = TransactionStatus.IDLE


class PostgresStore(
    PostgresEvents,
    PostgresTrash,
    PostgresKeys,
    PostgresTransfer,
    PostgresChanges,
    PostgresNotices,
    PostgresSLI,
    PostgresAccounts,
    PostgresWebhooks,
    PostgresRegistrations,
):
    """Events, the trash, idempotency keys, the change log, SLIs, accounts, webhooks and
    registrations in a PostgreSQL database (the schema first on the URL's search_path), a
    part per concern."""

    name = "postgres"

    def __init__(
        self,
        url: str,
        *,
        pool_min_size: int = 1,
        pool_max_size: int = 10,
        pool_timeout: float = 5.0,
        statement_timeout: float = 30.0,
        query_timeout: float = 2.0,
        max_listings: int = 1,
        pool_max_lifetime: float = 3600.0,
        pool_max_idle: float = 600.0,
    ) -> None:
        self.url = url
        self.pool_min_size = pool_min_size
        self.pool_max_size = max(pool_max_size, pool_min_size)
        self.pool_timeout = pool_timeout
        self.statement_timeout = statement_timeout
        self.query_timeout = query_timeout
        # psycopg_pool's own defaults: a connection is replaced after an hour, and one
        # unused for ten minutes lets the pool shrink towards its minimum.
        self.pool_max_lifetime = pool_max_lifetime
        self.pool_max_idle = pool_max_idle
        # Listings at once: a few dear ones must leave the server's CPU to everyone else.
        self._listings = asyncio.Semaphore(max_listings)
        self._pool: AsyncConnectionPool[Connection] | None = None
        # The cheap checkout in front of the pool (``_connection``): connections back from a
        # request wait here, ready for the next, unless a request waits in the pool. Every
        # ``pool_max_idle`` seconds they go back to it (``_hand_back``).
        self._idle: list[Connection] = []
        self._handing_back: asyncio.Task[None] | None = None
        self._by_id = Batches(self._read_by_ids)
        self._creates = Batches(self._create_together)
        self._created = itertools.count()
        self._waiting = 0
        self._schema = ""
        self._checking: asyncio.Task[None] | None = None

    # -- connections ---------------------------------------------------------------

    def _connect_kwargs(self) -> dict[str, Any]:
        # libpq's connect_timeout is whole seconds, and at least 2.
        return {"autocommit": True, "connect_timeout": max(2, math.ceil(self.pool_timeout))}

    async def _configure(self, conn: Connection) -> None:
        """Run on every new connection of the pool."""
        milliseconds = round(self.statement_timeout * 1000)
        await conn.execute(
            "SELECT set_config('statement_timeout', %s, false)", (str(milliseconds),)
        )

    async def open(self, *, migrate: bool = True) -> None:
        try:
            conninfo_to_dict(self.url)
        except psycopg.ProgrammingError as exc:
            raise ConfigurationError(f"Invalid PostgreSQL URL: {exc}") from None
        # Migrate on a connection of its own, before the pool: a server that cannot be
        # reached is reported with libpq's own reason, not as a pool timeout.
        try:
            conn = await psycopg.AsyncConnection.connect(self.url, **self._connect_kwargs())
            async with conn:
                self._schema = await current_schema(conn)
                if migrate:
                    await apply_migrations(conn, self._schema)
        except UNAVAILABLE as exc:
            raise StorageUnavailable(
                f"Cannot connect to the {describe(self.url)}: {reason(exc)}"
            ) from exc
        except psycopg.Error as exc:
            raise ConfigurationError(
                f"Cannot prepare the {describe(self.url)}: {reason(exc)}"
            ) from exc
        pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            self.url,
            kwargs=self._connect_kwargs(),
            min_size=self.pool_min_size,
            max_size=self.pool_max_size,
            timeout=self.pool_timeout,
            configure=self._configure,
            max_lifetime=self.pool_max_lifetime,
            max_idle=self.pool_max_idle,
            name="eventsapi",
            reconnect_timeout=RECONNECT_TIMEOUT,
            open=False,
        )
        await pool.open()
        self._pool = pool
        self._handing_back = asyncio.create_task(self._hand_back(pool), name="pool-hand-back")

    async def close(self) -> None:
        for task in (self._checking, self._handing_back):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._checking = self._handing_back = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await self._give_back_idle(pool)
            await pool.close()

    async def _give_back_idle(self, pool: AsyncConnectionPool[Connection]) -> None:
        # Taken off the list one at a time: cancelled midway (close() cancels the task
        # that gives them back), the rest stay listed for close() to give back.
        for _ in range(len(self._idle)):
            if not self._idle:
                break
            await pool.putconn(self._idle.pop(0))

    async def _hand_back(self, pool: AsyncConnectionPool[Connection]) -> None:
        """Every ``pool_max_idle`` seconds, give the listed connections back to the pool, as
        if each request had: it closes those past their lifetime, and those that no
        request takes again count as unused, so that it shrinks after a burst as it would
        without the list. The next requests take theirs from the pool, once."""
        while True:
            await asyncio.sleep(self.pool_max_idle)
            with contextlib.suppress(*UNAVAILABLE):
                await self._give_back_idle(pool)

    def _require_pool(self) -> AsyncConnectionPool[Connection]:
        if self._pool is None:
            raise StorageUnavailable("The store is not open.")
        return self._pool

    def _broken(self) -> None:
        """A connection was found broken: have the pool test its idle ones (in the
        background, once at a time), so that after a server restart every stale
        connection is replaced at once rather than failing one request each."""
        if self._pool is None or (self._checking is not None and not self._checking.done()):
            return
        self._checking = asyncio.create_task(self._check_pool(self._pool), name="pool-check")

    async def _check_pool(self, pool: AsyncConnectionPool[Connection]) -> None:
        with contextlib.suppress(*UNAVAILABLE):
            # The idle ones held in front of the pool are stale too: the pool tests them.
            await self._give_back_idle(pool)
            await pool.check()

    @contextlib.asynccontextmanager
    async def _connection(self, *, wait: float | None = None) -> AsyncIterator[Connection]:
        """A connection of the pool (waiting ``wait`` seconds at most, else ``pool_timeout``);
        connection and server failures become StorageUnavailable.

        A cheap checkout in front of ``psycopg_pool``: a connection that comes back idle and
        sound waits in ``_idle`` for the next request, which takes it without the pool's
        locks, statistics and reset (measured in docs/benchmarks.md, issue 18). The pool
        still makes, replaces and tests connections: one that comes back broken or inside a
        transaction goes back to it, and so does every one while a request waits in the pool
        (which would otherwise wait for nothing while connections sat here), and one past
        the pool's ``max_lifetime``, which the pool closes and replaces, before it is used
        again; every ``pool_max_idle`` seconds all go back (``_hand_back``).
        """
        pool = self._require_pool()
        conn: Connection | None = None
        try:
            while self._idle:
                conn = self._idle.pop()
                # The pool's own deadline for it (max_lifetime, less a jitter).
                if conn._expire_at > monotonic():
                    break
                expired, conn = conn, None
                await pool.putconn(expired)
            if conn is None:
                self._waiting += 1
                try:
                    conn = await pool.getconn(timeout=wait)
                finally:
                    self._waiting -= 1
            try:
                yield conn
            finally:
                if (
                    self._waiting
                    or self._pool is not pool
                    or conn.broken
                    or conn.info.transaction_status != IDLE
                ):
                    await pool.putconn(conn)
                else:
                    self._idle.append(conn)
        except UNAVAILABLE as exc:
            if conn is not None and conn.broken:
                self._broken()
                raise BrokenConnection(f"The database connection was lost: {reason(exc)}") from exc
            raise unavailable(exc) from exc

    async def _read(
        self, work: Callable[[Connection], Awaitable[T]], *, wait: float | None = None
    ) -> T:
        """Run a read; again on another connection while the one given was broken.

        After a server restart every idle connection of the pool is stale, and each
        fails at once: at most that many tries, then one on a new connection. ``wait``:
        as in ``_connection``.
        """
        for _ in range(self.pool_max_size):
            try:
                async with self._connection(wait=wait) as conn:
                    return await work(conn)
            except BrokenConnection:
                continue
        async with self._connection(wait=wait) as conn:
            return await work(conn)

    async def _write(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Run a write in one transaction (rolled back if ``work`` raises)."""
        async with self._connection() as conn, conn.transaction():
            return await work(conn)

    # -- reads ---------------------------------------------------------------------

    async def snapshot(self) -> int | None:
        # No number tells every commit apart for less than a round trip, which is what a
        # kept answer would save.
        return None

    async def check(self) -> None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                wait = min(self.pool_timeout, CHECK_TIMEOUT)
                async with self._connection(wait=wait) as conn:
                    await conn.execute("SELECT 1 FROM schema_migrations LIMIT 1")
        except TimeoutError as exc:
            raise StorageUnavailable("The database did not answer in time.") from exc
        except psycopg.Error as exc:
            raise unavailable(exc) from exc

    async def instance_key(self) -> bytes:
        async def work(conn: Connection) -> bytes:
            cursor = await conn.execute("SELECT value FROM meta WHERE key = 'instance_key'")
            row = await cursor.fetchone()
            if row is None:
                raise ConfigurationError("The database has no instance key: run its migrations.")
            return bytes.fromhex(row[0])

        return await self._read(work)

    async def migrations(self) -> list[Migration]:
        return await self._read(migration_status)
