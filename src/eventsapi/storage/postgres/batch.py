"""Requests that arrive together, served by one use of one connection: reads by id in one
statement (``WHERE id = ANY(...)``), creates in one transaction (``events.py``).

A read by id costs the server's process ~45-80 µs of CPU in psycopg for one statement's round
trip, whatever it reads; one statement that reads 32 ids costs ~4 µs per id (measured in
docs/benchmarks.md, issue 18). So the reads that ask in one turn of the event loop are
gathered: the first one of a kind (the same statement and parameters but the ids) opens a
batch and starts a task, which runs at the loop's next turn, after every read ready in this
one has joined the batch; the task reads all of them in one statement and hands each caller
its row. A read that arrives alone waits one turn of the loop more than it did, no more.

Failures are shared: the batch's error is every caller's (each would have met it alone, as
the batch is one read on one connection; ``_read`` tries again on another connection first).
A caller that is cancelled leaves the others be.

Creates go the same way, each a statement of its own in one pipeline and one transaction:
one round trip and one commit (one flush of the WAL) for the group, each create answered
after it, each told whether it inserted its own event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Final, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
P = TypeVar("P")
R = TypeVar("R")

MOST: Final = 256
"""Ids one statement reads at most: a batch that is full is closed, the next read opens one."""


class Batches(Generic[K, P, R]):
    """Gathers ``get(key, item, payload)`` calls of one loop turn into one
    ``read(key, {item: payload, ...})`` per key (an item's first payload)."""

    def __init__(
        self, read: Callable[[K, dict[str, P]], Awaitable[Mapping[str, R]]], *, most: int = MOST
    ) -> None:
        self._read = read
        self._most = most
        self._open: dict[K, dict[str, tuple[P, list[asyncio.Future[R | None]]]]] = {}
        self._running: set[asyncio.Task[None]] = set()

    async def get(self, key: K, item: str, payload: P) -> R | None:
        """What ``read(key, {item: payload, ...})`` found for ``item`` (``None`` if nothing)."""
        loop = asyncio.get_running_loop()
        batch = self._open.get(key)
        if batch is None:
            batch = self._open[key] = {}
            task = loop.create_task(self._run(key, batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        future: asyncio.Future[R | None] = loop.create_future()
        batch.setdefault(item, (payload, []))[1].append(future)
        if len(batch) >= self._most and self._open.get(key) is batch:
            del self._open[key]
        return await future

    async def _run(
        self, key: K, batch: dict[str, tuple[P, list[asyncio.Future[R | None]]]]
    ) -> None:
        if self._open.get(key) is batch:
            del self._open[key]  # closed: later reads open another
        try:
            found = await self._read(key, {item: found[0] for item, found in batch.items()})
        except Exception as exc:  # noqa: BLE001 - every caller's error, raised where it waits
            for _, futures in batch.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            return
        except BaseException:
            for _, futures in batch.values():
                for future in futures:
                    future.cancel()
            raise
        for item, (_, futures) in batch.items():
            row = found.get(item)
            for future in futures:
                if not future.done():
                    future.set_result(row)
