"""The SQLite writer: one thread owns the write connection and commits queued jobs in groups.

Under concurrency one fsync covers many writes, so durable throughput grows with the number
of clients. A job that fails (a duplicate id, a validation error) is undone alone and the
others still commit (see ``Job``); a failed commit fails every job of its group, and the
writer goes on with the next group.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from eventsapi.errors import StorageUnavailable

T = TypeVar("T")


class Job(msgspec.Struct):
    """One write. ``work`` runs inside the group's transaction.

    Every job makes at most one change that can fail on its own, as its last
    such statement, so a failing job needs no savepoint to be undone alone: it
    raised before changing anything, or its one statement failed and SQLite
    undid that statement. (Savepoints cost a quarter of a simple insert.) Rows
    that triggers maintain (tags, the text index) belong to that statement. An
    idempotency key saved after the change cannot collide (it was looked up
    under the write lock), so it fails only with a database error, and that
    undoes the whole group. Any other job that changes more than one row must
    wrap its changes in a savepoint of its own.
    """

    work: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]


class Writer:
    """The one writer: a thread that commits queued jobs in groups."""

    def __init__(self, conn: sqlite3.Connection, max_batch: int) -> None:
        self._conn = conn
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="eventsapi-writer", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread.start()

    async def submit(self, work: Callable[[sqlite3.Connection], T]) -> T:
        assert self._loop is not None  # noqa: S101
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.put(Job(work, future))
        return await future

    def stop(self) -> None:
        """Commit what is queued, then end the thread."""
        self._queue.put(None)
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                batch.append(job)
            outcomes = self._commit(batch)
            assert self._loop is not None  # noqa: S101
            self._loop.call_soon_threadsafe(_settle, batch, outcomes)

    def _commit(self, batch: list[Job]) -> list[tuple[bool, Any]]:
        conn = self._conn
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in batch:
                try:
                    outcomes.append((True, job.work(conn)))
                except sqlite3.Error:
                    raise
                except Exception as exc:  # noqa: BLE001 - the job's own error goes to its caller
                    outcomes.append((False, exc))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            failure = StorageUnavailable(f"The database could not commit: {exc}")
            return [(False, failure)] * len(batch)
        return outcomes


def _settle(batch: list[Job], outcomes: list[tuple[bool, Any]]) -> None:
    for job, (ok, value) in zip(batch, outcomes, strict=True):
        if job.future.cancelled():
            continue
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)
