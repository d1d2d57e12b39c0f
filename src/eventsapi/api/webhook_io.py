"""What the webhook routes read and write: request bodies and response documents.

Bodies are msgspec structs that refuse unknown members; the OpenAPI schemas are generated
from the same structs. No response struct has a member for a signing secret but the two
that hand a new one over, once (``CreatedWebhook``); every answer carries
``Cache-Control: no-store``.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Annotated, Any, Final

import msgspec
from msgspec import UNSET, UnsetType

from eventsapi.domain.text import ONE_LINE_PATTERN
from eventsapi.domain.webhooks import Attempt, Endpoint, MessageStatus
from eventsapi.webhooks.registry import MAX_DESCRIPTION, MAX_TYPES, TYPE_PATTERNS
from eventsapi.webhooks.ssrf import MAX_URL_LENGTH

__all__ = [
    "INPUTS",
    "MESSAGE_ID_PATTERN",
    "OUTPUTS",
    "CreatedWebhook",
    "DeliveryAttempt",
    "NewWebhook",
    "RetryQueued",
    "WebhookInfo",
    "WebhookPatch",
    "attempt_info",
    "created",
    "is_message_id",
    "webhook_info",
    "webhook_schemas",
]

Instant = Annotated[datetime, msgspec.Meta(tz=True)]
Url = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        pattern=r"^https?://[^\s\x00-\x1f\x7f]+$",
        description="Where to POST the changes: https:// on a public service; a public "
        "address (loopback, private, link-local and metadata addresses are refused unless "
        "the setting webhook_allow_private is on); no user or password in it.",
    ),
]
TypePattern = Annotated[
    str,
    msgspec.Meta(
        description="A change type, `kind.*` (every type of that kind) or `*` (every type).",
        extra_json_schema={"enum": list(TYPE_PATTERNS)},
    ),
]
Types = Annotated[list[TypePattern], msgspec.Meta(min_length=1, max_length=MAX_TYPES)]
Description = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_DESCRIPTION,
        pattern=ONE_LINE_PATTERN,
        description="What the endpoint is for: one line.",
    ),
]


def _every_type() -> list[str]:
    return ["*"]


class NewWebhook(msgspec.Struct, forbid_unknown_fields=True):
    """An endpoint to register; `types` is `["*"]` (every change) when left out."""

    url: Url
    types: Types = msgspec.field(default_factory=_every_type)
    description: Description = ""


class WebhookPatch(msgspec.Struct, forbid_unknown_fields=True):
    """A JSON Merge Patch (RFC 7396) of an endpoint: the members to change. `description`:
    `null` clears it; `enabled`: `true` turns an endpoint on again (one the service turned
    off after a 410, too)."""

    url: Url | UnsetType = UNSET
    types: Types | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    enabled: bool | UnsetType = UNSET


INPUTS: Final = (NewWebhook, WebhookPatch)


class WebhookInfo(msgspec.Struct):
    """A registered endpoint, never with its secret. `disabled_reason`: why the service
    turned it off (a 410 from the receiver). `previous_secret_until`: after a rotation, the
    old secret signs beside the new one until then."""

    id: str
    url: str
    types: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None
    previous_secret_until: Instant | None
    created_at: Instant
    updated_at: Instant


class CreatedWebhook(WebhookInfo):
    """The endpoint and its signing secret (`whsec_` + base64), shown this once: keep it
    to verify the `webhook-signature` of each message."""

    secret: str


class DeliveryAttempt(msgspec.Struct):
    """One attempt to deliver a message. `message_id`: the message's `webhook-id` (the same
    on each of its attempts). `status_code`: the receiver's answer (`null`: none came;
    `error` says why). `next_attempt_at`: when the message is tried again (`null`: it will
    not be: delivered, or failed for good)."""

    id: str
    message_id: str
    type: str
    attempt: int
    at: Instant
    status_code: int | None
    duration_ms: int
    error: str | None
    next_attempt_at: Instant | None


class RetryQueued(msgspec.Struct):
    """The message is due again now, its retry schedule started over."""

    message_id: str
    status: MessageStatus
    next_attempt_at: Instant | None


OUTPUTS: Final = (WebhookInfo, CreatedWebhook, DeliveryAttempt, RetryQueued)

MESSAGE_ID_PATTERN: Final = "^msg_[0-9A-HJKMNP-TV-Z]{26}$"
_MESSAGE_ID: Final = re.compile(MESSAGE_ID_PATTERN)


def is_message_id(value: str) -> bool:
    return _MESSAGE_ID.fullmatch(value) is not None


def webhook_info(endpoint: Endpoint, now: datetime) -> WebhookInfo:
    rotating = endpoint.previous_until
    return WebhookInfo(
        id=endpoint.id,
        url=endpoint.url,
        types=list(endpoint.types),
        description=endpoint.description,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        previous_secret_until=rotating if rotating is not None and rotating > now else None,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def created(endpoint: Endpoint, secret: str, now: datetime) -> CreatedWebhook:
    info = webhook_info(endpoint, now)
    return CreatedWebhook(**{f: getattr(info, f) for f in info.__struct_fields__}, secret=secret)


def attempt_info(attempt: Attempt) -> DeliveryAttempt:
    return DeliveryAttempt(
        id=attempt.id,
        message_id=attempt.message_id,
        type=attempt.type,
        attempt=attempt.number,
        at=attempt.at,
        status_code=attempt.status_code,
        duration_ms=attempt.duration_ms,
        error=attempt.error,
        next_attempt_at=attempt.next_attempt_at,
    )


@functools.cache
def webhook_schemas() -> dict[str, Any]:
    """The request and response schemas, from the structs."""
    _, schemas = msgspec.json.schema_components(
        (*INPUTS, *OUTPUTS), ref_template="#/components/schemas/{name}"
    )
    return schemas
