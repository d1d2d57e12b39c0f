"""Service level indicators in SQLite: per-minute counts and alert transitions
(``storage/sli.py``)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final

from eventsapi.domain.sli import AlertTransition, MinuteTotals, Routes, SLIRow
from eventsapi.storage import sli
from eventsapi.storage.sqlite.connection import Connections

_UPSERT_SLI: Final = sli.upsert_sli("?")
_INSERT_TRANSITION: Final = sli.insert_transition("?")
_SELECT_TRANSITIONS: Final = sli.select_transitions("?")


def _record_sli(params: list[tuple[int | str, ...]]) -> Callable[[sqlite3.Connection], None]:
    """Upserts that add, one per key: several rows, so in a savepoint (see ``writer.Job``)."""

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
        cursor = conn.execute(_INSERT_TRANSITION, sli.transition_params(transition))
        return cursor.rowcount == 1

    return work


class SQLiteSLI(Connections):
    """The SLI methods of the SQLite store."""

    async def record_sli(self, rows: Sequence[SLIRow]) -> None:
        params = sli.upsert_params(rows)
        if params:
            await self._write(_record_sli(params))

    async def sli_minutes(
        self, start: datetime, end: datetime, routes: Routes = "all"
    ) -> list[MinuteTotals]:
        select = sli.select_minutes(start, end, routes, "?")
        if select is None:
            return []
        found = self._read().execute(select.sql, select.params).fetchall()
        return [sli.minute_totals(row) for row in found]

    async def prune_sli(self, before: datetime) -> int:
        return await self._write(_prune_sli(sli.minute_at_or_after(before)))

    async def add_alert_transition(self, transition: AlertTransition) -> bool:
        return await self._write(_add_transition(transition))

    async def alert_transitions(
        self, since: datetime, *, limit: int = 100
    ) -> list[AlertTransition]:
        sli.check_limit(limit)
        params = (sli.minute_at_or_after(since), limit)
        found = self._read().execute(_SELECT_TRANSITIONS, params).fetchall()
        return [sli.transition(row) for row in found]
