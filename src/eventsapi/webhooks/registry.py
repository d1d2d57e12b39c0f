"""The registry of webhook endpoints: every rule of their input, for the API and the CLI.

An endpoint has a URL (the SSRF guard's rules, ``ssrf.py``), the change types it wants
(``event.created``..., ``event.*`` or ``*``: anything else is refused, so a typo cannot
subscribe to nothing), a description, and a signing secret that is returned once, when it
is made (at creation and at rotation), and never again. A new endpoint gets the changes
made after it was registered.

Rotation keeps the old secret signing beside the new one for ``ROTATION_OVERLAP``, so a
receiver can switch secrets without losing a message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Final

import msgspec
from msgspec import UNSET, UnsetType

from eventsapi.clock import Clock
from eventsapi.domain.changes import CHANGE_TYPES
from eventsapi.domain.ids import new_ulid
from eventsapi.domain.text import CONTROL, LINE_BREAKS
from eventsapi.domain.webhooks import TEST_TYPE, Attempt, Endpoint, Message
from eventsapi.errors import FieldError, NotFound, ValidationFailed
from eventsapi.webhooks.delivery import LEASE, Deliveries
from eventsapi.webhooks.payload import test_body
from eventsapi.webhooks.signing import new_secret
from eventsapi.webhooks.ssrf import UnsafeURL, UrlPolicy, check_url, vet
from eventsapi.webhooks.store import WebhookStore
from eventsapi.webhooks.worker import new_message_id

__all__ = [
    "MAX_DESCRIPTION",
    "MAX_TYPES",
    "ROTATION_OVERLAP",
    "TYPE_PATTERNS",
    "Registry",
    "check_description",
    "check_types",
]

ROTATION_OVERLAP: Final = timedelta(hours=24)
MAX_TYPES: Final = 32
MAX_DESCRIPTION: Final = 500
KINDS: Final = tuple(dict.fromkeys(change_type.partition(".")[0] for change_type in CHANGE_TYPES))
TYPE_PATTERNS: Final = ("*", *(f"{kind}.*" for kind in KINDS), *CHANGE_TYPES)
"""Every value ``types`` may hold."""
_SUBJECT: Final = "webhook"
_NOT_ONE_LINE: Final = re.compile(f"[{CONTROL}{LINE_BREAKS}]")


def check_types(types: Sequence[str]) -> tuple[str, ...]:
    """``types`` without repeats, each one a change type, ``kind.*`` or ``*``."""
    if not types:
        raise ValidationFailed([FieldError("types", "name at least one type")], subject=_SUBJECT)
    errors = [
        FieldError(f"types.{index}", f"unknown type; one of {', '.join(TYPE_PATTERNS)}")
        for index, value in enumerate(types)
        if value not in TYPE_PATTERNS
    ]
    if errors:
        raise ValidationFailed(errors, subject=_SUBJECT)
    return tuple(dict.fromkeys(types))


def check_description(description: str) -> str:
    """One line of text, at most ``MAX_DESCRIPTION`` characters."""
    if len(description) > MAX_DESCRIPTION or _NOT_ONE_LINE.search(description):
        raise ValidationFailed(
            [FieldError("description", f"one line of at most {MAX_DESCRIPTION} characters")],
            subject=_SUBJECT,
        )
    return description


def _unsafe(exc: UnsafeURL) -> ValidationFailed:
    return ValidationFailed([FieldError("url", str(exc))], subject=_SUBJECT)


class Registry:
    """Endpoints: register, read, change, rotate, test, and their deliveries."""

    def __init__(
        self, store: WebhookStore, clock: Clock, deliveries: Deliveries, policy: UrlPolicy
    ) -> None:
        self.store = store
        self.clock = clock
        self.deliveries = deliveries
        self.policy = policy
        self.changed: Callable[[], None] = _nobody_listens
        """Called after an endpoint was created or changed, or a message retried (the
        worker's ``listen``: a worker with no enabled endpoint skips the writes' wake-ups)."""

    async def _checked_url(self, url: str) -> str:
        try:
            parsed = check_url(url, self.policy)
            await vet(parsed, self.policy, self.deliveries.sender.resolver)
        except UnsafeURL as exc:
            raise _unsafe(exc) from None
        return url

    async def create(
        self, url: str, types: Sequence[str], description: str = ""
    ) -> tuple[Endpoint, str]:
        """A new endpoint and its secret (to show once)."""
        checked_types = check_types(types)
        check_description(description)
        checked_url = await self._checked_url(url)
        # Not change_horizon's last: on PostgreSQL a change committed just before may still
        # wait for its number, and would then be sent to an endpoint made after it.
        last = await self.store.settled_position()
        now = self.clock()
        secret = new_secret()
        endpoint = Endpoint(
            id=new_ulid(now),
            url=checked_url,
            types=checked_types,
            description=description,
            enabled=True,
            secret=secret,
            previous_secret=None,
            previous_until=None,
            created_at=now,
            updated_at=now,
            cursor=last,
            disabled_reason=None,
        )
        await self.store.create_webhook(endpoint)
        self.changed()
        return endpoint, secret

    async def endpoints(self) -> list[Endpoint]:
        return await self.store.webhooks()

    async def endpoint(self, endpoint_id: str) -> Endpoint:
        found = await self.store.webhook(endpoint_id)
        if found is None:
            raise NotFound(f"No webhook with id {endpoint_id!r}.")
        return found

    async def update(
        self,
        endpoint_id: str,
        *,
        url: str | UnsetType = UNSET,
        types: Sequence[str] | UnsetType = UNSET,
        description: str | UnsetType = UNSET,
        enabled: bool | UnsetType = UNSET,
    ) -> Endpoint:
        """Change what is given; turning an endpoint on again forgets why it was off."""
        checked_types = UNSET if isinstance(types, UnsetType) else check_types(types)
        if not isinstance(description, UnsetType):
            check_description(description)
        checked_url = UNSET if isinstance(url, UnsetType) else await self._checked_url(url)
        now = self.clock()

        def change(current: Endpoint) -> Endpoint:
            changed = msgspec.structs.replace(current, updated_at=now)
            if not isinstance(checked_url, UnsetType):
                changed = msgspec.structs.replace(changed, url=checked_url)
            if not isinstance(checked_types, UnsetType):
                changed = msgspec.structs.replace(changed, types=checked_types)
            if not isinstance(description, UnsetType):
                changed = msgspec.structs.replace(changed, description=description)
            if not isinstance(enabled, UnsetType):
                reason = None if enabled else current.disabled_reason
                changed = msgspec.structs.replace(changed, enabled=enabled, disabled_reason=reason)
            return changed

        updated = await self.store.update_webhook(endpoint_id, change)
        self.changed()
        return updated

    async def delete(self, endpoint_id: str) -> None:
        if not await self.store.delete_webhook(endpoint_id):
            raise NotFound(f"No webhook with id {endpoint_id!r}.")

    async def rotate(self, endpoint_id: str) -> tuple[Endpoint, str]:
        """A new secret (to show once); the one it replaces signs too for 24 hours."""
        secret = new_secret()
        now = self.clock()

        def change(current: Endpoint) -> Endpoint:
            return msgspec.structs.replace(
                current,
                secret=secret,
                previous_secret=current.secret,
                previous_until=now + ROTATION_OVERLAP,
                updated_at=now,
            )

        return await self.store.update_webhook(endpoint_id, change), secret

    async def test(self, endpoint_id: str) -> Attempt:
        """Send a ``webhook.test`` message now (once, not retried): the attempt."""
        endpoint = await self.endpoint(endpoint_id)
        now = self.clock()
        owner = f"test:{endpoint_id}:{now.timestamp()}"
        message = Message(
            id=new_message_id(self.clock),
            endpoint_id=endpoint_id,
            position=None,
            type=TEST_TYPE,
            body=test_body(endpoint_id, now),
            created_at=now,
            status="pending",
            attempts=0,
            step=0,
            next_attempt_at=None,
            lease_owner=owner,
            lease_until=now + LEASE,
        )
        await self.store.add_message(message)
        attempt, _ = await self.deliveries.attempt(message, endpoint, owner=owner, retry=False)
        return attempt

    async def attempts(self, endpoint_id: str, *, before: str | None, limit: int) -> list[Attempt]:
        await self.endpoint(endpoint_id)
        return await self.store.webhook_attempts(endpoint_id, before=before, limit=limit)

    async def retry(self, endpoint_id: str, message_id: str) -> Message:
        """Send the message again at once, the schedule started over."""
        if not await self.store.retry_message(endpoint_id, message_id, self.clock()):
            raise NotFound(f"The webhook {endpoint_id!r} has no message {message_id!r}.")
        found = await self.store.webhook_message(endpoint_id, message_id)
        if found is None:  # deleted meanwhile
            raise NotFound(f"The webhook {endpoint_id!r} has no message {message_id!r}.")
        self.changed()
        return found


def _nobody_listens() -> None:
    """The hook while no worker listens (tests that drive the worker themselves)."""
