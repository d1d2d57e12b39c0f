"""What webhooks need of a store: endpoints, their outbox of messages, attempts, and the
change log they are fed from.

``webhooks/`` owns this protocol; every backend (``storage/*/webhooks.py`` and the change
log of ``storage/*/changes.py``) satisfies it, which mypy checks where ``tests/contract``
assigns each backend to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from eventsapi.domain.changes import ChangeRecord
from eventsapi.domain.webhooks import Attempt, Endpoint, Message, Outcome

__all__ = ["WebhookStore"]


class WebhookStore(Protocol):
    """Endpoints, messages and attempts; all coroutines."""

    async def create_webhook(self, endpoint: Endpoint) -> None:
        """Store a new endpoint."""

    async def webhook(self, endpoint_id: str) -> Endpoint | None:
        """The endpoint with this id, or ``None``."""

    async def webhooks(self) -> list[Endpoint]:
        """Every endpoint, by id (so by creation time)."""

    async def update_webhook(
        self, endpoint_id: str, change: Callable[[Endpoint], Endpoint]
    ) -> Endpoint:
        """Replace the endpoint by ``change(current)`` in one transaction (``NotFound`` if
        there is none); ``change`` may raise, and then nothing changes. The cursor is
        not changed by it (``queue_messages`` moves it)."""

    async def delete_webhook(self, endpoint_id: str) -> bool:
        """Remove the endpoint with its messages and attempts; whether there was one."""

    async def queue_messages(
        self, endpoint_id: str, after: int, through: int, messages: Sequence[Message]
    ) -> bool:
        """Move the endpoint's cursor from ``after`` to ``through`` and queue ``messages``,
        in one transaction; nothing if the cursor is no longer ``after`` (another worker
        queued them): then ``False``."""

    async def add_message(self, message: Message) -> None:
        """Store a message as it is (a test message, leased to its sender)."""

    async def claim_messages(
        self, now: datetime, *, owner: str, lease_until: datetime, limit: int
    ) -> list[tuple[Message, Endpoint]]:
        """Lease up to ``limit`` pending messages due at ``now`` of enabled endpoints, whose
        lease (if any) has run out, to ``owner`` until ``lease_until``; each with its
        endpoint. No message is leased to two owners at once."""

    async def finish_attempt(self, attempt: Attempt, outcome: Outcome, *, owner: str) -> bool:
        """Record ``attempt`` and give its message ``outcome`` (and release it), if
        ``owner`` still holds its lease; turn the endpoint off if ``outcome.disable``.
        Whether the lease was still held."""

    async def webhook_message(self, endpoint_id: str, message_id: str) -> Message | None:
        """The endpoint's message with this id, or ``None``."""

    async def retry_message(self, endpoint_id: str, message_id: str, now: datetime) -> bool:
        """Make the message due at ``now``, with the retry schedule started again; whether
        the endpoint has it."""

    async def webhook_attempts(
        self, endpoint_id: str, *, before: str | None, limit: int
    ) -> list[Attempt]:
        """The endpoint's attempts, newest first (by id), with ids below ``before``."""

    async def changes_after(self, position: int, limit: int) -> list[ChangeRecord]:
        """Change-log records after ``position``, ascending, at most ``limit``."""

    async def change_horizon(self) -> tuple[int, int]:
        """``(pruned_through, last)`` of the change log."""

    async def settled_position(self) -> int:
        """The greatest position once every record committed before the call has one."""
