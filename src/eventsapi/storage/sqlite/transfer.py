"""Import and export in SQLite: an import is one write job, an export one read snapshot."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncGenerator, Callable, Iterable

from eventsapi.domain.events import Event
from eventsapi.storage import changes
from eventsapi.storage.events import Counted
from eventsapi.storage.sqlite import rows
from eventsapi.storage.sqlite.changes import append
from eventsapi.storage.sqlite.connection import Connections, connect
from eventsapi.storage.transfer import ImportResult, OnConflict, Tally


def _import(
    events: Iterable[Event],
    on_conflict: OnConflict,
    keep: Callable[[ImportResult], bool] | None,
    actor: str | None,
) -> Callable[[sqlite3.Connection], ImportResult]:
    """An import: it changes many rows, so in a savepoint of its own (see ``writer.Job``).

    ``events`` is read here, on the writer thread, inside the group's transaction.
    """

    def work(conn: sqlite3.Connection) -> ImportResult:
        conn.execute("SAVEPOINT import_events")
        try:
            tally = Tally(on_conflict)
            for event in events:
                taken = rows.current(conn, event.id)
                step = tally.take(event.id, taken=taken is not None)
                if step == "insert":
                    document = rows.insert(conn, event)
                    counts = Counted.fresh(event).counts
                elif step == "replace" and taken is not None:
                    document = rows.replace(conn, taken, event)
                    counts = taken.counts(event)
                else:
                    continue
                created = step == "insert"
                append(conn, changes.written(event, document, counts, created=created, actor=actor))
            result = tally.keeps(keep)
        except BaseException:
            # After some errors (a full disk) SQLite has ended the transaction itself.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK TO import_events")
                conn.execute("RELEASE import_events")
            raise
        if not result.committed:
            conn.execute("ROLLBACK TO import_events")
        conn.execute("RELEASE import_events")
        return result

    return work


class SQLiteTransfer(Connections):
    """The import and export methods of the SQLite store."""

    async def import_events(
        self,
        events: Iterable[Event],
        *,
        on_conflict: OnConflict = "error",
        keep: Callable[[ImportResult], bool] | None = None,
        actor: str | None = None,
    ) -> ImportResult:
        return await self._write(_import(events, on_conflict, keep, actor))

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
