"""Registrations in SQLite: each write a job of the one writer, so it holds the database's
write lock from reading the event's counts to its commit; no other write (of any worker) can
come between the capacity check and the insert.

A job checks everything before it changes anything (the event, the active registration of
the address, the caller's guard), so a refused job has changed nothing; the statements after
the checks fail only with a database error, which undoes the whole group (``writer.Job``).
The change-log records are appended in the job, in the order of the changes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Final

import msgspec

from eventsapi.domain.changes import ChangeType
from eventsapi.domain.events import Event
from eventsapi.domain.query import utc_text
from eventsapi.domain.registrations import (
    AlreadyRegistered,
    Applicant,
    Cancelled,
    Counts,
    Registration,
    Status,
    admits,
    promotions,
)
from eventsapi.errors import NotFound
from eventsapi.storage import registrations
from eventsapi.storage.events import Guard
from eventsapi.storage.idempotency import IdempotencyKey
from eventsapi.storage.registrations import RegistrationGuard, entry, moved, row
from eventsapi.storage.sqlite import idempotency
from eventsapi.storage.sqlite.changes import append
from eventsapi.storage.sqlite.connection import Connections

_SQL: Final = registrations.statements("?")
_decode_event = msgspec.json.Decoder(Event).decode


class Held(msgspec.Struct, frozen=True):
    """The event a registration write works on, as it is in the write's transaction."""

    event: Event
    document: bytes
    counts: Counts


def held(conn: sqlite3.Connection, event_id: str) -> Held:
    found = conn.execute(
        "SELECT doc, registered, waitlisted FROM events WHERE id = ?", (event_id,)
    ).fetchone()
    if found is None:
        raise NotFound(f"No event with id {event_id!r}.")
    event = _decode_event(found[0])
    return Held(event, bytes(found[0]), Counts(found[1], found[2], event.capacity))


def promote(
    conn: sqlite3.Connection, hold: Held, at: datetime, actor: str | None
) -> tuple[Registration, ...]:
    """Confirm the first waitlisted, in the order they joined, while there are free spots,
    and store the counts; those confirmed, in order."""
    counts = hold.counts
    due = promotions(counts.capacity, counts.registered, counts.waitlisted)
    if due == 0:
        return ()
    stamp = utc_text(at)
    promoted = []
    for found in conn.execute(_SQL.first_waitlisted, (hold.event.id, due)).fetchall():
        waiting = row(found)
        conn.execute(_SQL.set_status, ("confirmed", stamp, waiting.seq))
        promoted.append(moved(waiting, "confirmed", at))
        counts = Counts(counts.registered + 1, counts.waitlisted - 1, counts.capacity)
        kind: ChangeType = "registration.promoted"
        append(conn, entry(kind, hold.event, hold.document, counts, actor))
    conn.execute(_SQL.counts, (counts.registered, counts.waitlisted, hold.event.id))
    return tuple(promoted)


def capacity_changed(
    conn: sqlite3.Connection, event: Event, document: bytes, counts: Counts, actor: str | None
) -> Counts:
    """After an update of the event in this job (``counts``: its counts then): serve the
    waitlist if there is room now; the counts after."""
    promoted = len(promote(conn, Held(event, document, counts), event.updated_at, actor))
    return Counts(counts.registered + promoted, counts.waitlisted - promoted, counts.capacity)


