"""What one statement's round trip costs the server's process in psycopg, by way of sending it.

    .venv/bin/python bench/postgres_round_trips.py [--reads 3000]
    taskset -c 0 .venv/bin/python bench/postgres_round_trips.py    # pinned, as the server is

On one async connection (autocommit, the local server or ``BENCH_POSTGRES_URL``), reads a
~600-byte row by primary key from a temporary table of 1,000: one statement per read (as
psycopg prepares it by itself after five, and forced either way), then 32 ids per statement
(``WHERE id = ANY(%s)``) and 32 statements per pipeline. Prints the CPU time of this
process per read (``time.process_time``): the Python and libpq part of a read that the
server's event loop pays, without HTTP. Run under uvloop, as the server is.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import psycopg
import uvloop

URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BATCH = 32


async def measure(reads: int) -> None:
    conn = await psycopg.AsyncConnection.connect(URL, autocommit=True)
    async with conn:
        await conn.execute("CREATE TEMPORARY TABLE t (id text PRIMARY KEY, doc bytea)")
        await conn.execute(
            "INSERT INTO t SELECT 'id' || g, convert_to(repeat('x', 600), 'UTF8')"
            " FROM generate_series(1, 1000) AS g"
        )
        one = "SELECT doc FROM t WHERE id = %s"
        options: list[tuple[str, dict[str, Any]]] = [
            ("one per statement (psycopg's default)", {"binary": True}),
            ("one per statement, prepared at once", {"binary": True, "prepare": True}),
            ("one per statement, never prepared", {"binary": True, "prepare": False}),
        ]
        for label, kwargs in options:
            started = time.process_time()
            for n in range(reads):
                cursor = await conn.execute(one, (f"id{n % 1000 + 1}",), **kwargs)
                await cursor.fetchone()
            report(label, started, reads)
        ids = [f"id{n}" for n in range(1, BATCH + 1)]
        rounds = reads // BATCH
        started = time.process_time()
        for _ in range(rounds):
            cursor = await conn.execute(
                "SELECT id, doc FROM t WHERE id = ANY(%s::text[])", (ids,), binary=True
            )
            await cursor.fetchall()
        report(f"{BATCH} per statement (= ANY)", started, rounds * BATCH)
        started = time.process_time()
        for _ in range(rounds):
            async with conn.pipeline():
                cursors = [await conn.execute(one, (i,), binary=True) for i in ids]
            for cursor in cursors:
                await cursor.fetchone()
        report(f"{BATCH} statements per pipeline", started, rounds * BATCH)


def report(label: str, started: float, reads: int) -> None:
    print(f"{label:40} {(time.process_time() - started) / reads * 1e6:7.1f} µs CPU per read")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=3000)
    uvloop.run(measure(parser.parse_args().reads))


if __name__ == "__main__":
    main()
