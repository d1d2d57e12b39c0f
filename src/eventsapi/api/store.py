"""What the API needs of a store: events, and the idempotency keys of their writes.

The API owns this protocol; every backend (``storage/``) satisfies it, which mypy checks where
``tests/contract`` assigns each backend to it. Creates and updates can carry an idempotency key
(``storage/idempotency.py``): the store claims it and saves the written event's document under
it in the same transaction as the write; ``api/idempotency.py`` decides what answer that makes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from eventsapi.domain.events import Event
from eventsapi.domain.query import EventQuery
from eventsapi.storage.events import Build, Change, Guard, Page
from eventsapi.storage.idempotency import IdempotencyKey, SavedKey

__all__ = ["EventStore"]


class EventStore(Protocol):
    """Events by id and by query, their writes, and idempotency keys. All coroutines."""

    async def check(self) -> None:
        """Return if the database answers; raise ``StorageUnavailable`` if not."""

    async def instance_key(self) -> bytes:
        """A secret made once per database, shared by every replica (signs cursors)."""

    async def get(self, event_id: str) -> Event | None:
        """The event with this id, or ``None``."""

    async def get_json(self, event_id: str) -> tuple[bytes, int] | None:
        """The event as its JSON document (exactly what ``GET`` returns) and its version.

        Lets the hottest read skip decoding and re-encoding."""

    async def list_page(self, query: EventQuery) -> Page:
        """The page of events that ``query`` asks for (see ``domain/query.py``)."""

    async def create(self, event: Event, *, once: IdempotencyKey | None = None) -> Event:
        """Store a new event; raise ``AlreadyExists`` if its id is taken.

        With ``once``: raise ``Replay`` (or ``IdempotencyKeyReused``) if its key is saved
        already, else save the event's document under it in the same transaction."""

    async def update(
        self, event_id: str, change: Change, *, once: IdempotencyKey | None = None
    ) -> Event:
        """Replace the event by ``change(current)``; raise ``NotFound`` if there is none.

        ``once``: as in ``create``."""

    async def put(self, event_id: str, build: Build) -> tuple[Event, bool]:
        """Store ``build(current or None)``; return it and whether it was created."""

    async def delete(self, event_id: str, *, guard: Guard | None = None) -> None:
        """Remove the event once ``guard(current)`` passes; ``NotFound`` if there is none."""

    async def saved_key(self, scope: str, key: str, now: datetime) -> SavedKey | None:
        """What is saved under an idempotency key that has not expired at ``now``."""

    async def prune_keys(self, now: datetime) -> int:
        """Forget idempotency keys that expired before ``now``; return how many."""
