"""The change log in PostgreSQL: positions handed out in commit order by a locked counter.

A sequence hands out numbers when a transaction asks, not when it commits: a write that
took 5 can commit after one that took 6, and a reader that saw 6 and asks for what is
after it would never see 5. So positions come from ``change_counter``'s one row instead.
Each write's last statement (``append``) adds one to it and inserts the record with the
number: the updated row stays locked until the write commits or rolls back, so the next
write cannot take a number before this one is visible, and a rolled-back write gives its
number back. Numbers are therefore handed out in commit order with no gaps, and what a
reader sees is always every record from the first kept one up to the counter's committed
value: ``WHERE position > P`` never skips one. (``tests/contract/test_postgres_changes.py``
shows the naive way missing a record, and this way under concurrent writers.)

What it costs: writes serialize from that last statement to their commit, so commits of
different writes no longer overlap (no group commit between them); everything before it
(locks on other rows, the event's own statements) still runs in parallel.

The same statement sends ``pg_notify('eventsapi_changes', position)``, delivered to every
listening connection at commit, so the other replicas can wake up; the log stays the truth.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from eventsapi.domain.changes import ChangeRecord
from eventsapi.storage import changes
from eventsapi.storage.changes import Entry
from eventsapi.storage.postgres.connection import Connection, Connections

CHANNEL: Final = "eventsapi_changes"
"""The ``LISTEN`` channel told of each commit that appended to the log (payload: its last
position as text)."""

_SQL: Final = changes.statements("%s")

APPEND: Final = f"""
WITH counter AS (
    UPDATE change_counter SET position = position + 1 RETURNING position
), logged AS (
    INSERT INTO changes ({changes.COLUMNS})
    SELECT position, %s::text, %s::text, %s::bigint, %s::timestamptz, %s::bytea, %s::text
    FROM counter
    RETURNING position
)
SELECT pg_notify('{CHANNEL}', position::text), position FROM logged
"""  # noqa: S608 - constants only
"""The last statement of a write (see the module's docstring)."""

_STAGE: Final = (
    "CREATE TEMPORARY TABLE staged_changes (ordinal bigint, type text, event_id text,"
    " version bigint, document bytea, actor text) ON COMMIT DROP"
)
_STAGED: Final = (
    "INSERT INTO staged_changes (ordinal, type, event_id, version, document, actor)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)
_TAKE: Final = "UPDATE change_counter SET position = position + %s RETURNING position"
_FROM_STAGED: Final = (
    f"INSERT INTO changes ({changes.COLUMNS})"  # noqa: S608 - constants only
    " SELECT %s::bigint + ordinal, type, event_id, version, %s::timestamptz, document, actor"
    " FROM staged_changes"
)


async def append(conn: Connection, entry: Entry) -> int:
    """Append ``entry``: the last statement of a write, in its transaction; its position."""
    cursor = await conn.execute(
        APPEND,
        (
            entry.type,
            entry.event_id,
            entry.version,
            changes.now(),
            entry.document,
            entry.actor,
        ),
    )
    row = await cursor.fetchone()
    assert row is not None  # noqa: S101 - the counter's row is made by the migration
    return int(row[1])


class Staged:
    """The entries of a long write (an import), staged in a temporary table as it goes and
    appended at its end, so that the counter is locked only from then to the commit and
    memory holds no document."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._count = 0

    async def add(self, entry: Entry) -> None:
        if self._count == 0:
            await self._conn.execute(_STAGE)
        self._count += 1
        await self._conn.execute(
            _STAGED,
            (self._count, entry.type, entry.event_id, entry.version, entry.document, entry.actor),
        )

    async def append(self) -> None:
        """Append every staged entry, in order: the last statements of the write."""
        if self._count == 0:
            return
        row = await (await self._conn.execute(_TAKE, (self._count,))).fetchone()
        assert row is not None  # noqa: S101 - the counter's row is made by the migration
        last = int(row[0])
        await self._conn.execute(_FROM_STAGED, (last - self._count, changes.now()))
        await self._conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(last)))


class PostgresChanges(Connections):
    """The change-log methods of the PostgreSQL store."""

    async def changes_after(self, position: int, limit: int) -> list[ChangeRecord]:
        async def work(conn: Connection) -> list[ChangeRecord]:
            cursor = await conn.execute(_SQL.after, (position, limit), binary=True)
            return [
                changes.record_of(row, row[4].astimezone(UTC)) for row in await cursor.fetchall()
            ]

        return await self._read(work)

    async def change_horizon(self) -> tuple[int, int]:
        async def work(conn: Connection) -> tuple[int, int]:
            cursor = await conn.execute(
                f"SELECT ({_SQL.pruned_through})::bigint,"  # noqa: S608 - constants only
                " (SELECT position FROM change_counter)"
            )
            row = await cursor.fetchone()
            assert row is not None  # noqa: S101 - a SELECT of two subqueries has its row
            return int(row[0]), int(row[1])

        return await self._read(work)

    async def prune_changes(self, before: datetime) -> int:
        async def work(conn: Connection) -> int:
            cut = await (await conn.execute(_SQL.prune_cut, (before,))).fetchone()
            if cut is None or cut[0] is None:
                return 0
            pruned = await conn.execute(_SQL.prune, (cut[0],))
            await conn.execute(
                "UPDATE meta SET value = greatest(value::bigint, %s)::text WHERE key = %s",
                (cut[0], changes.PRUNED_THROUGH),
            )
            return pruned.rowcount

        return await self._write(work)
