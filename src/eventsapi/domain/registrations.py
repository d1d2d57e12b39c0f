"""Registrations (RSVPs): who comes to an event, confirmed or on its waitlist.

Pure rules, no I/O. The stores run them inside the transaction that holds the event
(SQLite's writer, PostgreSQL's lock of the event's row), so the count they are given is the
count at the moment of the write: a capacity check and the insert are one step.

- A newcomer is confirmed while confirmed registrations are fewer than the capacity (no
  capacity: always), else waitlisted.
- When a confirmed registration is cancelled or the capacity grows, the first waitlisted,
  in the order they joined, are confirmed (``promotions``). Lowering the capacity below the
  confirmed count confirms nobody and bumps nobody.
- One active registration per event and e-mail address, compared case-insensitively
  (``email_key``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final, Literal

import msgspec

from eventsapi.domain.events import Event
from eventsapi.domain.text import has_controls
from eventsapi.errors import EventsAPIError, FieldError, ValidationFailed

Status = Literal["confirmed", "waitlisted", "cancelled"]
ACTIVE: Final[tuple[Status, ...]] = ("confirmed", "waitlisted")
NAME_MAX: Final = 200
EMAIL_MAX: Final = 254
_EMAIL: Final = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")


class RegistrationClosed(EventsAPIError):
    """The event takes no registration now: ``reason`` says why (a problem type each)."""

    def __init__(self, reason: Literal["cancelled", "past", "not-open", "closed"], detail: str):
        self.reason = reason
        super().__init__(detail)


class AlreadyRegistered(EventsAPIError):
    """This e-mail address has an active registration for the event already."""

    def __init__(self, event_id: str, registration_id: str) -> None:
        self.event_id = event_id
        self.registration_id = registration_id
        super().__init__("This e-mail address is registered for this event already.")


class Applicant(msgspec.Struct, frozen=True):
    """What a registration is made of, checked (``applicant``)."""

    id: str
    name: str
    email: str
    account: str | None
    token_hash: str | None
    """The SHA-256 (hex) of the cancel token given to a registrant without an account."""
    at: datetime

    @property
    def email_key(self) -> str:
        return email_key(self.email)


class Registration(msgspec.Struct, frozen=True):
    """A registration as stored. ``position`` is its place on the waitlist (1 = next to be
    confirmed) while it is waitlisted, else ``None``."""

    id: str
    event_id: str
    name: str
    email: str
    account: str | None
    token_hash: str | None
    status: Status
    position: int | None
    created_at: datetime
    updated_at: datetime
    seq: int
    """The order it joined in (all events together): the waitlist's order, and pages'."""


class Counts(msgspec.Struct, frozen=True):
    """An event's registrations: confirmed, waitlisted, and the spots left (``None``
    without a capacity)."""

    registered: int
    waitlisted: int
    capacity: int | None

    @property
    def spots_left(self) -> int | None:
        return spots_left(self.capacity, self.registered)


def spots_left(capacity: int | None, registered: int) -> int | None:
    """The spots an event has left: ``None`` without a capacity, never below 0 (a capacity
    lowered below the confirmed count bumps nobody)."""
    return None if capacity is None else max(capacity - registered, 0)


class Cancelled(msgspec.Struct, frozen=True):
    """A cancellation and the registrations it confirmed from the waitlist, in order."""

    registration: Registration
    promoted: tuple[Registration, ...]


def email_key(email: str) -> str:
    """The form e-mail addresses are compared in: trimmed, case-folded."""
    return email.strip().casefold()


def admits(capacity: int | None, registered: int) -> bool:
    """Whether a newcomer is confirmed (else waitlisted) with ``registered`` confirmed."""
    return capacity is None or registered < capacity


def promotions(capacity: int | None, registered: int, waitlisted: int) -> int:
    """How many of the waitlist's first are confirmed now: as many as there are free
    spots (none when the confirmed are as many as the capacity, or more)."""
    if capacity is None:
        return waitlisted
    return max(0, min(capacity - registered, waitlisted))


def applicant(
    *,
    registration_id: str,
    name: str,
    email: str,
    account: str | None,
    token_hash: str | None,
    at: datetime,
) -> Applicant:
    """Check a name and an e-mail address; every broken rule is reported at once."""
    errors: list[FieldError] = []
    name = name.strip()
    email = email.strip()
    if not name or len(name) > NAME_MAX or has_controls(name):
        errors.append(
            FieldError("name", f"must be 1-{NAME_MAX} characters without control characters")
        )
    # The pattern's \s leaves most control characters in: NUL would be a 500 on PostgreSQL.
    if len(email) > EMAIL_MAX or not _EMAIL.match(email) or has_controls(email):
        errors.append(FieldError("email", "must be an e-mail address (name@example.org)"))
    if errors:
        raise ValidationFailed(errors, subject="registration")
    return Applicant(registration_id, name, email, account, token_hash, at)


def check_open(
    event: Event,
    now: datetime,
    *,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> None:
    """Raise ``RegistrationClosed`` if ``event`` takes no registration at ``now``: it is
    cancelled, it has started (or ended, without a start), or ``now`` is outside its
    registration window."""
    if event.status == "cancelled":
        raise RegistrationClosed("cancelled", "The event is cancelled.")
    begins = event.starts_at or event.ends_at
    if begins is not None and begins <= now:
        raise RegistrationClosed("past", "The event has started or is over.")
    if opens_at is not None and now < opens_at:
        raise RegistrationClosed("not-open", f"Registration opens at {opens_at.isoformat()}.")
    if closes_at is not None and now >= closes_at:
        raise RegistrationClosed("closed", f"Registration closed at {closes_at.isoformat()}.")
