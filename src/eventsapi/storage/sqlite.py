"""The SQLite backend: the embedded default.

Durability: WAL journal with ``synchronous=FULL``, so a commit is on disk before
it returns, and a 2xx is sent only after the commit.

Writes: one writer thread owns the only write connection and runs every write
job it finds queued in one transaction (group commit): under concurrency one
fsync covers many writes, so durable throughput grows with the number of
clients. A job that fails (a duplicate id, a validation error) is undone alone
and the others still commit (see ``_Job``).

Reads: read-only connections in WAL mode never wait for the writer. Primary-key
reads take microseconds, so they run on the event loop directly, on one
connection; a thread hop per read would cost more than the read. Listings (and
the SLO's reads of many rows) can take much longer: they run in a few threads,
each with its own connection, within a time budget (``sqlite_reads.ReadPool``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import queue
import sqlite3
import threading
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from eventsapi.domain.events import Event
from eventsapi.domain.query import EventQuery, utc_text
from eventsapi.errors import (
    AlreadyExists,
    ConfigurationError,
    NotFound,
    StorageUnavailable,
)
from eventsapi.slo.records import AlertTransition, MinuteTotals, SLIRow
from eventsapi.slo.spec import Routes
from eventsapi.storage import migrations, sli_tables, sqlite_query, sqlite_reads
from eventsapi.storage import sqlite_rows as rows
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
from eventsapi.storage.sqlite_accounts import SQLiteAccounts

T = TypeVar("T")

_encode = msgspec.json.Encoder().encode
_decode_event = msgspec.json.Decoder(Event).decode

_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT
"""


def connect(path: Path, *, busy_timeout_ms: int, read_only: bool = False) -> sqlite3.Connection:
    """A connection with the pragmas every connection of ours needs."""
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, cached_statements=64
    )
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    if read_only:
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    return conn


def apply_migrations(conn: sqlite3.Connection) -> list[int]:
    """Apply pending migrations, each in its own transaction; return the versions applied.

    ``BEGIN IMMEDIATE`` takes the write lock before reading what is applied, so
    workers that start together apply each migration once.
    """
    conn.execute(_MIGRATIONS_TABLE)
    applied_now = []
    for script in migrations.scripts("sqlite"):
        conn.execute("BEGIN IMMEDIATE")
        try:
            done = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (script.version,)
            ).fetchone()
            if done is None:
                for statement in _statements(script.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                    (script.version, script.name),
                )
                applied_now.append(script.version)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return applied_now


def migration_status(conn: sqlite3.Connection) -> list[Migration]:
    conn.execute(_MIGRATIONS_TABLE)
    applied = dict(conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall())
    return [
        Migration(script.version, script.name, applied.get(script.version))
        for script in migrations.scripts("sqlite")
    ]


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


@dataclass(slots=True)
class _Job:
    """One write. ``work`` runs inside the group's transaction.

    Every job makes at most one change that can fail on its own, as its last
    such statement, so a failing job needs no savepoint to be undone alone: it
    raised before changing anything, or its one statement failed and SQLite
    undid that statement. (Savepoints cost a quarter of a simple insert.) Rows
    that triggers maintain (tags, the text index) belong to that statement. An
    idempotency key saved after the change cannot collide (it was looked up
    under the write lock), so it fails only with a database error, and that
    undoes the whole group. Any other job that changes more than one row must
    wrap its changes in a savepoint of its own.
    """

    work: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]


class _Writer:
    """The one writer: a thread that commits queued jobs in groups."""

    def __init__(self, conn: sqlite3.Connection, max_batch: int) -> None:
        self._conn = conn
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="eventsapi-writer", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread.start()

    async def submit(self, work: Callable[[sqlite3.Connection], T]) -> T:
        assert self._loop is not None  # noqa: S101
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.put(_Job(work, future))
        return await future

    def stop(self) -> None:
        """Commit what is queued, then end the thread."""
        self._queue.put(None)
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                batch.append(job)
            outcomes = self._commit(batch)
            assert self._loop is not None  # noqa: S101
            self._loop.call_soon_threadsafe(_settle, batch, outcomes)

    def _commit(self, batch: list[_Job]) -> list[tuple[bool, Any]]:
        conn = self._conn
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in batch:
                try:
                    outcomes.append((True, job.work(conn)))
                except sqlite3.Error:
                    raise
                except Exception as exc:  # noqa: BLE001 - the job's own error goes to its caller
                    outcomes.append((False, exc))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            failure = StorageUnavailable(f"The database could not commit: {exc}")
            return [(False, failure)] * len(batch)
        return outcomes


