"""Webhooks as records: an endpoint, a message to it, and each attempt to deliver one.

Pure values, shared by ``webhooks/`` (which holds every rule: signing, the retry schedule,
the SSRF guard) and the backends that keep them (``storage/*/webhooks.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

import msgspec

MessageStatus = Literal["pending", "delivered", "failed"]
"""``pending``: an attempt is due at ``next_attempt_at``; ``delivered``: a receiver answered
2xx; ``failed``: the last attempt of the schedule failed (a manual retry sends it again)."""

TEST_TYPE: Final = "webhook.test"
"""The type of the message ``POST /webhooks/{id}/test`` sends."""


class Endpoint(msgspec.Struct, frozen=True):
    """A registered receiver of changes."""

    id: str
    url: str
    types: tuple[str, ...]
    """Change types, ``kind.*`` or ``*`` (``domain/changes.type_matches``)."""
    description: str
    enabled: bool
    secret: str
    """The signing secret, ``whsec_`` + base64: kept to sign, never shown after creation."""
    previous_secret: str | None
    """The secret before the last rotation, which signs beside ``secret`` until
    ``previous_until``."""
    previous_until: datetime | None
    created_at: datetime
    updated_at: datetime
    cursor: int
    """The change-log position up to which changes are queued as messages."""
    disabled_reason: str | None
    """Why the service turned it off (a 410 from the receiver); ``None`` if it did not."""


class Message(msgspec.Struct, frozen=True):
    """One change (or test) for one endpoint; its id is the ``webhook-id`` of every
    attempt to deliver it."""

    id: str
    endpoint_id: str
    position: int | None
    """The change's position in the log; ``None`` for a test message."""
    type: str
    body: bytes
    created_at: datetime
    status: MessageStatus
    attempts: int
    """Attempts made so far (the next one is number ``attempts + 1``)."""
    step: int
    """The place in the retry schedule of the next attempt (0: the first); a manual retry
    starts the schedule again."""
    next_attempt_at: datetime | None
    lease_owner: str | None = None
    lease_until: datetime | None = None


class Attempt(msgspec.Struct, frozen=True):
    """One try at delivering a message: what the receiver answered, or why none came."""

    id: str
    message_id: str
    endpoint_id: str
    number: int
    at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    next_attempt_at: datetime | None
    """When the message will be tried again; ``None`` if it will not be."""
    type: str = ""
    """The message's type (filled in by the listing)."""


class Outcome(msgspec.Struct, frozen=True):
    """What an attempt changes: the message's new state, and the endpoint's if it must be
    turned off (``disable``: why)."""

    status: MessageStatus
    step: int
    next_attempt_at: datetime | None
    disable: str | None = None
