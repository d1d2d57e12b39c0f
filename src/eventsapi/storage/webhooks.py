"""The webhook tables (migration 0008) as both SQL backends read and write them.

The SQL is the same for SQLite and PostgreSQL but for the placeholder and the claim (each
backend's module has its own: PostgreSQL's ``FOR UPDATE SKIP LOCKED``), so
:func:`statements` builds it once per backend, and the rows convert alike: instants are
written as UTC ISO 8601 text (PostgreSQL casts it to ``timestamptz``), types as a JSON
array, a body as bytes.

The write rules every backend keeps (the memory backend in Python):

- ``queue_messages`` moves an endpoint's cursor by compare-and-set and queues the messages
  in the same transaction: of two workers that read the same changes, one queues them;
- a claim leases a due message to one worker until ``lease_until``; ``finish_attempt``
  records the attempt and the message's new state only while the worker still holds it,
  and an attempt's number is unique per message, so no attempt is recorded twice.
"""

# Every fragment joined into SQL here is a constant of this module; values are always bound
# parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from eventsapi.domain.query import utc_text
from eventsapi.domain.webhooks import Attempt, Endpoint, Message, MessageStatus, Outcome

__all__ = [
    "ENDPOINT_COLUMNS",
    "MESSAGE_COLUMNS",
    "Statements",
    "attempt",
    "attempt_params",
    "endpoint",
    "endpoint_params",
    "message",
    "message_params",
    "outcome_params",
    "statements",
]

ENDPOINT_COLUMNS: Final = (
    "id",
    "url",
    "types",
    "description",
    "enabled",
    "secret",
    "previous_secret",
    "previous_until",
    "created_at",
    "updated_at",
    "cursor",
    "disabled_reason",
)
MESSAGE_COLUMNS: Final = (
    "id",
    "endpoint_id",
    "position",
    "type",
    "body",
    "created_at",
    "status",
    "attempts",
    "step",
    "next_attempt_at",
    "lease_owner",
    "lease_until",
)
ATTEMPT_COLUMNS: Final = (
    "id",
    "message_id",
    "endpoint_id",
    "number",
    "at",
    "status_code",
    "duration_ms",
    "error",
    "next_attempt_at",
)
_encode = msgspec.json.Encoder().encode
_decode_types = msgspec.json.Decoder(list[str]).decode


def _columns(names: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + name for name in names)


class Statements(msgspec.Struct, frozen=True):
    insert_endpoint: str
    endpoint: str
    endpoints: str
    update_endpoint: str
    delete_endpoint: str
    advance_cursor: str
    """Parameters: the new cursor, the id, the cursor read; a row changed if it held."""
    insert_message: str
    message: str
    finish: str
    """Parameters: ``outcome_params``, the message id, the lease owner."""
    insert_attempt: str
    disable: str
    """Parameters: the reason, the time, the endpoint id."""
    attempts: str
    attempts_before: str
    retry: str
    """Parameters: the time, the message id, the endpoint id."""


def statements(p: str) -> Statements:
    """The statements with the placeholder ``p`` (``?`` or ``%s``)."""

    def marks(count: int) -> str:
        return ", ".join([p] * count)

    endpoint_columns = _columns(ENDPOINT_COLUMNS)
    mutable = ", ".join(f"{name} = {p}" for name in ENDPOINT_COLUMNS[1:])
    attempt_listing = (
        f"SELECT {_columns(ATTEMPT_COLUMNS, 'a.')}, m.type FROM webhook_attempts a "
        "JOIN webhook_messages m ON m.id = a.message_id WHERE a.endpoint_id = "
    )
    return Statements(
        insert_endpoint=f"INSERT INTO webhook_endpoints ({endpoint_columns}) "
        f"VALUES ({marks(len(ENDPOINT_COLUMNS))})",
        endpoint=f"SELECT {endpoint_columns} FROM webhook_endpoints WHERE id = {p}",
        endpoints=f"SELECT {endpoint_columns} FROM webhook_endpoints ORDER BY id",
        update_endpoint=f"UPDATE webhook_endpoints SET {mutable} WHERE id = {p}",
        delete_endpoint=f"DELETE FROM webhook_endpoints WHERE id = {p}",
        advance_cursor=f"UPDATE webhook_endpoints SET cursor = {p} WHERE id = {p} AND cursor = {p}",
        insert_message=f"INSERT INTO webhook_messages ({_columns(MESSAGE_COLUMNS)}) "
        f"VALUES ({marks(len(MESSAGE_COLUMNS))}) ON CONFLICT DO NOTHING",
        message=f"SELECT {_columns(MESSAGE_COLUMNS)} FROM webhook_messages "
        f"WHERE id = {p} AND endpoint_id = {p}",
        finish=f"UPDATE webhook_messages SET status = {p}, attempts = {p}, step = {p}, "
        f"next_attempt_at = {p}, lease_owner = NULL, lease_until = NULL "
        f"WHERE id = {p} AND lease_owner = {p}",
        insert_attempt=f"INSERT INTO webhook_attempts ({_columns(ATTEMPT_COLUMNS)}) "
        f"VALUES ({marks(len(ATTEMPT_COLUMNS))}) ON CONFLICT DO NOTHING",
        disable=f"UPDATE webhook_endpoints SET enabled = false, disabled_reason = {p}, "
        f"updated_at = {p} WHERE id = {p}",
        attempts=f"{attempt_listing}{p} ORDER BY a.id DESC LIMIT {p}",
        attempts_before=f"{attempt_listing}{p} AND a.id < {p} ORDER BY a.id DESC LIMIT {p}",
        retry=f"UPDATE webhook_messages SET status = 'pending', step = 0, next_attempt_at = {p} "
        f"WHERE id = {p} AND endpoint_id = {p}",
    )


