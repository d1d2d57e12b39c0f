"""On SQLite a cheap listing is read on the event loop, a dear one in a reader thread, with
the same answer either way (``storage/sqlite/reads.py``, ``try_cheaply``)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from eventsapi import storage
from eventsapi.domain.query import EventFilter, EventQuery
from eventsapi.settings import Settings
from eventsapi.storage.sqlite.reads import CHEAP_STEPS, TOO_DEAR, try_cheaply
from tests.security.support_queries import WORD, fill

pytestmark = pytest.mark.anyio

# A recursive count: about 8 steps of SQLite's virtual machine per number.
_COUNT_TO = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)"
_COUNT_TO += " SELECT count(*) FROM n"


def _count_to(limit: int) -> Callable[[sqlite3.Connection], int]:
    def work(conn: sqlite3.Connection) -> int:
        found: int = conn.execute(_COUNT_TO, (limit,)).fetchone()[0]
        return found

    return work


def test_a_cheap_read_is_answered_and_a_dear_one_is_stopped_and_leaves_no_limit() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    assert try_cheaply(conn, _count_to(10)) == 10
    assert try_cheaply(conn, _count_to(100 * CHEAP_STEPS)) is TOO_DEAR
    # Stopped halfway, the connection serves the next statement, with no budget left on it.
    assert _count_to(100 * CHEAP_STEPS)(conn) == 100 * CHEAP_STEPS


def test_other_errors_are_not_taken_for_a_dear_read() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("SELECT * FROM no_such_table")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        try_cheaply(conn, broken)


def _reader_threads() -> int:
    return sum(thread.name.startswith("eventsapi-reader") for thread in threading.enumerate())


@pytest.fixture
def filled(tmp_path: Path) -> str:
    path = str(tmp_path / "events.db")
    fill(path, 3_000)
    return path


async def test_cheap_pages_stay_on_the_loop_and_dear_ones_go_to_a_thread(filled: str) -> None:
    path = filled
    store = storage.load(path, Settings(database=path))
    await store.open()
    try:
        before = _reader_threads()
        first = await store.list_page(EventQuery(limit=20))
        assert len(first.documents) == 20
        assert _reader_threads() == before, "a first page of 20 went to a reader thread"

        # Every event matches, each is scored, sorted by title and counted: dear.
        dear = EventQuery(filter=EventFilter(terms=(WORD,)), sort="title", limit=20, count=True)
        page = await store.list_page(dear)
        assert _reader_threads() == before + 1, "a search of 3,000 events stayed on the loop"
        assert page.total == 3_000
        assert len(page.documents) == 20
    finally:
        await store.close()