def _settle(batch: list[_Job], outcomes: list[tuple[bool, Any]]) -> None:
    for job, (ok, value) in zip(batch, outcomes, strict=True):
        if job.future.cancelled():
            continue
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)


def _saved_key(conn: sqlite3.Connection, scope: str, key: str, now: datetime) -> SavedKey | None:
    row = conn.execute(
        "SELECT fingerprint, status, headers, body FROM idempotency_keys"
        " WHERE scope = ? AND key = ? AND expires_at > ?",
        (scope, key, utc_text(now)),
    ).fetchone()
    if row is None:
        return None
    fingerprint, status, headers, body = row
    pairs = tuple((name, value) for name, value in msgspec.json.decode(headers))
    return SavedKey(fingerprint, SavedResponse(status, pairs, body))


def _claim(conn: sqlite3.Connection, once: IdempotencyKey | None) -> None:
    """Raise ``Replay`` (or ``IdempotencyKeyReused``) if ``once`` was used already."""
    if once is None:
        return
    saved = _saved_key(conn, once.scope, once.key, once.now)
    if saved is None:
        # An expired key is forgotten now, so that it can be saved again.
        conn.execute(
            "DELETE FROM idempotency_keys WHERE scope = ? AND key = ?", (once.scope, once.key)
        )
        return
    answer_reuse(saved, once.key, once.fingerprint)


def _save(
    conn: sqlite3.Connection, once: IdempotencyKey | None, response: SavedResponse | None
) -> None:
    if once is None or response is None:
        return
    conn.execute(
        "INSERT INTO idempotency_keys"
        " (scope, key, fingerprint, status, headers, body, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            once.scope,
            once.key,
            once.fingerprint,
            response.status,
            _encode([list(pair) for pair in response.headers]).decode(),
            response.body,
            utc_text(once.now),
            utc_text(once.expires_at),
        ),
    )


def _create(event: Event, once: IdempotencyKey | None) -> Callable[[sqlite3.Connection], Event]:
    def work(conn: sqlite3.Connection) -> Event:
        _claim(conn, once)
        response = once.respond(event) if once else None
        try:
            rows.insert(conn, event)
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"An event with id {event.id!r} already exists.") from None
        # The key's row cannot collide (it was looked up under the write lock just
        # now), so the only way it fails is a database error, and that undoes the
        # whole group: the event and its key commit together or not at all.
        _save(conn, once, response)
        return event

    return work


def _update(
    event_id: str, change: Change, once: IdempotencyKey | None
) -> Callable[[sqlite3.Connection], Event]:
    def work(conn: sqlite3.Connection) -> Event:
        _claim(conn, once)
        stored = rows.current(conn, event_id)
        if stored is None:
            raise NotFound(f"No event with id {event_id!r}.")
        updated = change(stored.event)
        response = once.respond(updated) if once else None
        rows.replace(conn, stored, updated)
        _save(conn, once, response)  # as in _create: fails only with the whole group
        return updated

    return work


def _put(event_id: str, build: Build) -> Callable[[sqlite3.Connection], tuple[Event, bool]]:
    def work(conn: sqlite3.Connection) -> tuple[Event, bool]:
        stored = rows.current(conn, event_id)
        event = build(None if stored is None else stored.event)
        if stored is None:
            rows.insert(conn, event)
        else:
            rows.replace(conn, stored, event)
        return event, stored is None

    return work


def _delete(event_id: str, guard: Guard | None) -> Callable[[sqlite3.Connection], None]:
    def work(conn: sqlite3.Connection) -> None:
        if guard is not None:
            stored = rows.current(conn, event_id)
            if stored is None:
                raise NotFound(f"No event with id {event_id!r}.")
            guard(stored.event)
        if not rows.remove(conn, event_id):
            raise NotFound(f"No event with id {event_id!r}.")

    return work


def _prune(now: datetime) -> Callable[[sqlite3.Connection], int]:
    def work(conn: sqlite3.Connection) -> int:
        deleted = conn.execute(
            "DELETE FROM idempotency_keys WHERE expires_at <= ?", (utc_text(now),)
        ).rowcount
        return int(deleted)

    return work


