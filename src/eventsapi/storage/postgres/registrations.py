"""Registrations in PostgreSQL: each write one transaction that first locks the event's row
(``SELECT ... FOR UPDATE``, as updates of the event do), so writes for one event take turns
from reading its counts to their commit, on every replica: the capacity check and the insert
are one step, and a capacity change (an update of the event) cannot come between them.
Under READ COMMITTED each later statement sees what the previous holder of the lock
committed. Writes for other events do not wait.

A write checks everything before it changes anything; the change-log records are appended in
its transaction, in the order of the changes.
"""

from __future__ import annotations

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
from eventsapi.storage.postgres import idempotency
from eventsapi.storage.postgres.changes import append
from eventsapi.storage.postgres.connection import Connection, Connections
from eventsapi.storage.registrations import RegistrationGuard, entry, moved, row

_SQL: Final = registrations.statements("%s")
_decode_event = msgspec.json.Decoder(Event).decode
_COUNTS: Final = "SELECT doc, registered, waitlisted FROM events WHERE id = %s"


class Held(msgspec.Struct, frozen=True):
    """The event a registration write works on, locked by the write's transaction."""

    event: Event
    document: bytes
    counts: Counts


async def held(conn: Connection, event_id: str) -> Held:
    cursor = await conn.execute(_COUNTS + " FOR UPDATE", (event_id,), binary=True)
    found = await cursor.fetchone()
    if found is None:
        raise NotFound(f"No event with id {event_id!r}.")
    event = _decode_event(found[0])
    return Held(event, bytes(found[0]), Counts(int(found[1]), int(found[2]), event.capacity))


async def promote(
    conn: Connection, hold: Held, at: datetime, actor: str | None
) -> tuple[Registration, ...]:
    """Confirm the first waitlisted, in the order they joined, while there are free spots,
    and store the counts; those confirmed, in order."""
    counts = hold.counts
    due = promotions(counts.capacity, counts.registered, counts.waitlisted)
    if due == 0:
        return ()
    stamp = utc_text(at)
    cursor = await conn.execute(_SQL.first_waitlisted, (hold.event.id, due))
    promoted = []
    for found in await cursor.fetchall():
        waiting = row(found)
        await conn.execute(_SQL.set_status, ("confirmed", stamp, waiting.seq))
        promoted.append(moved(waiting, "confirmed", at))
        counts = Counts(counts.registered + 1, counts.waitlisted - 1, counts.capacity)
        kind: ChangeType = "registration.promoted"
        await append(conn, entry(kind, hold.event, hold.document, counts, actor))
    await conn.execute(_SQL.counts, (counts.registered, counts.waitlisted, hold.event.id))
    return tuple(promoted)


async def capacity_changed(
    conn: Connection, event: Event, document: bytes, counts: Counts, actor: str | None
) -> Counts:
    """After an update of the event in this transaction (which holds its row's lock;
    ``counts``: its counts then): serve the waitlist if there is room now; the counts after."""
    promoted = len(await promote(conn, Held(event, document, counts), event.updated_at, actor))
    return Counts(counts.registered + promoted, counts.waitlisted - promoted, counts.capacity)


class PostgresRegistrations(Connections):
    """The registration methods of the PostgreSQL store."""

    _schema: str

    async def register(
        self,
        event_id: str,
        applicant: Applicant,
        *,
        guard: Guard | None = None,
        once: IdempotencyKey | None = None,
        actor: str | None = None,
    ) -> Registration:
        async def work(conn: Connection) -> Registration:
            await idempotency.claim(conn, self._schema, once)
            hold = await held(conn, event_id)
            if guard is not None:
                guard(hold.event)
            cursor = await conn.execute(_SQL.active, (event_id, applicant.email_key))
            existing = await cursor.fetchone()
            if existing is not None:
                raise AlreadyRegistered(event_id, existing[0])
            before = hold.counts
            confirmed = admits(before.capacity, before.registered)
            status: Status = "confirmed" if confirmed else "waitlisted"
            stamp = utc_text(applicant.at)
            inserted = await conn.execute(
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
            )
            seq_row = await inserted.fetchone()
            assert seq_row is not None  # noqa: S101 - INSERT ... RETURNING returns its row
            counts = Counts(
                before.registered + confirmed, before.waitlisted + (not confirmed), before.capacity
            )
            await conn.execute(_SQL.counts, (counts.registered, counts.waitlisted, event_id))
            await idempotency.save(conn, once, applicant.id.encode())
            kind: ChangeType = "registration.confirmed" if confirmed else "registration.waitlisted"
            await append(conn, entry(kind, hold.event, hold.document, counts, actor))
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
                seq=int(seq_row[0]),
            )

        return await self._write(work)

    async def cancel_registration(
        self,
        event_id: str,
        registration_id: str,
        *,
        at: datetime,
        guard: RegistrationGuard | None = None,
        actor: str | None = None,
    ) -> Cancelled:
        async def work(conn: Connection) -> Cancelled:
            hold = await held(conn, event_id)
            found = await (await conn.execute(_SQL.one, (event_id, registration_id))).fetchone()
            registration = None if found is None else row(found)
            if registration is None or registration.status == "cancelled":
                raise NotFound(f"No active registration {registration_id!r} for this event.")
            if guard is not None:
                guard(registration)
            await conn.execute(_SQL.set_status, ("cancelled", utc_text(at), registration.seq))
            was_confirmed = registration.status == "confirmed"
            before = hold.counts
            counts = Counts(
                before.registered - was_confirmed,
                before.waitlisted - (not was_confirmed),
                before.capacity,
            )
            await conn.execute(_SQL.counts, (counts.registered, counts.waitlisted, event_id))
            kind: ChangeType = "registration.cancelled"
            await append(conn, entry(kind, hold.event, hold.document, counts, actor))
            promoted = await promote(conn, Held(hold.event, hold.document, counts), at, actor)
            return Cancelled(moved(registration, "cancelled", at), promoted)

        return await self._write(work)

    async def get_registration(self, event_id: str, registration_id: str) -> Registration | None:
        async def work(conn: Connection) -> Registration | None:
            found = await (await conn.execute(_SQL.one, (event_id, registration_id))).fetchone()
            return None if found is None else row(found)

        return await self._read(work)

    async def list_registrations(
        self, event_id: str, *, after: int = 0, limit: int = 100, account: str | None = None
    ) -> list[Registration]:
        async def work(conn: Connection) -> list[Registration]:
            if account is None:
                cursor = await conn.execute(_SQL.of_event, (event_id, after, limit))
            else:
                cursor = await conn.execute(_SQL.of_event_for, (event_id, account, after, limit))
            return [row(each) for each in await cursor.fetchall()]

        return await self._read(work)

    async def account_registrations(
        self, account: str, *, after: int = 0, limit: int = 100
    ) -> list[Registration]:
        async def work(conn: Connection) -> list[Registration]:
            cursor = await conn.execute(_SQL.of_account, (account, after, limit))
            return [row(each) for each in await cursor.fetchall()]

        return await self._read(work)

    async def registration_counts(self, event_id: str) -> Counts | None:
        async def work(conn: Connection) -> Counts | None:
            sql = "SELECT registered, waitlisted, capacity FROM events WHERE id = %s"
            found = await (await conn.execute(sql, (event_id,))).fetchone()
            if found is None:
                return None
            capacity = None if found[2] is None else int(found[2])
            return Counts(int(found[0]), int(found[1]), capacity)

        return await self._read(work)
