"""Idempotency keys in PostgreSQL: the claim rule of ``storage/idempotency.py`` in a transaction.

A key is looked up under a transaction-scoped advisory lock on the key, so two replicas given
the same new key one after the other: the second waits for the first to commit or roll back,
then finds what it saved and replays it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from eventsapi.storage import idempotency
from eventsapi.storage.idempotency import IdempotencyKey, SavedKey
from eventsapi.storage.postgres.connection import Connection, Connections, lock_key

_SQL: Final = idempotency.statements("%s")


async def saved_key(conn: Connection, scope: str, key: str, now: datetime) -> SavedKey | None:
    cursor = await conn.execute(_SQL.saved, (scope, key, now), binary=True)
    return idempotency.saved_key(await cursor.fetchone())


async def claim(conn: Connection, schema: str, once: IdempotencyKey | None) -> None:
    """Raise ``Replay`` (or ``IdempotencyKeyReused``) if ``once`` was used already.

    The advisory lock, held until the transaction ends, makes a second request with the
    same key (on any replica) wait for the first to commit or roll back, and then find its
    saved document.
    """
    if once is None:
        return
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
        (lock_key("idempotency", schema, once.scope, once.key),),
    )
    idempotency.claimed(await saved_key(conn, once.scope, once.key, once.now), once)
    # An expired key is forgotten now, so that it can be saved again.
    await conn.execute(_SQL.forget, (once.scope, once.key))


async def save(conn: Connection, once: IdempotencyKey | None, document: bytes) -> None:
    if once is not None:
        await conn.execute(
            _SQL.save, idempotency.save_params(once, document, once.now, once.expires_at)
        )


class PostgresKeys(Connections):
    """The idempotency-key methods of the PostgreSQL store."""

    async def saved_key(self, scope: str, key: str, now: datetime) -> SavedKey | None:
        async def work(conn: Connection) -> SavedKey | None:
            return await saved_key(conn, scope, key, now)

        return await self._read(work)

    async def prune_keys(self, now: datetime) -> int:
        async def work(conn: Connection) -> int:
            return (await conn.execute(_SQL.prune, (now,))).rowcount

        return await self._write(work)
