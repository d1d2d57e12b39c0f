"""The change log's records: what happened to an event, at a position in the log.

Every write to an event appends one record in the same transaction as the write, so the log
is the one source of truth that incremental sync (``GET /changes``), the live stream and
webhooks read. Positions only grow, and a reader that has seen position P never misses a
record that commits later (each backend says how: ``storage/*/changes.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal, get_args

import msgspec

if TYPE_CHECKING:
    from eventsapi.domain.visibility import Visibility

ChangeType = Literal[
    "event.created",
    "event.updated",
    "event.deleted",
    "event.restored",
    "event.purged",
    "registration.confirmed",
    "registration.waitlisted",
    "registration.promoted",
    "registration.cancelled",
]
"""The kinds of change. ``event.deleted`` moves the event to the trash, ``event.restored``
brings it back (with its document, as a create), ``event.purged`` removes it from the trash
for good (no document). A ``registration.*`` record is about the event's registrations: its
document is the event with its counts, never the registrant (an e-mail address is personal
data, and the log is public)."""

CHANGE_TYPES: Final[tuple[ChangeType, ...]] = get_args(ChangeType)


class ChangeRecord(msgspec.Struct, frozen=True):
    """One record of the change log."""

    position: int
    """Its place in the log: greater than every record committed before it."""
    type: ChangeType
    event_id: str
    version: int
    """The event's version after the change; for a delete or a purge, the version that was
    deleted."""
    at: datetime
    """When the change was made (UTC)."""
    document: bytes | None
    """The event's JSON document after the change, as ``GET /events/{id}`` answers it;
    ``None`` for a delete and a purge."""
    actor: str | None
    """The id of the user who made the change; ``None`` for the operator (CLI, imports) or
    an anonymous client in local mode."""
    visibility: Visibility = "public"
    """Who may see the event after the change (``domain/visibility.py``); for a delete or a
    purge, who could see the event deleted."""
    previous_visibility: Visibility | None = None
    """Who could see it before, when the change altered that (else ``None``)."""
    owner: str | None = None
    """The event's owner (``None``: none), who sees it whatever its visibility."""


def type_matches(change_type: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """Whether ``change_type`` is selected by one of ``patterns``: an exact type, ``kind.*``
    (every type of that kind) or ``*`` (every type)."""
    kind = change_type.partition(".")[0]
    return any(pattern in ("*", change_type) or pattern == f"{kind}.*" for pattern in patterns)
