"""The PostgreSQL backend: one database shared by any number of replicas.

Connections: psycopg 3 with an ``AsyncConnectionPool`` per process (sizes and
timeouts are settings). No connection within ``pool_timeout`` seconds, a lost
connection, a server shutting down, a statement over ``statement_timeout``: all
raise ``StorageUnavailable`` (503 with ``Retry-After``), never a 500. A broken
connection is discarded by the pool, which connects again by itself when the
server is back; a read that met a broken connection is tried again on another,
since reading twice cannot do harm (a write is not retried: it may have
committed).

Writes: each is one transaction. Those that depend on the current state lock
the event's row (``SELECT ... FOR UPDATE``) and run the caller's pure function
inside the transaction, as SQLite runs it under its write lock. An idempotency
key is looked up under a transaction-scoped advisory lock on the key, so two
replicas given the same new key one after the other: the second finds what the
first saved and replays it.

Schema: migrations ``migrations/postgres/NNNN_name.sql``, recorded in a
``schema_migrations`` table and applied under an advisory lock (per schema), so
replicas that start together apply each one once.

Parity with SQLite: documents are stored as the bytes msgspec encoded (ETags
are digests of them); sort keys are the same text (``domain.query.utc_text``,
``NO_START``), compared by code point (``COLLATE "C"``), so that a page position
means the same on both backends.
"""

# Every fragment joined into SQL here is a constant of this module or of
# postgres_query; values are always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Sequence,
)
from datetime import datetime
from typing import Any, Final, TypeVar

import msgspec
import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from eventsapi.domain.events import Event
from eventsapi.domain.query import EventQuery, starts_key, utc_text
from eventsapi.errors import (
    AlreadyExists,
    ConfigurationError,
    NotFound,
    QueryTooExpensive,
    StorageUnavailable,
)
from eventsapi.slo.records import AlertTransition, MinuteTotals, SLIRow
from eventsapi.slo.spec import Routes
from eventsapi.storage import migrations, postgres_query, sli_tables
from eventsapi.storage.base import (
    Build,
    Change,
    EventStore,
    Guard,
    IdempotencyKey,
    ImportResult,
    Migration,
    OnConflict,
    Page,
    SavedKey,
    SavedResponse,
    answer_reuse,
    page_of,
)
from eventsapi.storage.postgres_accounts import PostgresAccounts

T = TypeVar("T")
Connection = psycopg.AsyncConnection[TupleRow]

_encode = msgspec.json.Encoder().encode
_decode_event = msgspec.json.Decoder(Event).decode

_UNAVAILABLE: Final = (psycopg.OperationalError, psycopg.InterfaceError)
"""Errors of the connection or the server (psycopg_pool's timeouts included), not of the SQL."""

CHECK_TIMEOUT: Final = 2.0
"""Seconds ``check()`` (``/readyz``) waits for the database at most."""

RECONNECT_TIMEOUT: Final = 5.0
"""Seconds the pool retries a lost connection, waiting longer each time, before it gives
up; the next request that needs a connection then starts again with no wait. This
bounds how long after the server is back the pool may still be waiting to retry."""

_MIGRATIONS_TABLE: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
_APPLIED_AT: Final = "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

_COLUMNS: Final = "version, title, status, starts_key, created_at, updated_at, tags, search, doc"
_INSERT: Final = (
    f"INSERT INTO events ({_COLUMNS}, id) VALUES"
    f" (%s, %s, %s, %s, %s, %s, %s::text[], {postgres_query.SEARCH}, %s, %s)"
    " ON CONFLICT (id) DO NOTHING"
)
_UPDATE: Final = (
    "UPDATE events SET version = %s, title = %s, status = %s, starts_key = %s,"
    " created_at = %s, updated_at = %s, tags = %s::text[],"
    f" search = {postgres_query.SEARCH}, doc = %s WHERE id = %s"
)

_UPSERT_SLI: Final = sli_tables.upsert_sli("%s")
_INSERT_TRANSITION: Final = sli_tables.insert_transition("%s")
_SELECT_TRANSITIONS: Final = sli_tables.select_transitions("%s")


