"""The webhook part of the memory backend: endpoints, messages and attempts in dicts.

A mixin of ``MemoryStore``. As there, no method awaits, so each is atomic on the event loop:
a claim and a cursor's compare-and-set need no lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import msgspec

from eventsapi.domain.webhooks import Attempt, Endpoint, Message, Outcome
from eventsapi.errors import AlreadyExists, NotFound


class MemoryWebhooks:
    """Webhook endpoints, their messages (the outbox) and attempts."""

    def __init__(self) -> None:
        super().__init__()
        self._endpoints: dict[str, Endpoint] = {}
        self._messages: dict[str, Message] = {}
        self._queued: set[tuple[str, int]] = set()  # (endpoint, position) of queued changes
        self._attempts: dict[str, Attempt] = {}
        self._attempt_numbers: set[tuple[str, int]] = set()

    async def create_webhook(self, endpoint: Endpoint) -> None:
        if endpoint.id in self._endpoints:
            raise AlreadyExists(f"A webhook with id {endpoint.id!r} exists.")
        self._endpoints[endpoint.id] = endpoint

    async def webhook(self, endpoint_id: str) -> Endpoint | None:
        return self._endpoints.get(endpoint_id)

    async def webhooks(self) -> list[Endpoint]:
        return [self._endpoints[key] for key in sorted(self._endpoints)]

    async def update_webhook(
        self, endpoint_id: str, change: Callable[[Endpoint], Endpoint]
    ) -> Endpoint:
        current = self._endpoints.get(endpoint_id)
        if current is None:
            raise NotFound(f"No webhook with id {endpoint_id!r}.")
        changed = msgspec.structs.replace(change(current), id=endpoint_id, cursor=current.cursor)
        self._endpoints[endpoint_id] = changed
        return changed

    async def delete_webhook(self, endpoint_id: str) -> bool:
        if self._endpoints.pop(endpoint_id, None) is None:
            return False
        for message_id in [m.id for m in self._messages.values() if m.endpoint_id == endpoint_id]:
            gone = self._messages.pop(message_id)
            if gone.position is not None:
                self._queued.discard((endpoint_id, gone.position))
        for attempt_id in [a.id for a in self._attempts.values() if a.endpoint_id == endpoint_id]:
            gone_attempt = self._attempts.pop(attempt_id)
            self._attempt_numbers.discard((gone_attempt.message_id, gone_attempt.number))
        return True

    async def queue_messages(
        self, endpoint_id: str, after: int, through: int, messages: Sequence[Message]
    ) -> bool:
        current = self._endpoints.get(endpoint_id)
        if current is None or current.cursor != after:
            return False
        self._endpoints[endpoint_id] = msgspec.structs.replace(current, cursor=through)
        for queued in messages:
            await self.add_message(queued)
        return True

    async def add_message(self, message: Message) -> None:
        if message.position is not None:
            key = (message.endpoint_id, message.position)
            if key in self._queued:
                return
            self._queued.add(key)
        self._messages.setdefault(message.id, message)

    async def claim_messages(
        self, now: datetime, *, owner: str, lease_until: datetime, limit: int
    ) -> list[tuple[Message, Endpoint]]:
        due = sorted(
            (
                m
                for m in self._messages.values()
                if m.status == "pending"
                and m.next_attempt_at is not None
                and m.next_attempt_at <= now
                and (m.lease_until is None or m.lease_until < now)
                and self._endpoints[m.endpoint_id].enabled
            ),
            key=lambda m: (m.next_attempt_at, m.id),
        )[:limit]
        claimed = []
        for found in due:
            leased = msgspec.structs.replace(found, lease_owner=owner, lease_until=lease_until)
            self._messages[found.id] = leased
            claimed.append((leased, self._endpoints[found.endpoint_id]))
        return claimed

    async def finish_attempt(self, attempt: Attempt, outcome: Outcome, *, owner: str) -> bool:
        if (attempt.message_id, attempt.number) not in self._attempt_numbers:
            self._attempt_numbers.add((attempt.message_id, attempt.number))
            self._attempts[attempt.id] = attempt
        current = self._messages.get(attempt.message_id)
        if current is None or current.lease_owner != owner:
            return False
        self._messages[current.id] = msgspec.structs.replace(
            current,
            status=outcome.status,
            attempts=attempt.number,
            step=outcome.step,
            next_attempt_at=outcome.next_attempt_at,
            lease_owner=None,
            lease_until=None,
        )
        endpoint = self._endpoints.get(attempt.endpoint_id)
        if outcome.disable is not None and endpoint is not None:
            self._endpoints[endpoint.id] = msgspec.structs.replace(
                endpoint, enabled=False, disabled_reason=outcome.disable, updated_at=attempt.at
            )
        return True

    async def webhook_message(self, endpoint_id: str, message_id: str) -> Message | None:
        found = self._messages.get(message_id)
        return found if found is not None and found.endpoint_id == endpoint_id else None

    async def retry_message(self, endpoint_id: str, message_id: str, now: datetime) -> bool:
        found = await self.webhook_message(endpoint_id, message_id)
        if found is None:
            return False
        self._messages[message_id] = msgspec.structs.replace(
            found, status="pending", step=0, next_attempt_at=now
        )
        return True

    async def webhook_attempts(
        self, endpoint_id: str, *, before: str | None, limit: int
    ) -> list[Attempt]:
        found = sorted(
            (
                a
                for a in self._attempts.values()
                if a.endpoint_id == endpoint_id and (before is None or a.id < before)
            ),
            key=lambda a: a.id,
            reverse=True,
        )[:limit]
        return [
            msgspec.structs.replace(
                a, type=m.type if (m := self._messages.get(a.message_id)) else ""
            )
            for a in found
        ]
