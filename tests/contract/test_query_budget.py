"""A listing past its time budget ends with ``QueryTooExpensive``, on SQLite and PostgreSQL,
and leaves the store working; a count stops at its ceiling (issue 13, item 9)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventsapi import storage
from eventsapi.domain.query import EventFilter, EventQuery
from eventsapi.errors import QueryTooExpensive
from eventsapi.settings import Settings
from eventsapi.storage.sqlite.reads import ReadPool
from tests.security.support_queries import WORD, fill
from tests.support import postgres_schema

pytestmark = pytest.mark.anyio

EVENTS = 40_000
# Every event is scored and checked for two tags that seldom meet, then sorted by title
# (SQLite walks them all); PostgreSQL intersects its tag and text indexes quickly, so one
# common tag there: about a third of the events, read, sorted by title and counted.
DEAR = {
    "sqlite": EventQuery(
        filter=EventFilter(terms=(WORD,), tags=("go", "rust")), sort="title", limit=500, count=True
    ),
    "postgres": EventQuery(
        filter=EventFilter(terms=(WORD,), tags=("go",)), sort="title", limit=500, count=True
    ),
}
BUDGET_MS = 10
"""The least query_timeout_ms: DEAR takes about 0.1 s on a quiet machine, more when loaded."""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "postgres":
        with postgres_schema() as url:
            fill(url, EVENTS)
            yield url
    else:
        path = str(tmp_path_factory.mktemp("budget") / "events.db")
        fill(path, EVENTS)
        yield path


def _store(database: str, query_timeout_ms: int) -> storage.Backend:
    return storage.load(database, Settings(database=database, query_timeout_ms=query_timeout_ms))


async def test_a_listing_past_its_budget_is_stopped_and_the_store_goes_on(database: str) -> None:
    unhurried = _store(database, 60_000)
    await unhurried.open()
    try:
        began = time.monotonic()
        await unhurried.list_page(DEAR[unhurried.name])
        full = time.monotonic() - began
    finally:
        await unhurried.close()
    assert full > 3 * BUDGET_MS / 1000, f"the dear listing took only {full:.3f} s"

    hurried = _store(database, BUDGET_MS)
    await hurried.open()
    try:
        # A first read, outside any budget, so that PostgreSQL's pool has its connection.
        assert await hurried.get_json("ev00000001") is not None
        began = time.monotonic()
        with pytest.raises(QueryTooExpensive, match="took longer than its time budget"):
            await hurried.list_page(DEAR[hurried.name])
        stopped = time.monotonic() - began
        # The connection the listing was stopped on serves the next read (PostgreSQL's pool
        # has only the one: it was rolled back and given back).
        found = await hurried.get_json("ev00000003")
    finally:
        await hurried.close()
    assert stopped < full
    assert found is not None


async def test_a_count_stops_one_past_its_ceiling(database: str) -> None:
    store = _store(database, 60_000)
    await store.open()
    try:
        capped = await store.list_page(EventQuery(limit=1, count=True, count_ceiling=100))
        searched = await store.list_page(
            EventQuery(filter=EventFilter(terms=(WORD,)), limit=1, count=True, count_ceiling=7)
        )
        exact = await store.list_page(EventQuery(limit=1, count=True, count_ceiling=EVENTS))
    finally:
        await store.close()
    assert capped.total == 101
    assert searched.total == 8
    assert exact.total == EVENTS


async def test_a_read_that_waited_its_whole_budget_for_a_thread_is_not_started(
    tmp_path: Path,
) -> None:
    started: list[str] = []

    def occupy(conn: sqlite3.Connection) -> None:
        started.append("first")
        time.sleep(0.3)  # holds the only thread, as a dear read would

    def second(conn: sqlite3.Connection) -> None:
        started.append("second")

    pool = ReadPool(
        lambda: sqlite3.connect(tmp_path / "x.db", check_same_thread=False), threads=1, timeout=0.1
    )
    try:
        first = asyncio.ensure_future(pool.run(occupy))
        await asyncio.sleep(0.02)  # the first is in its thread
        with pytest.raises(QueryTooExpensive, match="waited"):
            await pool.run(second)
        await first
    finally:
        pool.close()
    assert started == ["first"]


async def test_a_reader_stopped_past_its_budget_serves_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    pool = ReadPool(lambda: sqlite3.connect(path, check_same_thread=False), threads=1, timeout=0.05)
    endless = (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1e10)"
        " SELECT count(*) FROM n"
    )
    try:
        began = time.monotonic()
        with pytest.raises(QueryTooExpensive, match="took longer than its time budget"):
            await pool.run(lambda conn: conn.execute(endless).fetchone())
        stopped = time.monotonic() - began
        # The one thread, on the same connection.
        answer = await pool.run(lambda conn: conn.execute("SELECT 42").fetchone())
    finally:
        pool.close()
    assert stopped < 5.0  # the count would take hours
    assert answer == (42,)
