#!/usr/bin/env python3
"""Keyset pagination at scale: does the last page cost what the first does?

Usage: bench/queries.py [--events 1000000] [--database /tmp/q.db] [--repeat 200] [--plans]

Fills a SQLite database through the SQLite backend's own row writer (which also
keeps the tag table and the full-text index, as in service), once; later
runs reuse the file. Then, for each listing below, times ``list_page`` (the
store call behind ``GET /events``) for the first page and for a page that
starts 50 events before the end, reached by a cursor position. The median of
``--repeat`` calls is reported, in microseconds, and their ratio. With
``--plans`` it prints SQLite's query plan of each listing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eventsapi.domain.events import Event
from eventsapi.domain.query import EventFilter, EventQuery, Position, sort_position
from eventsapi.storage.sqlite import SQLiteStore
from eventsapi.storage.sqlite import query as sqlite_query
from eventsapi.storage.sqlite import rows as sqlite_rows
from eventsapi.storage.sqlite.rows import _decode_event

TAGS = ["go", "rust", "python", "meetup", "conference", "berlin", "paris", "online", "kids", "ai"]
WORDS = ["talk", "workshop", "night", "meetup", "conference", "hack", "social", "intro", "deep"]
WORDS += ["dive", "panel", "demo"]
START = datetime(2026, 1, 1, tzinfo=UTC)

LISTINGS: list[tuple[str, EventQuery]] = [
    ("creation order (default)", EventQuery(limit=50)),
    ("sort=starts_at", EventQuery(sort="starts_at", limit=50)),
    ("sort=-created_at", EventQuery(sort="-created_at", limit=50)),
    ("sort=title", EventQuery(sort="title", limit=50)),
    (
        "status=scheduled&sort=starts_at",
        EventQuery(filter=EventFilter(status="scheduled"), sort="starts_at", limit=50),
    ),
    (
        "starts_after=2026-06-01&sort=starts_at",
        EventQuery(
            filter=EventFilter(starts_after=datetime(2026, 6, 1, tzinfo=UTC)),
            sort="starts_at",
            limit=50,
        ),
    ),
    (
        "tag=kids&sort=starts_at",
        EventQuery(filter=EventFilter(tags=("kids",)), sort="starts_at", limit=50),
    ),
    (
        "q=panel&sort=created (creation order)",
        EventQuery(filter=EventFilter(terms=("panel",)), sort="created", limit=50),
    ),
    ("q=w42 (best match first)", EventQuery(filter=EventFilter(terms=("w42",)), limit=50)),
]


def fill(path: Path, count: int) -> None:
    rng = random.Random(20261127)  # noqa: S311 - reproducible test data, not secrets
    store = SQLiteStore(path)

    async def migrate() -> None:
        await store.open()
        await store.close()

    asyncio.run(migrate())
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")  # a benchmark fixture, rebuilt if lost
    conn.execute("BEGIN")
    started = time.monotonic()
    for n in range(count):
        created = START + timedelta(seconds=n)
        starts = START + timedelta(minutes=rng.randrange(0, 60 * 24 * 365))
        event = Event(
            id=f"ev{n:08d}",
            title=f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} #{n}",
            description=" ".join(f"w{rng.randrange(5000)}" for _ in range(12)),
            starts_at=None if n % 50 == 0 else starts,
            location=rng.choice(["Berlin", "Paris", "Online", None]),
            tags=tuple(rng.sample(TAGS, k=rng.randrange(0, 4))),
            status="cancelled" if n % 10 == 0 else "scheduled",
            created_at=created,
            updated_at=created,
            version=1,
        )
        sqlite_rows.insert(conn, event)
        if n % 100_000 == 99_999:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
            print(f"  {n + 1:,} events, {time.monotonic() - started:.0f} s", flush=True)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def last_page_position(conn: sqlite3.Connection, query: EventQuery) -> Position:
    """The position just before the last 50 events of ``query``: one slow OFFSET, once."""
    select = sqlite_query.page(EventQuery(filter=query.filter, sort=query.sort, limit=10**9))
    rows = conn.execute(select.sql, select.params).fetchall()
    seq, doc, *sort_values = rows[-51] if len(rows) > 51 else rows[0]
    if query.sort in ("created", "relevance"):
        return tuple(sort_values)
    event = _decode_event(doc)
    return sort_position(event, query.sort, seq=seq)


async def timed(store: SQLiteStore, query: EventQuery, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter_ns()
        page = await store.list_page(query)
        samples.append(time.perf_counter_ns() - began)
        if not page.documents:
            raise SystemExit(f"no events for {query}")
    return statistics.median(samples) / 1000


async def measure(path: Path, repeat: int, plans: bool) -> None:
    store = SQLiteStore(path)
    await store.open()
    conn = sqlite3.connect(path)
    total = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    print(f"\n{total:,} events in {path}\n")
    print("| listing | first page µs | last page µs | last / first |")
    print("|---|--:|--:|--:|")
    try:
        for name, query in LISTINGS:
            position = last_page_position(conn, query)
            last = EventQuery(filter=query.filter, sort=query.sort, limit=50, after=position)
            first_us = await timed(store, query, repeat)
            last_us = await timed(store, last, repeat)
            print(f"| `{name}` | {first_us:,.0f} | {last_us:,.0f} | {last_us / first_us:.2f} |")
        if plans:
            for name, query in LISTINGS:
                select = sqlite_query.page(
                    EventQuery(
                        filter=query.filter,
                        sort=query.sort,
                        limit=50,
                        after=last_page_position(conn, query),
                    )
                )
                print(f"\n`{name}` (a page after a cursor):\n```")
                for row in conn.execute("EXPLAIN QUERY PLAN " + select.sql, select.params):
                    print(("  " * (row[1] > 0)) + row[3])
                print("```")
    finally:
        conn.close()
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--database", type=Path, default=Path(tempfile.gettempdir()) / "eventsapi-queries.db"
    )
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--plans", action="store_true")
    args = parser.parse_args()
    if not args.database.exists():
        print(f"Filling {args.database} with {args.events:,} events (once)...")
        fill(args.database, args.events)
    asyncio.run(measure(args.database, args.repeat, args.plans))


if __name__ == "__main__":
    main()
