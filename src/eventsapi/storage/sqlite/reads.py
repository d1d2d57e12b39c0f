"""Reads that may be dear, off the event loop: a few threads, each with its own connection.

A listing can take from microseconds (a page from an index) to seconds (a search that
matches a million events, sorted by title, and counted). On the event loop, a dear one
stalls every request of the process meanwhile; in a thread it does not, because sqlite3
lets go of the GIL while SQLite works. Primary-key reads stay on the loop (``events.py``):
they take microseconds, less than the hop to a thread.

Every read has a deadline, counted from when it was asked for, so the wait for a thread
counts too: a read still queued past it is not started, and one that runs past it is
stopped by ``Connection.interrupt()`` from a timer on the event loop. An interrupt finds
nothing to stop between two statements of a read (the page, then its count), so SQLite's
progress handler looks at the deadline too, every ``_PROGRESS_STEPS`` steps: rarely, as
each look takes the GIL from the event loop's thread. Either way the read ends in
``QueryTooExpensive``.

Most listings are cheap all the same (a first page of 20 from an index: a few hundred
steps of SQLite's virtual machine, tens of microseconds), and for them the hop to a thread
and back costs more than the read: in one process, with no other work, a page of 20 took
203 µs of CPU through a thread and 116 µs on the loop (``bench/read_cost.py``). So a read is
first tried on the event loop's connection with a budget of ``CHEAP_STEPS`` steps
(``try_cheaply``); one that needs more is stopped there, at a cost of at most that many
steps, and run again in a thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
import threading
from collections.abc import Callable
from typing import Final, TypeVar

from eventsapi.errors import QueryTooExpensive

T = TypeVar("T")


_PROGRESS_STEPS: Final = 1_000_000
"""SQLite virtual machine steps between two looks at the deadline: tens of milliseconds."""


CHEAP_STEPS: Final = 2_000
"""SQLite virtual machine steps a read may take on the event loop: 20 to 100 µs of work (a
plain page of 20 takes about 250 steps, of 100 about 1,100; a search or an exact count of
thousands of events takes tens of thousands)."""


class TooDear:
    """The answer of ``try_cheaply`` for a read that needs more than its budget."""


TOO_DEAR: Final = TooDear()


def _stop() -> bool:
    return True


def try_cheaply(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T | TooDear:
    """``work(conn)`` if it takes at most ``CHEAP_STEPS`` steps, else ``TOO_DEAR``.

    ``work`` must only read: a read stopped halfway has changed nothing, and is run again
    from its start elsewhere.
    """
    conn.set_progress_handler(_stop, CHEAP_STEPS)
    try:
        return work(conn)
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode == sqlite3.SQLITE_INTERRUPT:
            return TOO_DEAR
        raise
    finally:
        conn.set_progress_handler(None, 0)


class _Reader(threading.local):
    """The connection of one reader thread, and the deadline of the read it runs."""

    conn: sqlite3.Connection | None = None
    deadline: _Deadline | None = None


class _Deadline:
    """One read's deadline: past it, the read is not started, or its connection is
    interrupted while it runs (never after it ended, when the connection serves another)."""

    __slots__ = ("_conn", "_lock", "passed")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.passed = False

    def begin(self, conn: sqlite3.Connection) -> bool:
        """In the reader thread, before the read: whether there is time left to start it."""
        with self._lock:
            self._conn = None if self.passed else conn
            return not self.passed

    def end(self) -> None:
        with self._lock:
            self._conn = None

    def pass_now(self) -> None:
        """On the event loop, at the deadline (or when the client went away)."""
        with self._lock:
            self.passed = True
            if self._conn is not None:
                self._conn.interrupt()


class ReadPool:
    """``threads`` threads that run reads, each on a connection of its own from ``connect``,
    each within ``timeout`` seconds."""

    def __init__(
        self, connect: Callable[[], sqlite3.Connection], *, threads: int, timeout: float
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
        """``work(conn)`` in a reader thread, within the time budget."""
        loop = asyncio.get_running_loop()
        deadline = _Deadline()
        timer = loop.call_later(self._timeout, deadline.pass_now)
        try:
            return await loop.run_in_executor(self._executor, self._run, work, deadline)
        except asyncio.CancelledError:
            deadline.pass_now()  # nobody waits for the answer any more: stop the work
            raise
        finally:
            timer.cancel()

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
            reader.conn = self._connect()
            # Returning true stops the statement with SQLITE_INTERRUPT.
            reader.conn.set_progress_handler(
                lambda: reader.deadline is not None and reader.deadline.passed, _PROGRESS_STEPS
            )
            with self._lock:
                self._connections.append(reader.conn)
        return reader.conn

    def _run(self, work: Callable[[sqlite3.Connection], T], deadline: _Deadline) -> T:
        conn = self._connection()
        if not deadline.begin(conn):
            raise QueryTooExpensive.past_budget(self._timeout, waited=True)
        self._reader.deadline = deadline
        try:
            return work(conn)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode == sqlite3.SQLITE_INTERRUPT:
                raise QueryTooExpensive.past_budget(self._timeout, waited=False) from None
            raise
        finally:
            self._reader.deadline = None
            deadline.end()
