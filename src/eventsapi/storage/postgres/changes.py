"""The change log in PostgreSQL: writes append unnumbered records, readers number them.

The problem: a sequence hands out numbers when a transaction asks, not when it commits. A
write that took 5 can commit after one that took 6, and a reader that saw 6 and asks for
what is after it would never see 5 (``tests/contract/test_postgres_changes.py`` shows it).

So a write's record has no position when it is inserted (``append``): only ``id``, from a
sequence, the order of insertion. Writes take no lock of the log's and never wait for each
other. Positions are given by *sequencing* (``sequence``), which every reader runs before
it reads (``changes_after``; ``prune_changes`` too), in a short transaction of its own:

1. ``pg_advisory_xact_lock`` on a key of the schema: one sequencing at a time, each
   starting after the previous one committed (the lock is released after the commit is
   visible);
2. then, in a new statement, hence with a snapshot taken after the lock, an ``UPDATE`` that
   gives the records without a position, in ``id`` order, the numbers after
   ``change_counter``'s, and moves the counter to the last one;
3. commit. The reader then reads ``WHERE position > P ORDER BY position``.

Why no reader can skip a record. A run positions only records committed before its
snapshot, and runs are serialized, each seeing the previous one's commit: every position it
gives is greater than every position given before. So the positions any snapshot sees are
exactly 1..counter, with no gap (a rolled-back write's record never becomes visible, so
never gets a number), and a record that gets a position after a reader's snapshot gets one
greater than anything that reader saw. A reader at P therefore finds every record it has
not seen above P, whenever it was committed or numbered. The safety does not depend on
who sequences, nor on whether the reader itself did: sequencing first is only what makes a
write committed before the call show up in its answer.

Why replaying the log gives the stored state. Two writes to one event are ordered by the
event's row lock: the second inserts its record (and so takes its ``id``) only after the
first committed, so its ``id`` is greater; a run that sees the second sees the first, and
numbers them in ``id`` order, or numbered the first in an earlier run. Either way the
event's records are in the order of its writes. (``id``'s sequence must keep CACHE 1, so
that its numbers follow the order they were taken in across sessions.) Unrelated writes
may be numbered in an order other than their commits': nothing depends on it.

The horizon's ``last`` is the counter: the greatest position given, so the greatest
position of a committed record. A Sync-Token taken from it before a listing may be behind
records committed but not yet numbered, which the listing already shows: they get larger
positions later and the client replays them, as it replays changes committed between the
token and the listing. A record's document is the event's whole state after the change and
an event's records come in order, so replaying them ends at the listing's state or a later
one. Pruning sequences first, then deletes numbered records only.

What it costs. A write adds one ``INSERT`` to its transaction (no lock of the log, no wait):
concurrent writes commit together again. The numbering costs readers a short transaction
when records are waiting (an ``UPDATE`` of those rows, which rewrites them once more) and an
index probe when none are; readers that wake together wait for each other's run, and the
later ones find nothing left to number (their transaction then writes nothing).

Each write also sends ``pg_notify('eventsapi_changes', current_schema())``, delivered to
every listening connection of the database at commit: a wake-up, with no position (the
record has none yet), so that the other replicas read the log; the log stays the truth.
The payload names the schema because a channel spans the database: deployments (or
tests) in other schemas of it hear each other's, and may ignore them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from eventsapi.domain.changes import ChangeRecord
from eventsapi.storage import changes
from eventsapi.storage.changes import Entry
from eventsapi.storage.postgres.connection import Connection, Connections, lock_key

CHANNEL: Final = "eventsapi_changes"
"""The ``LISTEN`` channel told of each commit that appended to the log (payload: the
schema whose log it is; read the log for what changed)."""

_SQL: Final = changes.statements("%s")

APPEND: Final = f"""
INSERT INTO changes (type, event_id, version, at, document, actor, visibility,
    previous_visibility, owner)
SELECT %s::text, %s::text, %s::bigint, %s::timestamptz, %s::bytea, %s::text, %s::text,
    %s::text, %s::text
FROM (SELECT pg_notify('{CHANNEL}', current_schema())) AS woken
"""  # noqa: S608 - constants only
"""A write's record, with no position yet, and its wake-up (delivered at commit)."""

CREATE: Final = f"""
WITH inserted AS ({{insert}} RETURNING id)
INSERT INTO changes (type, event_id, version, at, document, actor, visibility,
    previous_visibility, owner)
SELECT %s::text, inserted.id, %s::bigint, %s::timestamptz, %s::bytea, %s::text, %s::text,
    %s::text, %s::text
FROM inserted, (SELECT pg_notify('{CHANNEL}', current_schema())) AS woken
RETURNING 1
"""  # noqa: S608 - constants only
"""A create in one statement, hence one round trip and its own transaction on a connection
in autocommit: ``{insert}`` (an ``INSERT`` of the event's row) and, if it inserted a row, the
record (as ``APPEND``'s, its ``event_id`` the row's) and the wake-up. No row when nothing was
inserted."""


