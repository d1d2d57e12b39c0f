"""Service level indicators in memory: per-minute counts and alert transitions in dicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from eventsapi.domain.sli import (
    AlertTransition,
    MinuteTotals,
    Routes,
    SLIRow,
    epoch_minute,
    from_epoch_minute,
    selects,
)
from eventsapi.storage import sli


class MemorySLI:
    """The SLI methods of the memory store (the input checks and minute arithmetic of
    ``storage/sli.py``, so that it answers as the SQL backends do)."""

    def __init__(self) -> None:
        super().__init__()
        self._sli: dict[sli.SLIKey, list[int]] = {}
        self._transitions: dict[tuple[str, str, int], AlertTransition] = {}

    async def record_sli(self, rows: Sequence[SLIRow]) -> None:
        # merged() checks every row before the first is added: all or nothing.
        for key, counts in sli.merged(rows).items():
            stored = self._sli.setdefault(key, [0] * len(counts))
            for index, count in enumerate(counts):
                stored[index] += count

    async def sli_minutes(
        self, start: datetime, end: datetime, routes: Routes = "all"
    ) -> list[MinuteTotals]:
        first, stop = sli.minute_at_or_after(start), sli.minute_at_or_after(end)
        summed: dict[int, list[int]] = {}
        for (minute, route, method), counts in self._sli.items():
            if first <= minute < stop and selects(routes, route, method):
                total = summed.setdefault(minute, [0] * len(counts))
                for index, count in enumerate(counts):
                    total[index] += count
        return [sli.minute_totals([minute, *summed[minute]]) for minute in sorted(summed)]

    async def prune_sli(self, before: datetime) -> int:
        stop = sli.minute_at_or_after(before)
        old = [key for key in self._sli if key[0] < stop]
        for key in old:
            del self._sli[key]
        return len(old)

    async def add_alert_transition(self, transition: AlertTransition) -> bool:
        at = epoch_minute(transition.at)
        key = (transition.slo, transition.rule, at)
        if key in self._transitions:
            return False
        # As the SQL backends keep it: the minute, in UTC.
        self._transitions[key] = msgspec.structs.replace(transition, at=from_epoch_minute(at))
        return True

    async def alert_transitions(
        self, since: datetime, *, limit: int = 100
    ) -> list[AlertTransition]:
        sli.check_limit(limit)
        first = sli.minute_at_or_after(since)
        found = sorted(
            (key for key in self._transitions if key[2] >= first),
            key=lambda key: (-key[2], key[0], key[1]),
        )
        return [self._transitions[key] for key in found[:limit]]
