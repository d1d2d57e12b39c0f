"""The change log, as every backend keeps it: what a write appends, and the SQL they share.

Every write to an event appends one ``Entry`` in the same transaction as the write, with the
event as it is served then (its counts included, ``storage/events.py``); the backend gives
it its position (``storage/*/changes.py`` says how positions follow commit
order there) and the time. A reader asks for the records after a position
(``changes_after``) and for the log's horizon (``change_horizon``): ``pruned_through``, the
greatest position pruned so far (kept durably, so that a log pruned to nothing still knows
which tokens are too old), and ``last``, the greatest committed position.

Pruning cuts at a position, not only at a time: it removes every record up to the last one
older than the cut-off, so that "every record at or before ``pruned_through`` is gone" stays
true even if two processes' clocks disagree a little about ``at``.
"""

# The one fragment joined into SQL here is the placeholder, a constant of the caller;
# values are always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from eventsapi.domain.changes import ChangeRecord, ChangeType
from eventsapi.domain.events import Event, owner_of, visibility_of
from eventsapi.domain.registrations import Counts
from eventsapi.domain.visibility import PUBLIC, Visibility
from eventsapi.storage.events import served

PRUNED_THROUGH: Final = "changes_pruned_through"
"""The ``meta`` key of the greatest position pruned (SQLite and PostgreSQL)."""

COLUMNS: Final = (
    "position, type, event_id, version, at, document, actor, visibility, previous_visibility, owner"
)


class Entry(msgspec.Struct, frozen=True):
    """What a write appends to the log; the backend adds the position and the time."""

    type: ChangeType
    event_id: str
    version: int
    document: bytes | None
    actor: str | None
    visibility: Visibility = PUBLIC
    """Who may see the event after the change; for a delete or a purge, who could see it
    (``domain/changes.py``, ``ChangeRecord``)."""
    previous_visibility: Visibility | None = None
    owner: str | None = None

    def record(self, position: int, at: datetime) -> ChangeRecord:
        return ChangeRecord(
            position,
            self.type,
            self.event_id,
            self.version,
            at,
            self.document,
            self.actor,
            self.visibility,
            self.previous_visibility,
            self.owner,
        )

    @property
    def audience(self) -> tuple[str, str | None, str | None]:
        """``visibility``, ``previous_visibility`` and ``owner``: the columns that say who
        may be told of the change, in ``COLUMNS``' order."""
        return (self.visibility, self.previous_visibility, self.owner)

    def about(self, event: Event, previous: Event | None = None) -> Entry:
        """This entry, saying who may see ``event`` as the change left it (and, for an update,
        who could see ``previous``, the event before it)."""
        visibility = visibility_of(event)
        was = visibility if previous is None else visibility_of(previous)
        return msgspec.structs.replace(
            self,
            visibility=visibility,
            previous_visibility=None if was == visibility else was,
            owner=owner_of(event),
        )


def written(
    event: Event,
    document: bytes,
    counts: Counts,
    *,
    created: bool,
    actor: str | None,
    previous: Event | None = None,
) -> Entry:
    """The entry of a create (``created``) or an update of ``event``, stored as ``document``:
    the event as it is served, with its ``counts``; ``previous``: the event before an update
    (a change of visibility is told as one)."""
    kind: ChangeType = "event.created" if created else "event.updated"
    entry = Entry(kind, event.id, event.version, served(document, counts), actor)
    return entry.about(event, previous)


def deleted(event: Event, *, actor: str | None) -> Entry:
    """The entry of the delete of ``event`` (its version is the one deleted)."""
    return Entry("event.deleted", event.id, event.version, None, actor).about(event)


def now() -> datetime:
    """The time a change is recorded at: the writing process's clock, in UTC, to the
    millisecond.

    Only pruning reads it (by age, in days), so the stores take it from the wall clock
    rather than from the API's clock, which a test may hold still."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)  # as events' times


class Statements(msgspec.Struct, frozen=True):
    """The SQL of the log for one placeholder style (``?`` or ``%s``)."""

    after: str
    """Parameters: a position and a limit; the records after it, ascending."""
    prune_cut: str
    """Parameter: the cut-off time; one row, the greatest position of a record older
    than it (``NULL`` if none)."""
    prune: str
    """Parameter: a position; deletes every record at or before it."""
    pruned_through: str
    """No parameter; one row, the greatest position pruned, as text."""


def statements(p: str) -> Statements:
    return Statements(
        after=f"SELECT {COLUMNS} FROM changes WHERE position > {p} ORDER BY position LIMIT {p}",
        prune_cut=f"SELECT max(position) FROM changes WHERE at < {p}",
        prune=f"DELETE FROM changes WHERE position <= {p}",
        pruned_through=f"SELECT value FROM meta WHERE key = '{PRUNED_THROUGH}'",
    )


def record_of(row: Sequence[Any], at: datetime) -> ChangeRecord:
    """The record of a row of ``Statements.after``, with ``at`` as the backend reads it."""
    document = row[5]
    return ChangeRecord(
        position=int(row[0]),
        type=row[1],
        event_id=row[2],
        version=int(row[3]),
        at=at,
        document=None if document is None else bytes(document),
        actor=row[6],
        visibility=row[7],
        previous_visibility=row[8],
        owner=row[9],
    )
