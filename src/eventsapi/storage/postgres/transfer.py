"""Import and export in PostgreSQL: an import is one transaction, an export one snapshot."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable

import psycopg

from eventsapi.domain.events import Event
from eventsapi.storage import changes
from eventsapi.storage.events import Counted
from eventsapi.storage.postgres import rows
from eventsapi.storage.postgres.changes import Staged
from eventsapi.storage.postgres.connection import Connections
from eventsapi.storage.transfer import ImportResult, OnConflict, Tally


class PostgresTransfer(Connections):
    """The import and export methods of the PostgreSQL store."""

    async def import_events(
        self,
        events: Iterable[Event],
        *,
        on_conflict: OnConflict = "error",
        keep: Callable[[ImportResult], bool] | None = None,
        actor: str | None = None,
    ) -> ImportResult:
        async with self._connection() as conn, conn.transaction():
            tally = Tally(on_conflict)
            staged = Staged(conn)
            for event in events:
                values = rows.row_values(event)
                inserted = await conn.execute(rows.INSERT, values)
                step = tally.take(event.id, taken=inserted.rowcount != 1)
                counts = Counted.fresh(event).counts
                if step == "replace":
                    counts = await rows.update(conn, event, values)
                if step in ("insert", "replace"):
                    created = step == "insert"
                    document = rows.document(values)
                    entry = changes.written(event, document, counts, created=created, actor=actor)
                    await staged.add(entry)
            result = tally.keeps(keep)
            if not result.committed:
                raise psycopg.Rollback
            await staged.append()
        return result

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
