"""What the PostgreSQL store's checkout of a connection costs: ``_connection()`` entered
and left, with no statement, in process.

    .venv/bin/python bench/postgres_checkout.py [--checkouts 100000] [--rounds 7]
    .venv/bin/python bench/postgres_checkout.py --against OTHER/src [--rounds 7]

One store (``--url``, the public schema, nothing written: no migration is run) and one
connection, taken and given back ``--checkouts`` times in a row: after the first, each is
the cheap checkout in front of psycopg_pool (docs/benchmarks.md, "PostgreSQL", issue 18).
Reports microseconds of CPU (``time.process_time``) per checkout. ``--against`` alternates
rounds (subprocesses) between this checkout's ``src`` and ``OTHER/src`` and prints the
ratio of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from in_process import OURS, print_comparison, print_medians, rounds

_SCENARIOS = ("checkout",)


async def measure(url: str, checkouts: int) -> dict[str, float]:
    from eventsapi.storage.postgres import PostgresStore

    store = PostgresStore(url, pool_min_size=1, pool_max_size=1)
    await store.open(migrate=False)
    try:
        for _ in range(checkouts // 10):  # warm up
            async with store._connection():
                pass
        started = time.process_time()
        for _ in range(checkouts):
            async with store._connection():
                pass
        return {"checkout": (time.process_time() - started) / checkouts * 1e6}
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--against", help="another checkout's src folder, to compare with")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(measure(args.url, args.checkouts))))
        return
    options = ("--checkouts", str(args.checkouts), "--url", args.url)
    if args.against:
        this, them = rounds(__file__, (OURS, args.against), args.rounds, *options)
        print_comparison(_SCENARIOS, this, them, "us of CPU per checkout")
    else:
        (runs,) = rounds(__file__, (OURS,), args.rounds, *options)
        print_medians(_SCENARIOS, runs)


if __name__ == "__main__":
    main()
