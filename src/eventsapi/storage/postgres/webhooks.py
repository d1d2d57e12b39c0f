"""The webhook part of the PostgreSQL backend: endpoints, the outbox of messages, attempts.

A mixin of ``PostgresStore``. Replicas share the outbox: a claim leases due messages with
``FOR UPDATE SKIP LOCKED`` (a row another replica is leasing is skipped, not waited for, and
a leased one is not due until its lease runs out), so no two workers hold one message at
once; an endpoint's cursor moves by compare-and-set (``UPDATE ... WHERE cursor = %s``: the
second replica waits for the first's row lock, then finds the cursor moved and queues
nothing).
"""

# The one fragment joined into SQL here is the column list, a constant of storage/webhooks.py;
# values are always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from eventsapi.domain.query import utc_text
from eventsapi.domain.webhooks import Attempt, Endpoint, Message, Outcome
from eventsapi.errors import NotFound
from eventsapi.storage import webhooks as tables
from eventsapi.storage.postgres.connection import Connection, Connections

_SQL: Final = tables.statements("%s")
_FOR_UPDATE: Final = _SQL.endpoint + " FOR UPDATE"
_CLAIM: Final = (
    "UPDATE webhook_messages SET lease_owner = %s, lease_until = %s WHERE id IN ("
    "SELECT m.id FROM webhook_messages m JOIN webhook_endpoints e ON e.id = m.endpoint_id "
    "WHERE m.status = 'pending' AND m.next_attempt_at <= %s "
    "AND (m.lease_until IS NULL OR m.lease_until < %s) AND e.enabled "
    "ORDER BY m.next_attempt_at, m.id LIMIT %s FOR UPDATE OF m SKIP LOCKED) "
    f"RETURNING {', '.join(tables.MESSAGE_COLUMNS)}"
)


async def _rows(conn: Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    return await (await conn.execute(sql, params)).fetchall()


class PostgresWebhooks(Connections):
    """Webhook methods of the PostgreSQL store."""

    async def _read_rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        async def work(conn: Connection) -> list[tuple[Any, ...]]:
            return await _rows(conn, sql, params)

        return await self._read(work)

    async def _changed(self, sql: str, params: tuple[Any, ...]) -> int:
        async def work(conn: Connection) -> int:
            return (await conn.execute(sql, params)).rowcount

        return await self._write(work)

    async def create_webhook(self, endpoint: Endpoint) -> None:
        await self._changed(_SQL.insert_endpoint, tables.endpoint_params(endpoint))

    async def webhook(self, endpoint_id: str) -> Endpoint | None:
        rows = await self._read_rows(_SQL.endpoint, (endpoint_id,))
        return tables.endpoint(rows[0]) if rows else None

    async def webhooks(self) -> list[Endpoint]:
        return [tables.endpoint(row) for row in await self._read_rows(_SQL.endpoints)]

    async def update_webhook(
        self, endpoint_id: str, change: Callable[[Endpoint], Endpoint]
    ) -> Endpoint:
        async def work(conn: Connection) -> Endpoint:
            rows = await _rows(conn, _FOR_UPDATE, (endpoint_id,))
            if not rows:
                raise NotFound(f"No webhook with id {endpoint_id!r}.")
            current = tables.endpoint(rows[0])
            params = tables.endpoint_params(change(current))
            # The cursor is the outbox's: a change of settings must not move it.
            update = (*params[1:10], current.cursor, params[11], endpoint_id)
            await conn.execute(_SQL.update_endpoint, update)
            return tables.endpoint((await _rows(conn, _SQL.endpoint, (endpoint_id,)))[0])

        return await self._write(work)

    async def delete_webhook(self, endpoint_id: str) -> bool:
        return await self._changed(_SQL.delete_endpoint, (endpoint_id,)) > 0

    async def queue_messages(
        self, endpoint_id: str, after: int, through: int, messages: Sequence[Message]
    ) -> bool:
        async def work(conn: Connection) -> bool:
            moved = await conn.execute(_SQL.advance_cursor, (through, endpoint_id, after))
            if moved.rowcount == 0:
                return False
            if messages:
                async with conn.cursor() as cursor:
                    await cursor.executemany(
                        _SQL.insert_message, [tables.message_params(m) for m in messages]
                    )
            return True

        return await self._write(work)

    async def add_message(self, message: Message) -> None:
        await self._changed(_SQL.insert_message, tables.message_params(message))

    async def claim_messages(
        self, now: datetime, *, owner: str, lease_until: datetime, limit: int
    ) -> list[tuple[Message, Endpoint]]:
        async def work(conn: Connection) -> list[tuple[Message, Endpoint]]:
            moment = utc_text(now)
            params = (owner, utc_text(lease_until), moment, moment, limit)
            leased = [tables.message(row) for row in await _rows(conn, _CLAIM, params)]
            endpoints: dict[str, Endpoint] = {}
            for found in leased:
                if found.endpoint_id not in endpoints:
                    rows = await _rows(conn, _SQL.endpoint, (found.endpoint_id,))
                    endpoints[found.endpoint_id] = tables.endpoint(rows[0])
            ordered = sorted(leased, key=lambda m: (m.next_attempt_at or now, m.id))
            return [(found, endpoints[found.endpoint_id]) for found in ordered]

        return await self._write(work)

    async def finish_attempt(self, attempt: Attempt, outcome: Outcome, *, owner: str) -> bool:
        async def work(conn: Connection) -> bool:
            await conn.execute(_SQL.insert_attempt, tables.attempt_params(attempt))
            params = (*tables.outcome_params(outcome, attempt.number), attempt.message_id, owner)
            held = (await conn.execute(_SQL.finish, params)).rowcount > 0
            if held and outcome.disable is not None:
                disable = (outcome.disable, utc_text(attempt.at), attempt.endpoint_id)
                await conn.execute(_SQL.disable, disable)
            return held

        return await self._write(work)

    async def webhook_message(self, endpoint_id: str, message_id: str) -> Message | None:
        rows = await self._read_rows(_SQL.message, (message_id, endpoint_id))
        return tables.message(rows[0]) if rows else None

    async def retry_message(self, endpoint_id: str, message_id: str, now: datetime) -> bool:
        return await self._changed(_SQL.retry, (utc_text(now), message_id, endpoint_id)) > 0

    async def webhook_attempts(
        self, endpoint_id: str, *, before: str | None, limit: int
    ) -> list[Attempt]:
        if before is None:
            rows = await self._read_rows(_SQL.attempts, (endpoint_id, limit))
        else:
            rows = await self._read_rows(_SQL.attempts_before, (endpoint_id, before, limit))
        return [tables.attempt(row) for row in rows]