def _register(
    event_id: str,
    applicant: Applicant,
    guard: Guard | None,
    once: IdempotencyKey | None,
    actor: str | None,
) -> Callable[[sqlite3.Connection], Registration]:
    def work(conn: sqlite3.Connection) -> Registration:
        idempotency.claim(conn, once)
        hold = held(conn, event_id)
        if guard is not None:
            guard(hold.event)
        existing = conn.execute(_SQL.active, (event_id, applicant.email_key)).fetchone()
        if existing is not None:
            raise AlreadyRegistered(event_id, existing[0])
        before = hold.counts
        confirmed = admits(before.capacity, before.registered)
        status: Status = "confirmed" if confirmed else "waitlisted"
        stamp = utc_text(applicant.at)
        (seq,) = conn.execute(
            _SQL.insert,
            (
                applicant.id,
                event_id,
                applicant.name,
                applicant.email,
                applicant.email_key,
                applicant.account,
                applicant.token_hash,
                status,
                stamp,
                stamp,
            ),
        ).fetchone()
        counts = Counts(
            before.registered + confirmed, before.waitlisted + (not confirmed), before.capacity
        )
        conn.execute(_SQL.counts, (counts.registered, counts.waitlisted, event_id))
        idempotency.save(conn, once, applicant.id.encode())
        kind: ChangeType = "registration.confirmed" if confirmed else "registration.waitlisted"
        append(conn, entry(kind, hold.event, hold.document, counts, actor))
        return Registration(
            id=applicant.id,
            event_id=event_id,
            name=applicant.name,
            email=applicant.email,
            account=applicant.account,
            token_hash=applicant.token_hash,
            status=status,
            position=None if confirmed else counts.waitlisted,
            created_at=applicant.at,
            updated_at=applicant.at,
            seq=int(seq),
        )

    return work


def _cancel(
    event_id: str,
    registration_id: str,
    guard: RegistrationGuard | None,
    at: datetime,
    actor: str | None,
) -> Callable[[sqlite3.Connection], Cancelled]:
    def work(conn: sqlite3.Connection) -> Cancelled:
        hold = held(conn, event_id)
        found = conn.execute(_SQL.one, (event_id, registration_id)).fetchone()
        registration = None if found is None else row(found)
        if registration is None or registration.status == "cancelled":
            raise NotFound(f"No active registration {registration_id!r} for this event.")
        if guard is not None:
            guard(registration)
        conn.execute(_SQL.set_status, ("cancelled", utc_text(at), registration.seq))
        was_confirmed = registration.status == "confirmed"
        before = hold.counts
        counts = Counts(
            before.registered - was_confirmed,
            before.waitlisted - (not was_confirmed),
            before.capacity,
        )
        conn.execute(_SQL.counts, (counts.registered, counts.waitlisted, event_id))
        kind: ChangeType = "registration.cancelled"
        append(conn, entry(kind, hold.event, hold.document, counts, actor))
        promoted = promote(conn, Held(hold.event, hold.document, counts), at, actor)
        return Cancelled(moved(registration, "cancelled", at), promoted)

    return work


class SQLiteRegistrations(Connections):
    """The registration methods of the SQLite store."""

    async def register(
        self,
        event_id: str,
        applicant: Applicant,
        *,
        guard: Guard | None = None,
        once: IdempotencyKey | None = None,
        actor: str | None = None,
    ) -> Registration:
        return await self._write(_register(event_id, applicant, guard, once, actor))

    async def cancel_registration(
        self,
        event_id: str,
        registration_id: str,
        *,
        at: datetime,
        guard: RegistrationGuard | None = None,
        actor: str | None = None,
    ) -> Cancelled:
        return await self._write(_cancel(event_id, registration_id, guard, at, actor))

    async def get_registration(self, event_id: str, registration_id: str) -> Registration | None:
        found = self._read().execute(_SQL.one, (event_id, registration_id)).fetchone()
        return None if found is None else row(found)

    async def list_registrations(
        self, event_id: str, *, after: int = 0, limit: int = 100, account: str | None = None
    ) -> list[Registration]:
        conn = self._read()
        if account is None:
            found = conn.execute(_SQL.of_event, (event_id, after, limit)).fetchall()
        else:
            found = conn.execute(_SQL.of_event_for, (event_id, account, after, limit)).fetchall()
        return [row(each) for each in found]

    async def account_registrations(
        self, account: str, *, after: int = 0, limit: int = 100
    ) -> list[Registration]:
        found = self._read().execute(_SQL.of_account, (account, after, limit)).fetchall()
        return [row(each) for each in found]

    async def registration_counts(self, event_id: str) -> Counts | None:
        found = (
            self._read()
            .execute(
                "SELECT registered, waitlisted, capacity FROM events WHERE id = ?", (event_id,)
            )
            .fetchone()
        )
        return None if found is None else Counts(*found)
