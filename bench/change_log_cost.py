"""What the PostgreSQL change log costs writes: creates per second through the store.

    .venv/bin/python bench/change_log_cost.py [--creates 3000] [--concurrency 32] [--rounds 1]

Each round makes a new schema on the test server (``EVENTSAPI_TEST_POSTGRES_URL``, by default
``postgresql://postgres@127.0.0.1:5432/test``) and, through ``PostgresStore`` (no HTTP):

- ``concurrent``: ``--creates`` creates, ``--concurrency`` at once (a pool that size);
- ``concurrent+reader``: the same while one reader polls ``changes_after`` as a live stream
  would (on the reader-sequenced log, the readers do the numbering: this is its cost);
- ``sequential``: ``--creates // 10`` creates one at a time;
- ``import``: one import of ``--creates`` events;

then reads the whole log back and checks that it holds one record per write, positions
1..n. It uses only the store's API, so the same script measures any version of the store
(run it with ``PYTHONPATH`` at another checkout's ``src``). The server's
``synchronous_commit`` is printed: the figures mean something only with it ``on``.
The machine is shared: interleave runs of the versions compared, and read the spread.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import psycopg
from psycopg import sql

from eventsapi.domain.events import Event
from eventsapi.storage.postgres import PostgresStore

URL = os.environ.get("EVENTSAPI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
START = datetime(2030, 1, 1, 9, tzinfo=UTC)


def event(event_id: str) -> Event:
    return Event(
        id=event_id,
        title=f"Event {event_id}",
        starts_at=START,
        ends_at=START + timedelta(hours=1),
        created_at=START,
        updated_at=START,
        version=1,
    )


async def timed(work: Callable[[], Awaitable[int]]) -> float:
    """Operations per second of ``work`` (which returns how many it made)."""
    started = time.perf_counter()
    made = await work()
    return made / (time.perf_counter() - started)


async def concurrent_creates(
    store: PostgresStore, prefix: str, count: int, concurrency: int
) -> int:
    numbers = iter(range(count))

    async def writer() -> None:
        for number in numbers:  # shared: each create taken by one writer
            await store.create(event(f"{prefix}{number}"))

    await asyncio.gather(*(writer() for _ in range(concurrency)))
    return count


async def polling_reader(store: PostgresStore, stop: asyncio.Event) -> int:
    position = 0
    read = 0
    while not stop.is_set():
        batch = await store.changes_after(position, 1000)
        if batch:
            position = batch[-1].position
            read += len(batch)
        else:
            await asyncio.sleep(0.001)
    return read


async def one_round(creates: int, concurrency: int) -> dict[str, float]:
    schema = f"eventsapi_bench_{secrets.token_hex(6)}"
    with psycopg.connect(URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = f"{URL}{'&' if '?' in URL else '?'}options={quote(f'-csearch_path={schema}', safe='')}"
    store = PostgresStore(url, pool_min_size=concurrency, pool_max_size=concurrency + 2)
    figures: dict[str, float] = {}
    try:
        await store.open()
        await concurrent_creates(store, "warm", 200, concurrency)
        figures["concurrent"] = await timed(
            lambda: concurrent_creates(store, "c", creates, concurrency)
        )

        stop = asyncio.Event()
        reader = asyncio.create_task(polling_reader(store, stop))

        async def with_reader() -> int:
            made = await concurrent_creates(store, "r", creates, concurrency)
            stop.set()
            await reader
            return made

        figures["concurrent+reader"] = await timed(with_reader)

        async def sequential() -> int:
            for number in range(creates // 10):
                await store.create(event(f"s{number}"))
            return creates // 10

        figures["sequential"] = await timed(sequential)

        async def importing() -> int:
            await store.import_events(event(f"i{number}") for number in range(creates))
            return creates

        figures["import"] = await timed(importing)

        expected = 200 + creates * 3 + creates // 10
        positions = []
        position = 0
        while batch := await store.changes_after(position, 1000):
            positions += [record.position for record in batch]
            position = positions[-1]
        if positions != list(range(1, expected + 1)):
            raise SystemExit(f"the log is wrong: {len(positions)} records, {expected} writes")
    finally:
        await store.close()
        with psycopg.connect(URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    return figures


async def main(creates: int, concurrency: int, rounds: int) -> None:
    with psycopg.connect(URL, autocommit=True) as admin:
        row = admin.execute("SHOW synchronous_commit").fetchone()
    print(f"synchronous_commit={row[0] if row else '?'}; {concurrency} at once; per second:")
    for number in itertools.count(1):
        if number > rounds:
            break
        figures = await one_round(creates, concurrency)
        print(f"round {number}: " + ", ".join(f"{k} {v:,.0f}" for k, v in figures.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--creates", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.creates, arguments.concurrency, arguments.rounds))