_UPSERT_SLI = sli_tables.upsert_sli("?")
_INSERT_TRANSITION = sli_tables.insert_transition("?")
_SELECT_TRANSITIONS = sli_tables.select_transitions("?")


def _record_sli(params: list[tuple[int | str, ...]]) -> Callable[[sqlite3.Connection], None]:
    """Upserts that add, one per key: several rows, so in a savepoint (see ``_Job``)."""

    def work(conn: sqlite3.Connection) -> None:
        conn.execute("SAVEPOINT record_sli")
        try:
            conn.executemany(_UPSERT_SLI, params)
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK TO record_sli")
                conn.execute("RELEASE record_sli")
            raise
        conn.execute("RELEASE record_sli")

    return work


def _prune_sli(stop: int) -> Callable[[sqlite3.Connection], int]:
    def work(conn: sqlite3.Connection) -> int:
        return int(conn.execute("DELETE FROM sli_minutes WHERE minute < ?", (stop,)).rowcount)

    return work


def _add_transition(transition: AlertTransition) -> Callable[[sqlite3.Connection], bool]:
    def work(conn: sqlite3.Connection) -> bool:
        cursor = conn.execute(_INSERT_TRANSITION, sli_tables.transition_params(transition))
        return cursor.rowcount == 1

    return work


def _import(
    events: Iterable[Event], on_conflict: OnConflict, keep: Callable[[ImportResult], bool] | None
) -> Callable[[sqlite3.Connection], ImportResult]:
    """An import: it changes many rows, so in a savepoint of its own (see ``_Job``).

    ``events`` is read here, on the writer thread, inside the group's transaction.
    """

    def work(conn: sqlite3.Connection) -> ImportResult:
        conn.execute("SAVEPOINT import_events")
        try:
            imported = replaced = 0
            conflicts: list[str] = []
            for event in events:
                taken = rows.current(conn, event.id)
                if taken is None:
                    rows.insert(conn, event)
                    imported += 1
                elif on_conflict == "replace":
                    rows.replace(conn, taken, event)
                    replaced += 1
                else:
                    conflicts.append(event.id)
            result = ImportResult(
                imported=imported,
                replaced=replaced,
                skipped=len(conflicts) if on_conflict == "skip" else 0,
                conflicts=tuple(conflicts),
            )
            stored = not (on_conflict == "error" and conflicts) and (keep is None or keep(result))
        except BaseException:
            # After some errors (a full disk) SQLite has ended the transaction itself.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK TO import_events")
                conn.execute("RELEASE import_events")
            raise
        if not stored:
            conn.execute("ROLLBACK TO import_events")
        conn.execute("RELEASE import_events")
        return dataclasses.replace(result, committed=stored)

    return work


