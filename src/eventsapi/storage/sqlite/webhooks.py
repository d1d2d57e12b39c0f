"""The webhook part of the SQLite backend: endpoints, the outbox of messages, attempts.

A mixin of ``SQLiteStore``. Every write is a job of the writer thread, in a
``BEGIN IMMEDIATE`` transaction that every other process on the file waits for: a claim
reads the due messages and leases them in one job, so two workers (processes) never lease
one message at once, and a cursor's compare-and-set cannot interleave. Each job raises, if
it does, before it changes anything (``writer.Job``'s rule).
"""

# The one fragment joined into SQL here is the column list, a constant of storage/webhooks.py;
# values are always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final

from eventsapi.domain.query import utc_text
from eventsapi.domain.webhooks import Attempt, Endpoint, Message, Outcome
from eventsapi.errors import NotFound
from eventsapi.storage import webhooks as tables
from eventsapi.storage.sqlite.connection import Connections

_SQL: Final = tables.statements("?")
_DUE: Final = (
    f"SELECT {', '.join('m.' + c for c in tables.MESSAGE_COLUMNS)}, "
    f"{', '.join('e.' + c for c in tables.ENDPOINT_COLUMNS)} "
    "FROM webhook_messages m JOIN webhook_endpoints e ON e.id = m.endpoint_id "
    "WHERE m.status = 'pending' AND m.next_attempt_at <= ? "
    "AND (m.lease_until IS NULL OR m.lease_until < ?) AND e.enabled "
    "ORDER BY m.next_attempt_at, m.id LIMIT ?"
)
_LEASE: Final = "UPDATE webhook_messages SET lease_owner = ?, lease_until = ? WHERE id = ?"
_MESSAGE_WIDTH: Final = len(tables.MESSAGE_COLUMNS)


def _update(
    endpoint_id: str, change: Callable[[Endpoint], Endpoint]
) -> Callable[[sqlite3.Connection], Endpoint]:
    def work(conn: sqlite3.Connection) -> Endpoint:
        row = conn.execute(_SQL.endpoint, (endpoint_id,)).fetchone()
        if row is None:
            raise NotFound(f"No webhook with id {endpoint_id!r}.")
        current = tables.endpoint(row)
        changed = change(current)
        params = tables.endpoint_params(changed)
        # The cursor is the outbox's: a change of settings must not move it.
        conn.execute(_SQL.update_endpoint, (*params[1:10], current.cursor, params[11], endpoint_id))
        return tables.endpoint(conn.execute(_SQL.endpoint, (endpoint_id,)).fetchone())

    return work


def _queue(
    endpoint_id: str, after: int, through: int, messages: Sequence[Message]
) -> Callable[[sqlite3.Connection], bool]:
    def work(conn: sqlite3.Connection) -> bool:
        if conn.execute(_SQL.advance_cursor, (through, endpoint_id, after)).rowcount == 0:
            return False
        conn.executemany(_SQL.insert_message, [tables.message_params(m) for m in messages])
        return True

    return work


def _claim(
    now: datetime, owner: str, lease_until: datetime, limit: int
) -> Callable[[sqlite3.Connection], list[tuple[Message, Endpoint]]]:
    def work(conn: sqlite3.Connection) -> list[tuple[Message, Endpoint]]:
        moment = utc_text(now)
        rows = conn.execute(_DUE, (moment, moment, limit)).fetchall()
        until = utc_text(lease_until)
        conn.executemany(_LEASE, [(owner, until, row[0]) for row in rows])
        claimed = []
        for row in rows:
            leased = tables.message((*row[: _MESSAGE_WIDTH - 2], owner, until))
            claimed.append((leased, tables.endpoint(row[_MESSAGE_WIDTH:])))
        return claimed

    return work


def _finish(attempt: Attempt, outcome: Outcome, owner: str) -> Callable[[sqlite3.Connection], bool]:
    def work(conn: sqlite3.Connection) -> bool:
        conn.execute(_SQL.insert_attempt, tables.attempt_params(attempt))
        params = (*tables.outcome_params(outcome, attempt.number), attempt.message_id, owner)
        held = conn.execute(_SQL.finish, params).rowcount > 0
        if held and outcome.disable is not None:
            conn.execute(_SQL.disable, (outcome.disable, utc_text(attempt.at), attempt.endpoint_id))
        return held

    return work


class SQLiteWebhooks(Connections):
    """Webhook methods of the SQLite store."""

    async def create_webhook(self, endpoint: Endpoint) -> None:
        params = tables.endpoint_params(endpoint)
        await self._write(lambda conn: conn.execute(_SQL.insert_endpoint, params))

    async def webhook(self, endpoint_id: str) -> Endpoint | None:
        row = self._read().execute(_SQL.endpoint, (endpoint_id,)).fetchone()
        return None if row is None else tables.endpoint(row)

    async def webhooks(self) -> list[Endpoint]:
        return [tables.endpoint(row) for row in self._read().execute(_SQL.endpoints)]

    async def update_webhook(
        self, endpoint_id: str, change: Callable[[Endpoint], Endpoint]
    ) -> Endpoint:
        return await self._write(_update(endpoint_id, change))

    async def delete_webhook(self, endpoint_id: str) -> bool:
        return await self._write(
            lambda conn: conn.execute(_SQL.delete_endpoint, (endpoint_id,)).rowcount > 0
        )

    async def queue_messages(
        self, endpoint_id: str, after: int, through: int, messages: Sequence[Message]
    ) -> bool:
        return await self._write(_queue(endpoint_id, after, through, messages))

    async def add_message(self, message: Message) -> None:
        params = tables.message_params(message)
        await self._write(lambda conn: conn.execute(_SQL.insert_message, params))

    async def claim_messages(
        self, now: datetime, *, owner: str, lease_until: datetime, limit: int
    ) -> list[tuple[Message, Endpoint]]:
        # Workers poll: look first on the read connection, so that an idle service does not
        # take the write lock twice a second per worker for nothing.
        moment = utc_text(now)
        if self._read().execute(_DUE, (moment, moment, 1)).fetchone() is None:
            return []
        return await self._write(_claim(now, owner, lease_until, limit))

    async def finish_attempt(self, attempt: Attempt, outcome: Outcome, *, owner: str) -> bool:
        return await self._write(_finish(attempt, outcome, owner))

    async def webhook_message(self, endpoint_id: str, message_id: str) -> Message | None:
        row = self._read().execute(_SQL.message, (message_id, endpoint_id)).fetchone()
        return None if row is None else tables.message(row)

    async def retry_message(self, endpoint_id: str, message_id: str, now: datetime) -> bool:
        params = (utc_text(now), message_id, endpoint_id)
        return await self._write(lambda conn: conn.execute(_SQL.retry, params).rowcount > 0)

    async def webhook_attempts(
        self, endpoint_id: str, *, before: str | None, limit: int
    ) -> list[Attempt]:
        if before is None:
            rows = self._read().execute(_SQL.attempts, (endpoint_id, limit))
        else:
            rows = self._read().execute(_SQL.attempts_before, (endpoint_id, before, limit))
        return [tables.attempt(row) for row in rows]
