"""The SQLite backend: the embedded default.

Durability: WAL journal with ``synchronous=FULL``, so a commit is on disk before
it returns, and a 2xx is sent only after the commit.

Writes: one writer thread owns the only write connection and runs every write
job it finds queued in one transaction (group commit): under concurrency one
fsync covers many writes, so durable throughput grows with the number of
clients. A job that fails (a duplicate id, a validation error) is undone alone
and the others still commit (see ``_Job``).

Reads: a separate read-only connection in WAL mode never waits for the writer.
Reads are primary-key or keyset lookups that take microseconds, so they run on
the event loop directly; a thread hop per read would cost more than the read.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from eventsapi.domain.events import Event
from eventsapi.errors import AlreadyExists, ConfigurationError, NotFound, StorageUnavailable
from eventsapi.storage import migrations
from eventsapi.storage.base import Build, Change, EventStore, Migration, Page

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

    Every job makes at most one change, as its last statement, so a failing job
    needs no savepoint to be undone alone: it raised before changing anything,
    or its one statement failed and SQLite undid that statement. (Savepoints
    cost a quarter of a simple insert.) A job that changes more than one row
    must wrap its changes in a savepoint of its own.
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


def _utc_text(instant: datetime) -> str:
    """``instant`` in UTC as ISO text (the sortable copy in the ``starts_at`` column)."""
    try:
        return instant.astimezone(UTC).isoformat()
    except OverflowError:
        # 0001-01-01T00:00:00+05:00 is in year 0 in UTC (and 9999-12-31T23:00:00-05:00
        # in year 10000), which datetime cannot hold: clamp to the nearest it can.
        edge = datetime.min if instant.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC).isoformat()


def _row_values(event: Event) -> tuple[Any, ...]:
    starts_at = _utc_text(event.starts_at) if event.starts_at else None
    return (
        event.version,
        event.title,
        event.status,
        starts_at,
        event.created_at.astimezone(UTC).isoformat(),
        event.updated_at.astimezone(UTC).isoformat(),
        _encode(event),
        event.id,
    )


_INSERT = (
    "INSERT INTO events (version, title, status, starts_at, created_at, updated_at, doc, id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE = (
    "UPDATE events SET version = ?, title = ?, status = ?, starts_at = ?, created_at = ?,"
    " updated_at = ?, doc = ? WHERE id = ?"
)


def _current(conn: sqlite3.Connection, event_id: str) -> Event | None:
    row = conn.execute("SELECT doc FROM events WHERE id = ?", (event_id,)).fetchone()
    return None if row is None else _decode_event(row[0])


def _create(event: Event) -> Callable[[sqlite3.Connection], Event]:
    def work(conn: sqlite3.Connection) -> Event:
        try:
            conn.execute(_INSERT, _row_values(event))
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"An event with id {event.id!r} already exists.") from None
        return event

    return work


def _update(event_id: str, change: Change) -> Callable[[sqlite3.Connection], Event]:
    def work(conn: sqlite3.Connection) -> Event:
        current = _current(conn, event_id)
        if current is None:
            raise NotFound(f"No event with id {event_id!r}.")
        updated = change(current)
        conn.execute(_UPDATE, _row_values(updated))
        return updated

    return work


def _put(event_id: str, build: Build) -> Callable[[sqlite3.Connection], tuple[Event, bool]]:
    def work(conn: sqlite3.Connection) -> tuple[Event, bool]:
        current = _current(conn, event_id)
        event = build(current)
        conn.execute(_INSERT if current is None else _UPDATE, _row_values(event))
        return event, current is None

    return work


def _delete(event_id: str) -> Callable[[sqlite3.Connection], None]:
    def work(conn: sqlite3.Connection) -> None:
        if conn.execute("DELETE FROM events WHERE id = ?", (event_id,)).rowcount == 0:
            raise NotFound(f"No event with id {event_id!r}.")

    return work


class SQLiteStore(EventStore):
    """Events in one SQLite file."""

    name = "sqlite"

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = 5000, max_batch: int = 512):
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._max_batch = max_batch
        self._reader: sqlite3.Connection | None = None
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
        self._writer = _Writer(conn, self._max_batch)
        self._writer.start(asyncio.get_running_loop())

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.to_thread(self._writer.stop)
            self._writer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _read(self) -> sqlite3.Connection:
        if self._reader is None:
            raise StorageUnavailable("The store is not open.")
        return self._reader

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
        return _current(self._read(), event_id)

    async def get_json(self, event_id: str) -> tuple[bytes, int] | None:
        row: tuple[bytes, int] | None = (
            self._read()
            .execute("SELECT doc, version FROM events WHERE id = ?", (event_id,))
            .fetchone()
        )
        return row

    async def list_page(self, *, after: int | None, limit: int) -> Page:
        rows = self._read().execute(
            "SELECT seq, doc FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (after or 0, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(
            documents=[doc for _, doc in rows],
            next_after=rows[-1][0] if more else None,
        )

    async def create(self, event: Event) -> Event:
        return await self._write(_create(event))

    async def update(self, event_id: str, change: Change) -> Event:
        return await self._write(_update(event_id, change))

    async def put(self, event_id: str, build: Build) -> tuple[Event, bool]:
        return await self._write(_put(event_id, build))

    async def delete(self, event_id: str) -> None:
        await self._write(_delete(event_id))

    async def instance_key(self) -> bytes:
        row = self._read().execute("SELECT value FROM meta WHERE key = 'instance_key'").fetchone()
        return bytes.fromhex(row[0])

    async def migrations(self) -> list[Migration]:
        return await self._write(migration_status)