def row_values(event: Event) -> tuple[Any, ...]:
    """The parameters of ``_INSERT`` and ``_UPDATE`` (same order)."""
    return (
        event.version,
        postgres_query.text(event.title),
        event.status,
        starts_key(event),
        utc_text(event.created_at),
        utc_text(event.updated_at),
        [postgres_query.text(tag) for tag in event.tags],
        *postgres_query.search_text(event),
        _encode(event),
        event.id,
    )


class _BrokenConnection(StorageUnavailable):
    """The connection broke (the server went away): the pool discards it."""


def _reason(exc: BaseException) -> str:
    """The error's message on one line (libpq's run over several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _unavailable(exc: BaseException) -> StorageUnavailable:
    return StorageUnavailable(f"The database is unavailable: {_reason(exc)}")


def describe(url: str) -> str:
    """The database for logs and messages: host, port, name and user, never a password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "PostgreSQL (an invalid URL)"
    host = parts.get("host") or "the default host"
    port = f":{parts['port']}" if parts.get("port") else ""
    database = parts.get("dbname") or "the default database"
    user = f" as {parts['user']}" if parts.get("user") else ""
    return f"PostgreSQL database {database} on {host}{port}{user}"


def _lock_key(*parts: str) -> str:
    """Text for ``hashtextextended``: the parts length-prefixed, so no two lists give one text."""
    return "eventsapi " + " ".join(f"{len(part)}:{part}" for part in parts)


async def current_schema(conn: Connection) -> str:
    row = await (await conn.execute("SELECT current_schema()")).fetchone()
    if row is None or row[0] is None:
        raise ConfigurationError(
            "The PostgreSQL search_path names no schema that exists; create it, or "
            "connect with options=-csearch_path=<schema> for an existing one."
        )
    schema: str = row[0]
    return schema


async def apply_migrations(conn: Connection, schema: str) -> list[int]:
    """Apply pending migrations, each in its own transaction; return the versions applied.

    Each transaction first takes an advisory lock for this schema, then reads what
    is applied: replicas that start together apply each migration once. ``conn``
    must be in autocommit mode (each ``transaction()`` is then a real one).
    """
    applied_now = []
    for script in migrations.scripts("postgres"):
        async with conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (_lock_key("migrate", schema),),
            )
            await conn.execute(_MIGRATIONS_TABLE)
            cursor = await conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = %s", (script.version,)
            )
            if await cursor.fetchone() is None:
                await conn.execute(script.sql.encode())
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (script.version, script.name),
                )
                applied_now.append(script.version)
    return applied_now


async def migration_status(conn: Connection) -> list[Migration]:
    cursor = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    exists = await cursor.fetchone()
    applied: dict[int, str] = {}
    if exists is not None and exists[0]:
        cursor = await conn.execute(f"SELECT version, {_APPLIED_AT} FROM schema_migrations")
        applied = {version: at for version, at in await cursor.fetchall()}
    return [
        Migration(script.version, script.name, applied.get(script.version))
        for script in migrations.scripts("postgres")
    ]


async def _current(conn: Connection, event_id: str, *, lock: bool = False) -> Event | None:
    sql = "SELECT doc FROM events WHERE id = %s" + (" FOR UPDATE" if lock else "")
    row = await (await conn.execute(sql, (event_id,), binary=True)).fetchone()
    return None if row is None else _decode_event(row[0])


