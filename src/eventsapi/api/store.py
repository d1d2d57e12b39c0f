"""What the API needs of a store: events, the idempotency keys of their writes, the change log.

The API owns this protocol; every backend (``storage/``) satisfies it, which mypy checks where
``tests/contract`` assigns each backend to it. Creates and updates can carry an idempotency key
(``storage/idempotency.py``): the store claims it and saves the written event's document under
it in the same transaction as the write; ``api/idempotency.py`` decides what answer that makes.
Every write appends its record to the change log (``domain/changes.py``) in its transaction,
naming ``actor``, the acting user's id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from eventsapi.domain.changes import ChangeRecord
from eventsapi.domain.events import Event
from eventsapi.domain.query import EventQuery
from eventsapi.domain.registrations import Applicant, Cancelled, Counts, Registration
from eventsapi.domain.visibility import ANONYMOUS, Reader, Registrant
from eventsapi.storage.events import Build, Change, Counted, EventRow, Guard, Page
from eventsapi.storage.idempotency import IdempotencyKey, SavedKey
from eventsapi.storage.registrations import RegistrationGuard
from eventsapi.storage.trash import TrashPage, TrashQuery

__all__ = ["EventStore", "RegistrationGuard"]


class EventStore(Protocol):
    """Events by id and by query, their writes, and idempotency keys. All coroutines."""

    async def check(self) -> None:
        """Return if the database answers; raise ``StorageUnavailable`` if not."""

    async def instance_key(self) -> bytes:
        """A secret made once per database, shared by every replica (signs cursors)."""

    async def get(self, event_id: str, *, reader: Reader = ANONYMOUS) -> Event | None:
        """The event with this id, or ``None``; also ``None`` if ``reader`` may not see it
        (``domain/visibility.py``: by the same read, so it costs what a missing one does)."""

    async def get_json(self, event_id: str, *, reader: Reader = ANONYMOUS) -> EventRow | None:
        """The event's stored JSON document, its revision (its ETags name it), counts
        (registered, waitlisted) and capacity: what ``GET`` serves (``storage/events.py``);
        ``None`` also if ``reader`` may not see it, counts included.

        Lets the hottest read skip decoding and re-encoding."""

    async def registrants(self, account: str, event_ids: list[str]) -> dict[str, Registrant]:
        """The account's registrations for each of these events (every id is a key)."""

    async def list_page(self, query: EventQuery) -> Page:
        """The page of events that ``query`` asks for (see ``domain/query.py``), each as it is
        served (with its counts)."""

    async def create(
        self, event: Event, *, once: IdempotencyKey | None = None, actor: str | None = None
    ) -> Counted:
        """Store a new event; raise ``AlreadyExists`` if its id is taken.

        With ``once``: raise ``Replay`` (or ``IdempotencyKeyReused``) if its key is saved
        already, else save the event's document as it is served (with its counts) under it in
        the same transaction. Every write returns the event with its counts at its commit."""

    async def update(
        self,
        event_id: str,
        change: Change,
        *,
        once: IdempotencyKey | None = None,
        actor: str | None = None,
    ) -> Counted:
        """Replace the event by ``change(current)``; raise ``NotFound`` if there is none.

        ``once``: as in ``create``."""

    async def put(
        self, event_id: str, build: Build, *, actor: str | None = None
    ) -> tuple[Counted, bool]:
        """Store ``build(current or None)``; return it and whether it was created."""

    async def delete(
        self, event_id: str, *, guard: Guard | None = None, actor: str | None = None
    ) -> None:
        """Move the event to the trash once ``guard(current)`` passes; ``NotFound`` if there
        is none."""

    async def trash_page(self, query: TrashQuery) -> TrashPage:
        """A page of the trash (``storage/trash.py``), most recently deleted first; each
        event as it was served when it was deleted."""

    async def restore(self, event_id: str, change: Change, *, actor: str | None = None) -> Counted:
        """Bring ``change(trashed)`` back from the trash, in one transaction; ``NotFound`` if
        it is not there, ``AlreadyExists`` if its id is live; a refusal changes nothing."""

    async def purge(
        self, event_id: str, *, guard: Guard | None = None, actor: str | None = None
    ) -> None:
        """Delete the event from the trash for good once ``guard(trashed)`` passes."""

    async def purge_trash(self, before: datetime) -> int:
        """Purge the events deleted before ``before``; return how many."""

    async def saved_key(self, scope: str, key: str, now: datetime) -> SavedKey | None:
        """What is saved under an idempotency key that has not expired at ``now``."""

    async def prune_keys(self, now: datetime) -> int:
        """Forget idempotency keys that expired before ``now``; return how many."""

    async def changes_after(self, position: int, limit: int) -> list[ChangeRecord]:
        """The change log's records after ``position``, ascending, at most ``limit``.

        Never skips a record that commits later (each backend's ``changes.py`` says how)."""

    async def snapshot(self) -> int | None:
        """A number that changes whenever the database may have changed since it was read
        (a commit of any connection, in any process), so that reads made while it stays the
        same answer the same; ``None`` if the backend has no such number cheaper than a read
        (``api/listing_cache.py`` then keeps nothing)."""

    async def change_horizon(self) -> tuple[int, int]:
        """``(pruned_through, last)``: every record at or before ``pruned_through`` has been
        pruned (0 if none); ``last`` is the greatest committed position (0 if none)."""

    async def prune_changes(self, before: datetime) -> int:
        """Forget the records up to the last one made before ``before``; return how many."""

    async def register(
        self,
        event_id: str,
        applicant: Applicant,
        *,
        guard: Guard | None = None,
        once: IdempotencyKey | None = None,
        actor: str | None = None,
    ) -> Registration:
        """Register for the event, confirmed while it has room, else waitlisted, in one atomic
        step with the count; ``guard(event)`` first (e.g. the registration window).

        ``NotFound`` without the event; ``AlreadyRegistered`` if the address (compared
        case-insensitively) has an active registration. ``once``: as in ``create``, saving
        the registration's id."""

    async def cancel_registration(
        self,
        event_id: str,
        registration_id: str,
        *,
        at: datetime,
        guard: RegistrationGuard | None = None,
        actor: str | None = None,
    ) -> Cancelled:
        """Cancel an active registration once ``guard(registration)`` passes (``NotFound``
        if none); a confirmed one's spot goes to the first waitlisted, in the same step."""

    async def get_registration(self, event_id: str, registration_id: str) -> Registration | None:
        """The event's registration with this id (any status), or ``None``."""

    async def list_registrations(
        self, event_id: str, *, after: int = 0, limit: int = 100, account: str | None = None
    ) -> list[Registration]:
        """The event's registrations in the order they joined, after ``seq`` ``after``; only
        ``account``'s with one."""

    async def account_registrations(
        self, account: str, *, after: int = 0, limit: int = 100
    ) -> list[Registration]:
        """An account's registrations, every event, in the order they joined; none of an
        event in the trash (they come back with a restore)."""

    async def registration_counts(self, event_id: str) -> Counts | None:
        """The event's counts (``None`` without the event)."""
