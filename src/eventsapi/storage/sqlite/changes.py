"""The change log in SQLite: appended by each write job, under the one write lock.

A write holds SQLite's write lock from its ``BEGIN IMMEDIATE`` to its commit, and only one
connection on the file holds it at a time (whatever the number of workers), so positions
(``INTEGER PRIMARY KEY AUTOINCREMENT``) are handed out in commit order: a reader that has
seen position P never meets a smaller one later. The writer thread commits several jobs in
one transaction; their records become visible together, in order. AUTOINCREMENT never
gives a position twice, even once the records before it are pruned (``sqlite_sequence``
keeps the greatest given), so the greatest committed position is read from there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Final

from eventsapi.domain.changes import ChangeRecord
from eventsapi.domain.query import utc_text
from eventsapi.storage import changes
from eventsapi.storage.changes import Entry
from eventsapi.storage.sqlite.connection import Connections

_SQL: Final = changes.statements("?")
_APPEND: Final = (
    "INSERT INTO changes (type, event_id, version, at, document, actor, visibility,"
    " previous_visibility, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_HORIZON: Final = (
    f"SELECT ({_SQL.pruned_through}),"  # noqa: S608 - constants only
    " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)"
)


def append(conn: sqlite3.Connection, entry: Entry) -> None:
    """Append ``entry`` in the write job's transaction, after the write's own statement
    (it fails only with a database error, which undoes the whole group: see ``writer.Job``)."""
    at = utc_text(changes.now())
    conn.execute(
        _APPEND,
        (
            entry.type,
            entry.event_id,
            entry.version,
            at,
            entry.document,
            entry.actor,
            *entry.audience,
        ),
    )


def _prune(before: datetime) -> Callable[[sqlite3.Connection], int]:
    def work(conn: sqlite3.Connection) -> int:
        (cut,) = conn.execute(_SQL.prune_cut, (utc_text(before),)).fetchone()
        if cut is None:
            return 0
        # Neither statement fails but with a database error, which undoes the whole group
        # (``writer.Job``): the records and the horizon change together.
        pruned = conn.execute(_SQL.prune, (cut,)).rowcount
        conn.execute(
            "UPDATE meta SET value = max(CAST(value AS INTEGER), ?) WHERE key = ?",
            (cut, changes.PRUNED_THROUGH),
        )
        return int(pruned)

    return work


class SQLiteChanges(Connections):
    """The change-log methods of the SQLite store."""

    async def changes_after(self, position: int, limit: int) -> list[ChangeRecord]:
        # On the loop, as reads by id: an index range of at most ``limit`` rows.
        found = self._read().execute(_SQL.after, (position, limit)).fetchall()
        return [changes.record_of(row, datetime.fromisoformat(row[4])) for row in found]

    async def change_horizon(self) -> tuple[int, int]:
        pruned_through, last = self._read().execute(_HORIZON).fetchone()
        return int(pruned_through), int(last)

    async def settled_position(self) -> int:
        """The greatest position once every record committed before the call has one: where
        "the changes made from now on" start. (The writer numbers records as they commit.)"""
        return (await self.change_horizon())[1]

    async def prune_changes(self, before: datetime) -> int:
        return await self._write(_prune(before))
