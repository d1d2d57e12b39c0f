"""The trash in memory: deleted events in a dict, moved there and back in one step each.

Every method runs without awaiting, so each move is atomic on the event loop; a refusal
(``change`` or ``guard`` raising, an id taken) comes before anything changes.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from eventsapi.domain.events import Event
from eventsapi.errors import AlreadyExists, NotFound
from eventsapi.storage import trash
from eventsapi.storage.events import Change, Counted, Guard
from eventsapi.storage.memory.events import MemoryEvents
from eventsapi.storage.trash import Trashed, TrashPage, TrashQuery

_encode = msgspec.json.Encoder().encode
_decode_event = msgspec.json.Decoder(Event).decode


class MemoryTrash(MemoryEvents):
    """The trash methods of the memory store (``events.py`` moves deleted events in)."""

    def _found(self, event_id: str) -> Trashed:
        found = self._trash.get(event_id)
        if found is None:
            raise NotFound(f"No event with id {event_id!r}.")
        return found

    async def trash_page(self, query: TrashQuery) -> TrashPage:
        found = sorted(
            (t for t in self._trash.values() if query.owner in (None, t.owner)),
            key=lambda t: (t.deleted_at, t.event_id),
            reverse=True,
        )
        if query.after is not None:
            found = [t for t in found if (t.deleted_at, t.event_id) < query.after]
        return trash.page_of(found[: query.limit + 1], query.limit)

    async def restore(self, event_id: str, change: Change, *, actor: str | None = None) -> Counted:
        found = self._found(event_id)
        event = change(_decode_event(found.document))
        if event_id in self._events:
            raise AlreadyExists(
                f"An event with id {event_id!r} exists: it cannot be restored over it."
            )
        del self._trash[event_id]
        self._add(event)
        # The registrations (and their tally) stayed while the event was in the trash.
        counts = self._counts(event)
        self._append(trash.restored(event_id, event.version, _encode(event), counts, actor=actor))
        return Counted(event, counts)

    async def purge(
        self, event_id: str, *, guard: Guard | None = None, actor: str | None = None
    ) -> None:
        found = self._found(event_id)
        if guard is not None:
            guard(_decode_event(found.document))
        del self._trash[event_id]
        self._forget(event_id)
        self._append(trash.purged(event_id, found.version, actor=actor))

    async def purge_trash(self, before: datetime) -> int:
        gone = [t for t in self._trash.values() if t.deleted_at < before]
        for trashed in gone:
            del self._trash[trashed.event_id]
            self._forget(trashed.event_id)
            self._append(trash.purged(trashed.event_id, trashed.version, actor=None))
        return len(gone)
