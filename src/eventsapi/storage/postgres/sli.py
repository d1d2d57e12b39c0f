"""Service level indicators in PostgreSQL: per-minute counts and alert transitions
(``storage/sli.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from eventsapi.domain.sli import AlertTransition, MinuteTotals, Routes, SLIRow
from eventsapi.storage import sli
from eventsapi.storage.postgres.connection import Connection, Connections

_UPSERT_SLI: Final = sli.upsert_sli("%s")
_INSERT_TRANSITION: Final = sli.insert_transition("%s")
_SELECT_TRANSITIONS: Final = sli.select_transitions("%s")


class PostgresSLI(Connections):
    """The SLI methods of the PostgreSQL store."""

    async def record_sli(self, rows: Sequence[SLIRow]) -> None:
        # One upsert per key, in key order (sli.merged): concurrent transactions
        # lock the rows they share in one order, so they queue rather than deadlock.
        params = sli.upsert_params(rows)
        if not params:
            return

        async def work(conn: Connection) -> None:
            async with conn.cursor() as cursor:
                await cursor.executemany(_UPSERT_SLI, params)

        await self._write(work)

    async def sli_minutes(
        self, start: datetime, end: datetime, routes: Routes = "all"
    ) -> list[MinuteTotals]:
        select = sli.select_minutes(start, end, routes, "%s")
        if select is None:
            return []

        async def work(conn: Connection) -> list[MinuteTotals]:
            cursor = await conn.execute(select.sql, select.params)
            return [sli.minute_totals(row) for row in await cursor.fetchall()]

        return await self._read(work)

    async def prune_sli(self, before: datetime) -> int:
        stop = sli.minute_at_or_after(before)

        async def work(conn: Connection) -> int:
            cursor = await conn.execute("DELETE FROM sli_minutes WHERE minute < %s", (stop,))
            return cursor.rowcount

        return await self._write(work)

    async def add_alert_transition(self, transition: AlertTransition) -> bool:
        async def work(conn: Connection) -> bool:
            params = sli.transition_params(transition)
            cursor = await conn.execute(_INSERT_TRANSITION, params)
            return cursor.rowcount == 1

        return await self._write(work)

    async def alert_transitions(
        self, since: datetime, *, limit: int = 100
    ) -> list[AlertTransition]:
        sli.check_limit(limit)
        params = (sli.minute_at_or_after(since), limit)

        async def work(conn: Connection) -> list[AlertTransition]:
            cursor = await conn.execute(_SELECT_TRANSITIONS, params)
            return [sli.transition(row) for row in await cursor.fetchall()]

        return await self._read(work)
