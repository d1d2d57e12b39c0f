"""Who may see an event, as the SQL backends ask it: one condition on the event's row.

Every read that answers a reader (by id, a listing's page and its count) adds the condition
of ``domain/visibility.py``'s ``sees`` to its own, so an event the reader may not see is
simply not found, by the same statement that finds the others (a private event that is not
the reader's costs one index probe more: is the reader registered?). The columns are the
row's copies of the document's members (``visibility``, ``owner``, migration 0013); the
registration is looked up by the index of registrations by account and event.

``registrants`` is the SQL of the other question the change log asks (``Registrant``): of
these events, which has the reader registered for, and is a registration still active.
"""

# The fragments joined into SQL here are constants of this module and the placeholder, a
# constant of the caller; values are always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from eventsapi.domain.visibility import NOT_REGISTERED, Reader, Registrant


def condition(reader: Reader, p: str, *, alias: str = "e") -> tuple[str | None, list[Any]]:
    """The condition on an ``events`` row (named ``alias``) that ``reader`` may see it, and its
    parameters; ``None`` when the reader sees every event."""
    if reader.everything:
        return None, []
    if reader.account is None:
        return f"{alias}.visibility = 'public'", []
    registered = (
        f"EXISTS (SELECT 1 FROM registrations AS mine WHERE mine.account = {p}"
        f" AND mine.event_id = {alias}.id AND mine.status <> 'cancelled')"
    )
    return (
        f"({alias}.visibility <> 'private' OR {alias}.owner = {p} OR {registered})",
        [reader.account, reader.account],
    )


class ById(msgspec.Struct, frozen=True):
    """A read by id, one statement per kind of reader, made once (this is the hottest read):
    ``select`` must end with its ``WHERE`` conditions on the row ``e``."""

    everything: str
    public: str
    signed_in: str

    @classmethod
    def of(cls, select: str, p: str) -> ById:
        signed_in, _ = condition(Reader(account=""), p)
        return cls(select, f"{select} AND e.visibility = 'public'", f"{select} AND {signed_in}")

    def statement(self, reader: Reader) -> tuple[str, tuple[str, ...]]:
        """The statement for ``reader`` and the parameters that follow the id."""
        if reader.everything:
            return self.everything, ()
        if reader.account is None:
            return self.public, ()
        return self.signed_in, (reader.account, reader.account)


def registrants_sql(p: str, count: int) -> str:
    """Parameters: an account, then ``count`` event ids; rows of an event id and whether one
    of the account's registrations for it is active, for the events it registered for."""
    ids = ", ".join([p] * count)
    return (
        "SELECT event_id, max(CASE WHEN status <> 'cancelled' THEN 1 ELSE 0 END)"
        f" FROM registrations WHERE account = {p} AND event_id IN ({ids}) GROUP BY event_id"
    )


def registrants_of(
    rows: Iterable[tuple[Any, ...]], event_ids: Iterable[str]
) -> dict[str, Registrant]:
    """``registrants_sql``'s rows as each event's ``Registrant`` (every id of ``event_ids``)."""
    found = {str(row[0]): Registrant(active=bool(row[1]), ever=True) for row in rows}
    return {event_id: found.get(event_id, NOT_REGISTERED) for event_id in event_ids}
