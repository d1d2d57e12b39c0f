"""Idempotency keys in SQLite: the claim rule of ``storage/idempotency.py`` on a connection.

``claim`` and ``save`` run inside a write job, under the write lock: a key looked up there
cannot be saved meanwhile by another process on the file.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Final

from eventsapi.domain.query import utc_text
from eventsapi.storage import idempotency
from eventsapi.storage.idempotency import IdempotencyKey, SavedKey
from eventsapi.storage.sqlite.connection import Connections

_SQL: Final = idempotency.statements("?")


def saved_key(conn: sqlite3.Connection, scope: str, key: str, now: datetime) -> SavedKey | None:
    return idempotency.saved_key(conn.execute(_SQL.saved, (scope, key, utc_text(now))).fetchone())


def claim(conn: sqlite3.Connection, once: IdempotencyKey | None) -> None:
    """Raise ``Replay`` (or ``IdempotencyKeyReused``) if ``once`` was used already."""
    if once is None:
        return
    idempotency.claimed(saved_key(conn, once.scope, once.key, once.now), once)
    # An expired key is forgotten now, so that it can be saved again.
    conn.execute(_SQL.forget, (once.scope, once.key))


def save(conn: sqlite3.Connection, once: IdempotencyKey | None, document: bytes) -> None:
    """Save ``document`` under ``once``; after the write's change (see ``writer.Job``)."""
    if once is None:
        return
    conn.execute(
        _SQL.save,
        idempotency.save_params(once, document, utc_text(once.now), utc_text(once.expires_at)),
    )


class SQLiteKeys(Connections):
    """The idempotency-key methods of the SQLite store."""

    async def saved_key(self, scope: str, key: str, now: datetime) -> SavedKey | None:
        return saved_key(self._read(), scope, key, now)

    async def prune_keys(self, now: datetime) -> int:
        text = utc_text(now)
        return await self._write(lambda conn: int(conn.execute(_SQL.prune, (text,)).rowcount))