class SQLiteStore(SQLiteAccounts, EventStore):
    """Events in one SQLite file; accounts too (``SQLiteAccounts``)."""

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
        self._pool: sqlite_reads.ReadPool | None = None
        self._writer: _Writer | None = None

    async def open(self, *, migrate: bool = True) -> None:
        if not self.path.parent.is_dir():
            raise ConfigurationError(f"The folder for the database does not exist: {self.path}")
        try:
            conn = connect(self.path, busy_timeout_ms=self._busy_timeout_ms)
            if migrate:
                apply_migrations(conn)
            self._reader = connect(self.path, busy_timeout_ms=self._busy_timeout_ms, read_only=True)
        except sqlite3.Error as exc:
            raise ConfigurationError(f"Cannot open the database {self.path}: {exc}") from exc
        self._pool = sqlite_reads.ReadPool(
            self._read_only, threads=self._max_listings, timeout=self._query_timeout
        )
        self._writer = _Writer(conn, self._max_batch)
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
        """A read that may be dear, in a reader thread, within the time budget."""
        if self._pool is None:
            raise StorageUnavailable("The store is not open.")
        return await self._pool.run(work)

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._writer is None:
            raise StorageUnavailable("The store is not open.")
        return await self._writer.submit(work)

    async def check(self) -> None:
        try:
            self._read().execute("SELECT count(*) FROM schema_migrations").fetchone()
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"The database does not answer: {exc}") from exc

    async def get(self, event_id: str) -> Event | None:
        stored = rows.current(self._read(), event_id)
        return None if stored is None else stored.event

    async def get_json(self, event_id: str) -> tuple[bytes, int] | None:
        row: tuple[bytes, int] | None = (
            self._read()
            .execute("SELECT doc, version FROM events WHERE id = ?", (event_id,))
            .fetchone()
        )
        return row

    async def list_page(self, query: EventQuery) -> Page:
        return await self._read_off_loop(lambda conn: self._list_page(conn, query))

    @classmethod
    def _list_page(cls, conn: sqlite3.Connection, query: EventQuery) -> Page:
        select = sqlite_query.page(query, rare_tag=cls._rarest_tag(conn, query))
        rows = conn.execute(select.sql, select.params).fetchall()
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        if select.reversed:
            rows.reverse()
        positions = [tuple(row[2 : 2 + select.width]) for row in rows]
        total = None
        if query.count:
            counting = sqlite_query.count(query)
            total = conn.execute(counting.sql, counting.params).fetchone()[0]
        return page_of([row[1] for row in rows], positions, query, more=more, total=total)

    @staticmethod
    def _rarest_tag(conn: sqlite3.Connection, query: EventQuery) -> str | None:
        """The query's rarest tag if it is rare enough to drive the query (see sqlite_query)."""
        counted = []
        for tag in query.filter.tags:
            frequency = sqlite_query.tag_frequency(tag)
            counted.append((conn.execute(frequency.sql, frequency.params).fetchone()[0], tag))
        if not counted:
            return None
        events, tag = min(counted)
        return tag if events < sqlite_query.RARE_TAG_EVENTS else None

    async def create(self, event: Event, *, once: IdempotencyKey | None = None) -> Event:
        return await self._write(_create(event, once))

    async def update(
        self, event_id: str, change: Change, *, once: IdempotencyKey | None = None
    ) -> Event:
        return await self._write(_update(event_id, change, once))

    async def put(self, event_id: str, build: Build) -> tuple[Event, bool]:
        return await self._write(_put(event_id, build))

    async def delete(self, event_id: str, *, guard: Guard | None = None) -> None:
        await self._write(_delete(event_id, guard))

    async def saved_key(self, scope: str, key: str, now: datetime) -> SavedKey | None:
        return _saved_key(self._read(), scope, key, now)

    async def prune_keys(self, now: datetime) -> int:
        return await self._write(_prune(now))

    async def instance_key(self) -> bytes:
        row = self._read().execute("SELECT value FROM meta WHERE key = 'instance_key'").fetchone()
        return bytes.fromhex(row[0])

    async def migrations(self) -> list[Migration]:
        return await self._write(migration_status)

    async def import_events(
        self,
        events: Iterable[Event],
        *,
        on_conflict: OnConflict = "error",
        keep: Callable[[ImportResult], bool] | None = None,
    ) -> ImportResult:
        return await self._write(_import(events, on_conflict, keep))

    async def record_sli(self, rows: Sequence[SLIRow]) -> None:
        params = sli_tables.upsert_params(rows)
        if params:
            await self._write(_record_sli(params))

    async def sli_minutes(
        self, start: datetime, end: datetime, routes: Routes = "all"
    ) -> list[MinuteTotals]:
        select = sli_tables.select_minutes(start, end, routes, "?")
        if select is None:
            return []
        found = self._read().execute(select.sql, select.params).fetchall()
        return [sli_tables.minute_totals(row) for row in found]

    async def prune_sli(self, before: datetime) -> int:
        return await self._write(_prune_sli(sli_tables.minute_at_or_after(before)))

    async def add_alert_transition(self, transition: AlertTransition) -> bool:
        return await self._write(_add_transition(transition))

    async def alert_transitions(
        self, since: datetime, *, limit: int = 100
    ) -> list[AlertTransition]:
        sli_tables.check_limit(limit)
        params = (sli_tables.minute_at_or_after(since), limit)
        found = self._read().execute(_SELECT_TRANSITIONS, params).fetchall()
        return [sli_tables.transition(row) for row in found]

    async def export_documents(
        self, *, batch_size: int = 1000
    ) -> AsyncGenerator[list[bytes], None]:
        self._read()  # raises if the store is not open
        # A connection of its own: its read transaction holds one snapshot (WAL) for
        # the whole export, while the shared reader goes on seeing new writes.
        conn = connect(self.path, busy_timeout_ms=self._busy_timeout_ms, read_only=True)
        try:
            conn.execute("BEGIN")
            cursor = conn.execute("SELECT doc FROM events ORDER BY seq")
            while batch := cursor.fetchmany(batch_size):
                yield [doc for (doc,) in batch]
        finally:
            conn.close()
