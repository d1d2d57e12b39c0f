"""The change log in memory: a list in position order.

Each write appends its record in the same step as its change, without awaiting in between,
so on the event loop the two are one atomic step and positions follow the order of writes.
"""

from __future__ import annotations

import bisect
from datetime import datetime

from eventsapi.domain.changes import ChangeRecord
from eventsapi.storage import changes
from eventsapi.storage.changes import Entry


class MemoryChanges:
    """The change-log methods of the memory store."""

    def __init__(self) -> None:
        super().__init__()
        self._changes: list[ChangeRecord] = []
        self._last_change = 0
        self._pruned_through = 0

    def _append(self, entry: Entry) -> None:
        self._last_change += 1
        self._changes.append(entry.record(self._last_change, changes.now()))

    async def changes_after(self, position: int, limit: int) -> list[ChangeRecord]:
        start = bisect.bisect_right(self._changes, position, key=lambda record: record.position)
        return self._changes[start : start + limit]

    async def change_horizon(self) -> tuple[int, int]:
        return self._pruned_through, self._last_change

    async def settled_position(self) -> int:
        """The greatest position once every record committed before the call has one: where
        "the changes made from now on" start. (Records are numbered as they are made.)"""
        return self._last_change

    async def prune_changes(self, before: datetime) -> int:
        # As the SQL backends: up to the last record older than ``before``.
        older = [index for index, record in enumerate(self._changes) if record.at < before]
        if not older:
            return 0
        cut = older[-1] + 1
        self._pruned_through = max(self._pruned_through, self._changes[older[-1]].position)
        del self._changes[:cut]
        return cut
