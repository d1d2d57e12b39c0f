"""Import and export in memory: an import is staged, then applied without awaiting."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable

import msgspec

from eventsapi.domain.events import Event
from eventsapi.storage.memory.events import MemoryEvents
from eventsapi.storage.transfer import ImportResult, OnConflict, Tally

_encode = msgspec.json.Encoder().encode


class MemoryTransfer(MemoryEvents):
    """The import and export methods of the memory store."""

    async def import_events(
        self,
        events: Iterable[Event],
        *,
        on_conflict: OnConflict = "error",
        keep: Callable[[ImportResult], bool] | None = None,
    ) -> ImportResult:
        # Staged, then applied without awaiting: all or nothing on the event loop.
        added: dict[str, Event] = {}
        replacing: dict[str, Event] = {}
        tally = Tally(on_conflict)
        for event in events:
            taken = event.id in self._events or event.id in added
            step = tally.take(event.id, taken=taken)
            if step != "conflict":
                (added if step == "insert" or event.id in added else replacing)[event.id] = event
        result = tally.keeps(keep)
        if result.committed:
            for event_id, event in replacing.items():
                self._events[event_id] = (self._events[event_id][0], event)
            for event in added.values():
                self._insert(event)
        return result

    async def export_documents(
        self, *, batch_size: int = 1000
    ) -> AsyncGenerator[list[bytes], None]:
        # Events are immutable: holding the ones there now is a consistent snapshot.
        snapshot = [self._events[self._ids_by_position[p]][1] for p in self._positions]
        for start in range(0, len(snapshot), batch_size):
            yield [_encode(event) for event in snapshot[start : start + batch_size]]
