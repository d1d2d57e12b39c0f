"""Registrations, as the SQL backends store them: the statements they share, and the rows.

Where the counts live. An event's confirmed and waitlisted counts are two columns of its row
(``registered``, ``waitlisted``), beside its document, not in it: a registration must not
rewrite the event's document nor bump its version (the owner's ``If-Match`` edits would fail
whenever someone registers). The write that registers holds the event (SQLite's writer;
PostgreSQL's ``SELECT ... FOR UPDATE`` of the event's row, which updates of the event take
too), reads the counts, decides (``domain/registrations.py``), inserts and updates the counts
in that one transaction: the check and the insert are one step, and no two writes for one
event interleave. Every event served carries the counts (``storage/events.py``, ``served``).

Waitlist positions are not stored: a waitlisted registration's position is the number of
waitlisted registrations of its event that joined before it or with it (``seq``, the order
of joining), so it is always 1..n without gaps or duplicates, whatever leaves the list.
"""

# The fragments joined into SQL here are constants of this module and the placeholder, a
# constant of the caller; values are always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

import msgspec

from eventsapi.domain.changes import ChangeType
from eventsapi.domain.events import Event
from eventsapi.domain.registrations import Counts, Registration
from eventsapi.storage.changes import Entry
from eventsapi.storage.events import served

RegistrationGuard = Callable[[Registration], None]
"""Checks a registration before it is cancelled; raises (e.g. not the registrant's) to stop it."""

_COLUMNS: Final = (
    "r.seq, r.id, r.event_id, r.name, r.email, r.account, r.token_hash, r.status,"
    " r.created_at, r.updated_at"
)


_POSITION: Final = (
    "CASE WHEN r.status = 'waitlisted' THEN (SELECT count(*) FROM registrations AS w"
    " WHERE w.event_id = r.event_id AND w.status = 'waitlisted' AND w.seq <= r.seq) END"
)


class Statements(msgspec.Struct, frozen=True):
    """The SQL of registrations for one placeholder style (``?`` or ``%s``)."""

    active: str
    """Parameters: event id, e-mail key; the active registration's id, if any."""
    insert: str
    """Parameters: id, event id, name, e-mail, e-mail key, account, token hash, status,
    created_at, updated_at; returns ``seq``."""
    counts: str
    """Parameters: registered, waitlisted, event id."""
    one: str
    """Parameters: event id, registration id; one row (``row``), if any."""
    of_event: str
    """Parameters: event id, after seq, limit."""
    of_event_for: str
    """Parameters: event id, account, after seq, limit."""
    of_account: str
    """Parameters: account, after seq, limit; only registrations of events not in the trash
    (the trash keeps them, and a restore shows them again)."""
    first_waitlisted: str
    """Parameters: event id, how many; rows (``row``) in the order they joined."""
    set_status: str
    """Parameters: status, updated_at, seq."""
    remove_of_event: str
    """Parameter: event id."""
    recount: str
    """Parameters: event id three times; the event's counts from its registrations (a
    restored event's row comes back without them), returning them."""


def statements(p: str) -> Statements:
    select = f"SELECT {_COLUMNS}, {_POSITION} FROM registrations AS r"
    return Statements(
        active=(
            f"SELECT id FROM registrations WHERE event_id = {p} AND email_key = {p}"
            " AND status <> 'cancelled'"
        ),
        insert=(
            "INSERT INTO registrations (id, event_id, name, email, email_key, account,"
            " token_hash, status, created_at, updated_at)"
            f" VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}) RETURNING seq"
        ),
        counts=f"UPDATE events SET registered = {p}, waitlisted = {p} WHERE id = {p}",
        one=f"{select} WHERE r.event_id = {p} AND r.id = {p}",
        of_event=f"{select} WHERE r.event_id = {p} AND r.seq > {p} ORDER BY r.seq LIMIT {p}",
        of_event_for=(
            f"{select} WHERE r.event_id = {p} AND r.account = {p} AND r.seq > {p}"
            f" ORDER BY r.seq LIMIT {p}"
        ),
        of_account=(
            f"{select} WHERE r.account = {p} AND r.seq > {p}"
            " AND EXISTS (SELECT 1 FROM events AS e WHERE e.id = r.event_id)"
            f" ORDER BY r.seq LIMIT {p}"
        ),
        first_waitlisted=(
            f"{select} WHERE r.event_id = {p} AND r.status = 'waitlisted' ORDER BY r.seq LIMIT {p}"
        ),
        set_status=f"UPDATE registrations SET status = {p}, updated_at = {p} WHERE seq = {p}",
        remove_of_event=f"DELETE FROM registrations WHERE event_id = {p}",
        recount=(
            "UPDATE events SET registered = (SELECT count(*) FROM registrations"
            f" WHERE event_id = {p} AND status = 'confirmed'), waitlisted = (SELECT count(*)"
            f" FROM registrations WHERE event_id = {p} AND status = 'waitlisted') WHERE id = {p}"
            " RETURNING registered, waitlisted"
        ),
    )


def row(found: Sequence[Any]) -> Registration:
    """The registration of a row of ``one``, ``of_*`` or ``first_waitlisted``."""
    return Registration(
        id=found[1],
        event_id=found[2],
        name=found[3],
        email=found[4],
        account=found[5],
        token_hash=found[6],
        status=found[7],
        position=None if found[10] is None else int(found[10]),
        created_at=datetime.fromisoformat(found[8]),
        updated_at=datetime.fromisoformat(found[9]),
        seq=int(found[0]),
    )


def entry(
    kind: ChangeType,
    event: Event,
    document: bytes,
    counts: Counts,
    actor: str | None,
) -> Entry:
    """A registration's change-log entry: the event with its counts after the change (never
    the registrant: the log is read by others)."""
    return Entry(kind, event.id, event.version, served(document, counts), actor).about(event)


def moved(registration: Registration, status: str, at: datetime) -> Registration:
    """``registration`` with a new status (and no position once it left the waitlist)."""
    return Registration(
        id=registration.id,
        event_id=registration.event_id,
        name=registration.name,
        email=registration.email,
        account=registration.account,
        token_hash=registration.token_hash,
        status="confirmed" if status == "confirmed" else "cancelled",
        position=None,
        created_at=registration.created_at,
        updated_at=at,
        seq=registration.seq,
    )