def _text(instant: datetime | None) -> str | None:
    return None if instant is None else utc_text(instant)


def _instant(value: str | datetime | None) -> datetime | None:
    """SQLite gives the text written, PostgreSQL a ``timestamptz``: either, in UTC."""
    if value is None:
        return None
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.astimezone(UTC)


def _required_instant(value: str | datetime) -> datetime:
    instant = _instant(value)
    assert instant is not None  # noqa: S101 - a NOT NULL column
    return instant


def endpoint_params(found: Endpoint) -> tuple[Any, ...]:
    return (
        found.id,
        found.url,
        _encode(list(found.types)).decode(),
        found.description,
        found.enabled,
        found.secret,
        found.previous_secret,
        _text(found.previous_until),
        utc_text(found.created_at),
        utc_text(found.updated_at),
        found.cursor,
        found.disabled_reason,
    )


def endpoint(row: Sequence[Any]) -> Endpoint:
    return Endpoint(
        id=row[0],
        url=row[1],
        types=tuple(_decode_types(row[2])),
        description=row[3],
        enabled=bool(row[4]),
        secret=row[5],
        previous_secret=row[6],
        previous_until=_instant(row[7]),
        created_at=_required_instant(row[8]),
        updated_at=_required_instant(row[9]),
        cursor=int(row[10]),
        disabled_reason=row[11],
    )


def message_params(queued: Message) -> tuple[Any, ...]:
    return (
        queued.id,
        queued.endpoint_id,
        queued.position,
        queued.type,
        queued.body,
        utc_text(queued.created_at),
        queued.status,
        queued.attempts,
        queued.step,
        _text(queued.next_attempt_at),
        queued.lease_owner,
        _text(queued.lease_until),
    )


def message(row: Sequence[Any]) -> Message:
    status: MessageStatus = row[6]
    return Message(
        id=row[0],
        endpoint_id=row[1],
        position=row[2],
        type=row[3],
        body=bytes(row[4]),
        created_at=_required_instant(row[5]),
        status=status,
        attempts=int(row[7]),
        step=int(row[8]),
        next_attempt_at=_instant(row[9]),
        lease_owner=row[10],
        lease_until=_instant(row[11]),
    )


def attempt_params(made: Attempt) -> tuple[Any, ...]:
    return (
        made.id,
        made.message_id,
        made.endpoint_id,
        made.number,
        utc_text(made.at),
        made.status_code,
        made.duration_ms,
        made.error,
        _text(made.next_attempt_at),
    )


def attempt(row: Sequence[Any]) -> Attempt:
    return Attempt(
        id=row[0],
        message_id=row[1],
        endpoint_id=row[2],
        number=int(row[3]),
        at=_required_instant(row[4]),
        status_code=row[5],
        duration_ms=int(row[6]),
        error=row[7],
        next_attempt_at=_instant(row[8]),
        type=row[9] if len(row) > 9 else "",
    )


def outcome_params(outcome: Outcome, attempts: int) -> tuple[Any, ...]:
    return (outcome.status, attempts, outcome.step, _text(outcome.next_attempt_at))
