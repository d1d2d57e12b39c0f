"""Notifications of changes: a ``LISTEN`` connection that hears every replica's commits.

Each write that appends to the change log sends ``pg_notify`` on ``CHANNEL`` in its
transaction (``changes.py``); PostgreSQL delivers it at commit to every session listening,
whichever replica or worker made it. A notification says only "read the log now": the log
stays the truth, and one lost while the connection was down is made up for by the reader
(it reads once when listening again, and polls meanwhile).

The connection is its own, outside the pool: it waits on the server for as long as the
process lives. TCP keepalives make a connection whose server vanished (a host down, a
network cut: no FIN ever comes) fail within about half a minute instead of hanging.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import psycopg

from eventsapi.storage.postgres.changes import CHANNEL
from eventsapi.storage.postgres.connection import UNAVAILABLE, unavailable


class PostgresNotices:
    """The change notifications of the PostgreSQL store."""

    url: str
    pool_timeout: float

    async def listen_for_changes(
        self, wake: Callable[[], None], listening: Callable[[], None]
    ) -> None:
        """Call ``listening()`` once listening, then ``wake()`` at each notification, until
        the connection fails (``StorageUnavailable``)."""
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.url,
                autocommit=True,
                connect_timeout=max(2, math.ceil(self.pool_timeout)),
                # TCP keepalives: probes after 10 s of silence, 5 s apart; 3 unanswered
                # ones end the connection.
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
            )
            async with conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                listening()
                async for _ in conn.notifies():
                    wake()
        except UNAVAILABLE as exc:
            raise unavailable(exc) from exc
        raise unavailable(ConnectionError("the server ended the LISTEN connection"))
