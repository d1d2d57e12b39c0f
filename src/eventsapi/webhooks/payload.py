"""What a webhook's body is: the change, as ``GET /changes`` shows it.

``{"type", "id", "version", "at", "event"}``: the change's type, the event's id, its version
after the change (for a delete, the version deleted), when it was made, and the event's
document after it (``null`` for a delete), byte for byte as ``GET /events/{id}`` answers.
A test message has the same members: ``type`` is ``webhook.test``, ``id`` the endpoint's.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from eventsapi.domain.changes import ChangeRecord
from eventsapi.domain.webhooks import TEST_TYPE

__all__ = ["ChangeBody", "change_body", "test_body"]


class ChangeBody(msgspec.Struct):
    type: str
    id: str
    version: int | None
    at: datetime
    event: msgspec.Raw | None


_encode = msgspec.json.Encoder().encode


def change_body(change: ChangeRecord) -> bytes:
    event = None if change.document is None else msgspec.Raw(change.document)
    return _encode(ChangeBody(change.type, change.event_id, change.version, change.at, event))


def test_body(endpoint_id: str, now: datetime) -> bytes:
    return _encode(ChangeBody(TEST_TYPE, endpoint_id, None, now, None))
