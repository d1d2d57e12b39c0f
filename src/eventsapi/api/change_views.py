"""What one reader is told of the change log: ``GET /changes`` and the stream.

The log is one for everyone; each reader is told of a record what ``domain/visibility.py``'s
``view`` says: the record, a deletion or a creation where the change hid or showed the event
to them, or nothing. The reader's registrations are asked of the store once per batch of
records, and only for the private events that are not theirs, so a public log costs nothing
more than it did.

A record a reader is not told of still moves their position (the ``next`` token, the
stream's ``id``): the next read starts after it, and nothing they may see is skipped. What
they learn is that some change happened there, never to which event.

Webhooks are not read through here: only admins manage endpoints, and admins see every
event, so an endpoint receives every change it subscribed to.
"""

from __future__ import annotations

from typing import Protocol

from eventsapi.domain.changes import ChangeRecord
from eventsapi.domain.visibility import (
    NOT_REGISTERED,
    Reader,
    Registrant,
    concerns_registration,
    view,
)

__all__ = ["RegistrantStore", "told"]


class RegistrantStore(Protocol):
    """What the views need of a store: a reader's registrations."""

    async def registrants(self, account: str, event_ids: list[str]) -> dict[str, Registrant]:
        """The account's registrations for each of these events."""


async def told(
    store: RegistrantStore, reader: Reader, records: list[ChangeRecord]
) -> list[ChangeRecord | None]:
    """What ``reader`` is told of each of ``records`` (``None``: nothing), in their order."""
    if reader.everything:
        return list(records)
    registrants: dict[str, Registrant] = {}
    if reader.account is not None:
        asked = [r.event_id for r in records if concerns_registration(reader, r)]
        if asked:
            registrants = await store.registrants(reader.account, asked)
    return [view(r, reader, registrants.get(r.event_id, NOT_REGISTERED)) for r in records]
