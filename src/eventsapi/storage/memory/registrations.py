"""Registrations in memory. Each method runs without awaiting, so on the event loop the
capacity check, the insert, the counts and the change-log records are one atomic step, as a
transaction is in the SQL backends. An event's counts live beside it, not in its document:
every change of a registration's status goes through ``_keep``, which keeps them."""

from __future__ import annotations

from datetime import datetime

import msgspec

from eventsapi.domain.changes import ChangeType
from eventsapi.domain.events import Event
from eventsapi.domain.registrations import (
    AlreadyRegistered,
    Applicant,
    Cancelled,
    Counts,
    Registration,
    Status,
    admits,
    email_key,
    promotions,
)
from eventsapi.domain.visibility import Registrant
from eventsapi.errors import NotFound
from eventsapi.storage.events import Guard
from eventsapi.storage.idempotency import IdempotencyKey, SavedKey
from eventsapi.storage.memory.events import MemoryEvents
from eventsapi.storage.registrations import RegistrationGuard, entry

_encode = msgspec.json.Encoder().encode


class MemoryRegistrations(MemoryEvents):
    """The registration methods of the memory store."""

    def __init__(self) -> None:
        super().__init__()
        self._registrations: dict[str, Registration] = {}
        """By id, in the order they joined (a dict keeps insertion order)."""
        self._last_registration = 0

    def _registered(self, account: str, event_id: str) -> bool:
        return any(
            r.account == account and r.status != "cancelled" for r in self._of_event(event_id)
        )

    async def registrants(self, account: str, event_ids: list[str]) -> dict[str, Registrant]:
        found: dict[str, Registrant] = {}
        for event_id in event_ids:
            mine = [r for r in self._of_event(event_id) if r.account == account]
            active = any(r.status != "cancelled" for r in mine)
            found[event_id] = Registrant(active=active, ever=bool(mine))
        return found

    def _of_event(self, event_id: str) -> list[Registration]:
        return [r for r in self._registrations.values() if r.event_id == event_id]

    def _keep(self, registration: Registration) -> None:
        """Store ``registration`` (new, or with a new status) and count it."""
        before = self._registrations.get(registration.id)
        self._registrations[registration.id] = registration
        tally = self._tallies.setdefault(registration.event_id, {"confirmed": 0, "waitlisted": 0})
        if before is not None and before.status in tally:
            tally[before.status] -= 1
        if registration.status in tally:
            tally[registration.status] += 1

    def _positioned(self, registration: Registration) -> Registration:
        if registration.status != "waitlisted":
            return msgspec.structs.replace(registration, position=None)
        ahead = sum(
            1
            for r in self._of_event(registration.event_id)
            if r.status == "waitlisted" and r.seq <= registration.seq
        )
        return msgspec.structs.replace(registration, position=ahead)

    def _event(self, event_id: str) -> Event:
        found = self._events.get(event_id)
        if found is None:
            raise NotFound(f"No event with id {event_id!r}.")
        return found[1]

    def _log(self, kind: ChangeType, event: Event, actor: str | None) -> None:
        self._append(entry(kind, event, _encode(event), self._counts(event), actor))

    def _promote(self, event: Event, at: datetime, actor: str | None) -> tuple[Registration, ...]:
        counts = self._counts(event)
        due = promotions(counts.capacity, counts.registered, counts.waitlisted)
        waiting = [r for r in self._of_event(event.id) if r.status == "waitlisted"][:due]
        promoted = []
        for registration in waiting:
            confirmed = msgspec.structs.replace(
                registration, status="confirmed", position=None, updated_at=at
            )
            self._keep(confirmed)
            promoted.append(confirmed)
            self._log("registration.promoted", event, actor)
        return tuple(promoted)

    def _replace(self, position: int, event: Event, actor: str | None) -> None:
        before = self._events[event.id][1].capacity
        super()._replace(position, event, actor)
        if event.capacity != before:
            self._promote(event, event.updated_at, actor)

    def _forget(self, event_id: str) -> None:
        # A purge removes the registrations; the trash keeps them for a restore.
        for registration in self._of_event(event_id):
            del self._registrations[registration.id]
        self._tallies.pop(event_id, None)

    async def register(
        self,
        event_id: str,
        applicant: Applicant,
        *,
        guard: Guard | None = None,
        once: IdempotencyKey | None = None,
        actor: str | None = None,
    ) -> Registration:
        self._claim(once)
        event = self._event(event_id)
        if guard is not None:
            guard(event)
        for existing in self._of_event(event_id):
            if existing.status != "cancelled" and email_key(existing.email) == applicant.email_key:
                raise AlreadyRegistered(event_id, existing.id)
        counts = self._counts(event)
        confirmed = admits(counts.capacity, counts.registered)
        status: Status = "confirmed" if confirmed else "waitlisted"
        self._last_registration += 1
        registration = Registration(
            id=applicant.id,
            event_id=event_id,
            name=applicant.name,
            email=applicant.email,
            account=applicant.account,
            token_hash=applicant.token_hash,
            status=status,
            position=None,
            created_at=applicant.at,
            updated_at=applicant.at,
            seq=self._last_registration,
        )
        self._keep(registration)
        if once is not None:
            saved = SavedKey(once.fingerprint, applicant.id.encode())
            self._saved[(once.scope, once.key)] = (once.expires_at, saved)
        kind: ChangeType = "registration.confirmed" if confirmed else "registration.waitlisted"
        self._log(kind, event, actor)
        return self._positioned(registration)

    async def cancel_registration(
        self,
        event_id: str,
        registration_id: str,
        *,
        at: datetime,
        guard: RegistrationGuard | None = None,
        actor: str | None = None,
    ) -> Cancelled:
        event = self._event(event_id)
        registration = self._registrations.get(registration_id)
        if (
            registration is None
            or registration.event_id != event_id
            or registration.status == "cancelled"
        ):
            raise NotFound(f"No active registration {registration_id!r} for this event.")
        if guard is not None:
            guard(registration)
        cancelled = msgspec.structs.replace(
            registration, status="cancelled", position=None, updated_at=at
        )
        self._keep(cancelled)
        self._log("registration.cancelled", event, actor)
        return Cancelled(cancelled, self._promote(event, at, actor))

    async def get_registration(self, event_id: str, registration_id: str) -> Registration | None:
        found = self._registrations.get(registration_id)
        if found is None or found.event_id != event_id:
            return None
        return self._positioned(found)

    async def list_registrations(
        self, event_id: str, *, after: int = 0, limit: int = 100, account: str | None = None
    ) -> list[Registration]:
        found = [
            r
            for r in self._of_event(event_id)
            if r.seq > after and (account is None or r.account == account)
        ]
        return [self._positioned(r) for r in found[:limit]]

    async def account_registrations(
        self, account: str, *, after: int = 0, limit: int = 100
    ) -> list[Registration]:
        # Not those of events in the trash: they come back with a restore.
        found = [
            r
            for r in self._registrations.values()
            if r.account == account and r.seq > after and r.event_id in self._events
        ]
        return [self._positioned(r) for r in found[:limit]]

    async def registration_counts(self, event_id: str) -> Counts | None:
        found = self._events.get(event_id)
        return None if found is None else self._counts(found[1])
