"""Reads that may be dear, off the event loop: a few threads, each with its own connection.

A listing can take from microseconds (a page from an index) to seconds (a search that
matches a million events, sorted by title, and counted). On the event loop, a dear one
stalls every request of the process meanwhile; in a thread it does not, because sqlite3
lets go of the GIL while SQLite works. Primary-key reads stay on the loop (``sqlite.py``):
they take microseconds, less than the hop to a thread.

Every read has a deadline, counted from when it was asked for, so the wait for a thread
counts too: a read still queued past it is not started, and one that runs past it is
stopped by SQLite's progress handler, which the thread's connection calls every
``_PROGRESS_STEPS`` virtual machine steps. Either ends in ``QueryTooExpensive``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Final, TypeVar

from eventsapi.errors import QueryTooExpensive

T = TypeVar("T")

_PROGRESS_STEPS: Final = 20_000
"""SQLite virtual machine steps between two looks at the clock: about a millisecond of
work, so a read ends within a few milliseconds of its deadline, while the thread takes the
GIL back rarely enough not to slow the event loop's thread."""

_READER_NICENESS: Final = 10
"""Linux's nice value of the reader threads: about a tenth of the CPU share of the loop's
thread (nice 0) when both want the CPU."""

_monotonic: Final = time.monotonic


class _Reader(threading.local):
    """The connection of one thread, and the deadline of the read it runs."""

    conn: sqlite3.Connection | None = None
    deadline: float = 0.0


class ReadPool:
    """``threads`` threads that run reads, each on a read-only connection of its own."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        *,
        threads: int,
        timeout: float,
    ) -> None:
        self._connect = connect
        self._timeout = timeout
        self._reader = _Reader()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="eventsapi-reader"
        )

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(conn)`` in a thread, within the time budget."""
        deadline = _monotonic() + self._timeout
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, work, deadline)

    def close(self) -> None:
        """Wait for the reads in progress (each ends by its deadline), then close."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def _connection(self) -> sqlite3.Connection:
        reader = self._reader
        if reader.conn is None:
            _yield_cpu()
            conn = self._connect()
            # Returning true stops the statement with SQLITE_INTERRUPT.
            conn.set_progress_handler(lambda: _monotonic() > reader.deadline, _PROGRESS_STEPS)
            with self._lock:
                self._connections.append(conn)
            reader.conn = conn
        return reader.conn

    def _run(self, work: Callable[[sqlite3.Connection], T], deadline: float) -> T:
        if _monotonic() > deadline:
            raise _too_expensive(self._timeout, waited=True)
        conn = self._connection()
        self._reader.deadline = deadline
        try:
            return work(conn)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode == sqlite3.SQLITE_INTERRUPT:
                raise _too_expensive(self._timeout, waited=False) from None
            raise


def _yield_cpu() -> None:
    """Run this thread at a lower CPU priority than the event loop's, where the system
    allows it (Linux: a thread's nice value is its own), so that a dear read cannot delay
    the cheap requests the loop answers meanwhile."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _READER_NICENESS)


def _too_expensive(timeout: float, *, waited: bool) -> QueryTooExpensive:
    budget = f"{timeout * 1000:.0f} ms"
    if waited:
        return QueryTooExpensive(
            f"The service is busy with other queries: this one waited its whole time budget "
            f"({budget}) for its turn. Retry later, or narrow it."
        )
    return QueryTooExpensive(
        f"This query took longer than its time budget ({budget}) and was stopped. Narrow "
        "it: more filters, a smaller limit, no count=exact, or a sort without q."
    )