async def _saved_key(conn: Connection, scope: str, key: str, now: datetime) -> SavedKey | None:
    cursor = await conn.execute(
        "SELECT fingerprint, status, headers, body FROM idempotency_keys"
        " WHERE scope = %s AND key = %s AND expires_at > %s",
        (scope, key, now),
        binary=True,
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    fingerprint, status, headers, body = row
    pairs = tuple((name, value) for name, value in msgspec.json.decode(headers))
    return SavedKey(bytes(fingerprint), SavedResponse(status, pairs, bytes(body)))


class PostgresStore(PostgresAccounts, EventStore):
    """Events in a PostgreSQL database (the schema first on the URL's search_path); accounts
    too (``PostgresAccounts``)."""

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
    ) -> None:
        self.url = url
        self.pool_min_size = pool_min_size
        self.pool_max_size = max(pool_max_size, pool_min_size)
        self.pool_timeout = pool_timeout
        self.statement_timeout = statement_timeout
        self.query_timeout = query_timeout
        # Listings at once: a few dear ones must leave the server's CPU to everyone else.
        self._listings = asyncio.Semaphore(max_listings)
        self._pool: AsyncConnectionPool[Connection] | None = None
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
        except _UNAVAILABLE as exc:
            raise StorageUnavailable(
                f"Cannot connect to the {describe(self.url)}: {_reason(exc)}"
            ) from exc
        except psycopg.Error as exc:
            raise ConfigurationError(
                f"Cannot prepare the {describe(self.url)}: {_reason(exc)}"
            ) from exc
        pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            self.url,
            kwargs=self._connect_kwargs(),
            min_size=self.pool_min_size,
            max_size=self.pool_max_size,
            timeout=self.pool_timeout,
            configure=self._configure,
            name="eventsapi",
            reconnect_timeout=RECONNECT_TIMEOUT,
            open=False,
        )
        await pool.open()
        self._pool = pool

    async def close(self) -> None:
        if self._checking is not None:
            self._checking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checking
            self._checking = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

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

    @staticmethod
    async def _check_pool(pool: AsyncConnectionPool[Connection]) -> None:
        with contextlib.suppress(*_UNAVAILABLE):
            await pool.check()

    @contextlib.asynccontextmanager
    async def _connection(self, *, wait: float | None = None) -> AsyncIterator[Connection]:
        """A connection of the pool (waiting ``wait`` seconds at most, else ``pool_timeout``);
        connection and server failures become StorageUnavailable."""
        pool = self._require_pool()
        conn: Connection | None = None
        try:
            async with pool.connection(timeout=wait) as conn:
                yield conn
        except _UNAVAILABLE as exc:
            if conn is not None and conn.broken:
                self._broken()
                raise _BrokenConnection(
                    f"The database connection was lost: {_reason(exc)}"
                ) from exc
            raise _unavailable(exc) from exc

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
            except _BrokenConnection:
                continue
        async with self._connection(wait=wait) as conn:
            return await work(conn)

    async def _write(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Run a write in one transaction (rolled back if ``work`` raises)."""
        async with self._connection() as conn, conn.transaction():
            return await work(conn)

    # -- reads ---------------------------------------------------------------------

    async def check(self) -> None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                wait = min(self.pool_timeout, CHECK_TIMEOUT)
                async with self._connection(wait=wait) as conn:
                    await conn.execute("SELECT 1 FROM schema_migrations LIMIT 1")
        except TimeoutError as exc:
            raise StorageUnavailable("The database did not answer in time.") from exc
        except psycopg.Error as exc:
            raise _unavailable(exc) from exc

    async def get(self, event_id: str) -> Event | None:
        async def work(conn: Connection) -> Event | None:
            return await _current(conn, event_id)

        return await self._read(work)

    async def get_json(self, event_id: str) -> tuple[bytes, int] | None:
        async def work(conn: Connection) -> tuple[bytes, int] | None:
            cursor = await conn.execute(
                "SELECT doc, version FROM events WHERE id = %s", (event_id,), binary=True
            )
            row = await cursor.fetchone()
            return None if row is None else (bytes(row[0]), int(row[1]))

        return await self._read(work)

    async def list_page(self, query: EventQuery) -> Page:
        select = postgres_query.page(query)
        # The budget counts from now: a listing that waited for a connection has less left.
        deadline = asyncio.get_running_loop().time() + self.query_timeout

        async def work(conn: Connection) -> Page:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise QueryTooExpensive.past_budget(self.query_timeout, waited=True)
            try:
                async with conn.transaction():
                    return await budgeted(conn, round(left * 1000))
            except psycopg.errors.QueryCanceled:
                raise QueryTooExpensive.past_budget(self.query_timeout, waited=False) from None

        async def budgeted(conn: Connection, milliseconds: int) -> Page:
            # Local to the transaction: the pool's connections keep statement_timeout.
            await conn.execute(
                "SELECT set_config('statement_timeout', %s, true)", (str(milliseconds),)
            )
            cursor = await conn.execute(select.sql, select.params, binary=True)
            rows = await cursor.fetchall()
            more = len(rows) > query.limit
            rows = rows[: query.limit]
            if select.reversed:
                rows.reverse()
            positions = [select.position(row) for row in rows]
            total = None
            if query.count:
                counting = postgres_query.count(query)
                found = await (await conn.execute(counting.sql, counting.params)).fetchone()
                total = int(found[0]) if found is not None else 0
            documents = [bytes(row[1]) for row in rows]
            return page_of(documents, positions, query, more=more, total=total)

        try:
            async with asyncio.timeout_at(deadline):
                await self._listings.acquire()
        except TimeoutError:
            raise QueryTooExpensive.past_budget(self.query_timeout, waited=True) from None
        try:
            return await self._read(work)
        finally:
            self._listings.release()

    async def saved_key(self, scope: str, key: str, now: datetime) -> SavedKey | None:
        async def work(conn: Connection) -> SavedKey | None:
            return await _saved_key(conn, scope, key, now)

        return await self._read(work)

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

    # -- writes --------------------------------------------------------------------

    async def _claim(self, conn: Connection, once: IdempotencyKey | None) -> None:
        """Raise ``Replay`` (or ``IdempotencyKeyReused``) if ``once`` was used already.

        The advisory lock, held until the transaction ends, makes a second request
        with the same key (on any replica) wait for the first to commit or roll back,
        and then find its saved response.
        """
        if once is None:
            return
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            (_lock_key("idempotency", self._schema, once.scope, once.key),),
        )
        saved = await _saved_key(conn, once.scope, once.key, once.now)
        if saved is None:
            # An expired key is forgotten now, so that it can be saved again.
            await conn.execute(
                "DELETE FROM idempotency_keys WHERE scope = %s AND key = %s",
                (once.scope, once.key),
            )
            return
        answer_reuse(saved, once.key, once.fingerprint)

    @staticmethod
    async def _save(conn: Connection, once: IdempotencyKey | None, event: Event) -> None:
        if once is None:
            return
        response = once.respond(event)
        await conn.execute(
            "INSERT INTO idempotency_keys"
            " (scope, key, fingerprint, status, headers, body, created_at, expires_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                once.scope,
                once.key,
                once.fingerprint,
                response.status,
                _encode([list(pair) for pair in response.headers]).decode(),
                response.body,
                once.now,
                once.expires_at,
            ),
        )

    async def create(self, event: Event, *, once: IdempotencyKey | None = None) -> Event:
        async def work(conn: Connection) -> Event:
            await self._claim(conn, once)
            inserted = await conn.execute(_INSERT, row_values(event))
            if inserted.rowcount == 0:
                raise AlreadyExists(f"An event with id {event.id!r} already exists.")
            await self._save(conn, once, event)
            return event

        return await self._write(work)

    async def update(
        self, event_id: str, change: Change, *, once: IdempotencyKey | None = None
    ) -> Event:
        async def work(conn: Connection) -> Event:
            await self._claim(conn, once)
            current = await _current(conn, event_id, lock=True)
            if current is None:
                raise NotFound(f"No event with id {event_id!r}.")
            updated = change(current)
            await conn.execute(_UPDATE, row_values(updated))
            await self._save(conn, once, updated)
            return updated

        return await self._write(work)

    async def put(self, event_id: str, build: Build) -> tuple[Event, bool]:
        async def work(conn: Connection) -> tuple[Event, bool] | None:
            current = await _current(conn, event_id, lock=True)
            event = build(current)
            if current is not None:
                await conn.execute(_UPDATE, row_values(event))
                return event, False
            if (await conn.execute(_INSERT, row_values(event))).rowcount == 0:
                return None  # created meanwhile by another transaction: build on it
            return event, True

        while True:
            done = await self._write(work)
            if done is not None:
                return done

    async def delete(self, event_id: str, *, guard: Guard | None = None) -> None:
        async def work(conn: Connection) -> None:
            if guard is not None:
                current = await _current(conn, event_id, lock=True)
                if current is None:
                    raise NotFound(f"No event with id {event_id!r}.")
                guard(current)
            deleted = await conn.execute("DELETE FROM events WHERE id = %s", (event_id,))
            if deleted.rowcount == 0:
                raise NotFound(f"No event with id {event_id!r}.")

        await self._write(work)

    async def prune_keys(self, now: datetime) -> int:
        async def work(conn: Connection) -> int:
            cursor = await conn.execute(
                "DELETE FROM idempotency_keys WHERE expires_at <= %s", (now,)
            )
            return cursor.rowcount

        return await self._write(work)

    # -- service level indicators ----------------------------------------------------

    async def record_sli(self, rows: Sequence[SLIRow]) -> None:
        # One upsert per key, in key order (sli_tables.merged): concurrent transactions
        # lock the rows they share in one order, so they queue rather than deadlock.
        params = sli_tables.upsert_params(rows)
        if not params:
            return

        async def work(conn: Connection) -> None:
            async with conn.cursor() as cursor:
                await cursor.executemany(_UPSERT_SLI, params)

        await self._write(work)

    async def sli_minutes(
        self, start: datetime, end: datetime, routes: Routes = "all"
    ) -> list[MinuteTotals]:
        select = sli_tables.select_minutes(start, end, routes, "%s")
        if select is None:
            return []

        async def work(conn: Connection) -> list[MinuteTotals]:
            cursor = await conn.execute(select.sql, select.params)
            return [sli_tables.minute_totals(row) for row in await cursor.fetchall()]

        return await self._read(work)

    async def prune_sli(self, before: datetime) -> int:
        stop = sli_tables.minute_at_or_after(before)

        async def work(conn: Connection) -> int:
            cursor = await conn.execute("DELETE FROM sli_minutes WHERE minute < %s", (stop,))
            return cursor.rowcount

        return await self._write(work)

    async def add_alert_transition(self, transition: AlertTransition) -> bool:
        async def work(conn: Connection) -> bool:
            params = sli_tables.transition_params(transition)
            cursor = await conn.execute(_INSERT_TRANSITION, params)
            return cursor.rowcount == 1

        return await self._write(work)

    async def alert_transitions(
        self, since: datetime, *, limit: int = 100
    ) -> list[AlertTransition]:
        sli_tables.check_limit(limit)
        params = (sli_tables.minute_at_or_after(since), limit)

        async def work(conn: Connection) -> list[AlertTransition]:
            cursor = await conn.execute(_SELECT_TRANSITIONS, params)
            return [sli_tables.transition(row) for row in await cursor.fetchall()]

        return await self._read(work)

    # -- bulk ----------------------------------------------------------------------

    async def import_events(
        self,
        events: Iterable[Event],
        *,
        on_conflict: OnConflict = "error",
        keep: Callable[[ImportResult], bool] | None = None,
    ) -> ImportResult:
        async with self._connection() as conn:
            stored = False
            async with conn.transaction():
                imported = replaced = 0
                conflicts: list[str] = []
                for event in events:
                    inserted = await conn.execute(_INSERT, row_values(event))
                    if inserted.rowcount == 1:
                        imported += 1
                    elif on_conflict == "replace":
                        await conn.execute(_UPDATE, row_values(event))
                        replaced += 1
                    else:
                        conflicts.append(event.id)
                result = ImportResult(
                    imported=imported,
                    replaced=replaced,
                    skipped=len(conflicts) if on_conflict == "skip" else 0,
                    conflicts=tuple(conflicts),
                )
                stored = not (on_conflict == "error" and conflicts) and (
                    keep is None or keep(result)
                )
                if not stored:
                    raise psycopg.Rollback
        return dataclasses.replace(result, committed=stored)

    async def export_documents(
        self, *, batch_size: int = 1000
    ) -> AsyncGenerator[list[bytes], None]:
        # One repeatable-read transaction: one snapshot for the whole export. The
        # server-side cursor sends one batch per fetch, so memory holds one batch.
        async with self._connection() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            async with conn.cursor(name="eventsapi_export", binary=True) as cursor:
                await cursor.execute("SELECT doc FROM events ORDER BY seq")
                while batch := await cursor.fetchmany(batch_size):
                    yield [bytes(doc) for (doc,) in batch]
