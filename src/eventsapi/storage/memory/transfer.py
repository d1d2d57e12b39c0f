"""Import and export in memory: an import is staged, then applied without awaiting."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable

import msgspec

from eventsapi.domain.events import Event
from eventsapi.storage.memory.trash import MemoryTrash
from eventsapi.storage.transfer import ImportResult, OnConflict, Step, Tally

_encode = msgspec.json.Encoder().encode


class MemoryTransfer(MemoryTrash):
    """The import and export methods of the memory store."""

    async def import_events(
        self,
        events: Iterable[Event],
        *,
        on_conflict: OnConflict = "error",
        keep: Callable[[ImportResult], bool] | None = None,
        actor: str | None = None,
    ) -> ImportResult:
        # Staged, then applied in the order read without awaiting: all or nothing on the
        # event loop, and the change log in the order of the other backends.
        staged: list[tuple[Step, Event]] = []
        added: set[str] = set()
        tally = Tally(on_conflict)
        for event in events:
            step = tally.take(event.id, taken=event.id in self._events or event.id in added)
            if step != "conflict":
                staged.append((step, event))
                added.add(event.id)
        result = tally.keeps(keep)
        if result.committed:
            for step, event in staged:
                if step == "insert":
                    self._insert(event, actor)
                else:
                    self._replace(self._events[event.id][0], event, actor)
        return result

    async def export_documents(
        self, *, batch_size: int = 1000
    ) -> AsyncGenerator[list[bytes], None]:
        # Events are immutable: holding the ones there now is a consistent snapshot.
        snapshot = [self._events[self._ids_by_position[p]][1] for p in self._positions]
        for start in range(0, len(snapshot), batch_size):
            yield [_encode(event) for event in snapshot[start : start + batch_size]]