def create_params(entry: Entry) -> tuple[object, ...]:
    """``CREATE``'s parameters after the insert's: the record of ``entry``."""
    return (
        entry.type,
        entry.version,
        changes.now(),
        entry.document,
        entry.actor,
        *entry.audience,
    )


_WAITING: Final = "SELECT EXISTS (SELECT FROM changes WHERE position IS NULL)"

_SEQUENCE: Final = """
WITH waiting AS (
    SELECT id, row_number() OVER (ORDER BY id) AS nth
    FROM (SELECT id FROM changes WHERE position IS NULL ORDER BY id LIMIT %s) AS first
), placed AS (
    UPDATE changes SET position = counter.position + waiting.nth
    FROM waiting, change_counter AS counter
    WHERE changes.id = waiting.id
    RETURNING changes.position
)
UPDATE change_counter SET position = (SELECT max(position) FROM placed)
WHERE EXISTS (SELECT FROM placed)
RETURNING (SELECT count(*) FROM placed)
"""
"""Number the first ``%s`` records without a position (see the module's docstring); one
row, how many, if any was."""

SEQUENCED_AT_LEAST: Final = 1000
"""Records a sequencing run numbers at most, or the reader's limit if greater: a page is
then full whenever more are waiting, and no run holds the lock for long."""


async def append(conn: Connection, entry: Entry) -> None:
    """Append ``entry`` (unnumbered) in the write's transaction."""
    await conn.execute(
        APPEND,
        (
            entry.type,
            entry.event_id,
            entry.version,
            changes.now(),
            entry.document,
            entry.actor,
            *entry.audience,
        ),
    )


_STAGE: Final = (
    "CREATE TEMPORARY TABLE staged_changes (ordinal bigint, type text, event_id text,"
    " version bigint, document bytea, actor text, visibility text, previous_visibility text,"
    " owner text) ON COMMIT DROP"
)
_STAGED: Final = (
    "INSERT INTO staged_changes (ordinal, type, event_id, version, document, actor,"
    " visibility, previous_visibility, owner) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_FROM_STAGED: Final = f"""
INSERT INTO changes (type, event_id, version, at, document, actor, visibility,
    previous_visibility, owner)
SELECT type, event_id, version, %s::timestamptz, document, actor, visibility,
    previous_visibility, owner
FROM staged_changes, (SELECT pg_notify('{CHANNEL}', current_schema())) AS woken
ORDER BY ordinal
"""  # noqa: S608 - constants only


class Staged:
    """The entries of a long write (an import), staged in a temporary table as it goes
    (no WAL, no index) and appended in one statement at its end: measured, 4,000 events
    imported at 3,300-4,000/s so against 2,900-3,500/s inserting each record as it goes;
    memory holds no document either way."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._count = 0

    async def add(self, entry: Entry) -> None:
        if self._count == 0:
            await self._conn.execute(_STAGE)
        self._count += 1
        await self._conn.execute(
            _STAGED,
            (
                self._count,
                entry.type,
                entry.event_id,
                entry.version,
                entry.document,
                entry.actor,
                *entry.audience,
            ),
        )

    async def append(self) -> None:
        """Append every staged entry, in order (their ids follow it)."""
        if self._count:
            await self._conn.execute(_FROM_STAGED, (changes.now(),))


async def sequence(conn: Connection, schema: str, at_most: int) -> int:
    """Number the committed records that have no position yet (``at_most`` of them, the
    first inserted first), in a transaction of its own; how many it numbered."""
    row = await (await conn.execute(_WAITING)).fetchone()
    if row is None or not row[0]:
        return 0  # the usual case when readers keep up: no lock, no transaction
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            (lock_key("change sequencing", schema),),
        )
        # A new statement: its snapshot is taken now, after the previous run committed.
        numbered = await (await conn.execute(_SEQUENCE, (at_most,))).fetchone()
    return 0 if numbered is None else int(numbered[0])


class PostgresChanges(Connections):
    """The change-log methods of the PostgreSQL store."""

    async def changes_after(self, position: int, limit: int) -> list[ChangeRecord]:
        async def work(conn: Connection) -> list[ChangeRecord]:
            await sequence(conn, self._schema, max(limit, SEQUENCED_AT_LEAST))
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

    async def settled_position(self) -> int:
        """The greatest position once every record committed before the call has one: where
        "the changes made from now on" start. ``change_horizon``'s ``last`` may be
        behind records that committed but wait for their number."""

        async def work(conn: Connection) -> int:
            while await sequence(conn, self._schema, SEQUENCED_AT_LEAST) == SEQUENCED_AT_LEAST:
                pass
            row = await (await conn.execute("SELECT position FROM change_counter")).fetchone()
            assert row is not None  # noqa: S101 - the counter's row is made by the migration
            return int(row[0])

        return await self._read(work)

    async def prune_changes(self, before: datetime) -> int:
        async def numbering(conn: Connection) -> None:
            # Only numbered records are pruned: number every old one first.
            while await sequence(conn, self._schema, SEQUENCED_AT_LEAST) == SEQUENCED_AT_LEAST:
                pass

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

        await self._read(numbering)
        return await self._write(work)
