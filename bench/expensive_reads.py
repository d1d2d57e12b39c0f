#!/usr/bin/env python3
"""One client's dear listings against everyone else's one-event GET (issue 13, item 9).

Usage (from the repository's root):

    bench/expensive_reads.py --events 1000000 [--database /tmp/q1m.db | --postgres]
        [--seconds 30] [--listing '/events?q=community&sort=title&count=exact&limit=500']

Fills the database once with ``--events`` events written straight in SQL
(``tests/security/support_queries.py``; every event holds the word ``community``), then
starts ``eventsapi serve --host 0.0.0.0`` (public mode, defaults) with the Python running
this script, and for ``--seconds``: four clients (127.0.0.2-5) loop the listing while a
fifth (127.0.0.9) sends ``GET /events/{id}`` about 15 times a second (under the read rate
limit). Prints the probe's latency (p50, p99, max) and what each side got.

To measure another version of the server, run this script with that version's Python
from this folder (``/path/to/other/.venv/bin/python bench/expensive_reads.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.security.support_queries import EXPENSIVE_LISTING, attack, fill
from tests.server_process import ServerProcess, free_port
from tests.support import POSTGRES_URL, with_schema


@contextlib.contextmanager
def server(database: str, folder: Path, settings: list[str]) -> Iterator[ServerProcess]:
    port = free_port()
    everywhere = "0.0.0.0"  # noqa: S104 - public mode is the point
    args = ["serve", "--host", everywhere, "--port", str(port), "--database", database]
    env = {"EVENTSAPI_LOG_LEVEL": "warning"}
    env.update(
        ("EVENTSAPI_" + name.upper(), value)
        for name, _, value in (item.partition("=") for item in settings)
    )
    with ServerProcess(args, port=port, cwd=folder, env=env) as s:
        s.wait_ready(timeout=120)
        yield s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database", type=Path)
    parser.add_argument(
        "--postgres",
        metavar="SCHEMA",
        help="a schema of the test PostgreSQL server (created and filled if missing)",
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--listing", default=EXPENSIVE_LISTING)
    parser.add_argument("--attackers", type=int, default=4, help="0: the probe alone")
    parser.add_argument(
        "--set", action="append", default=[], metavar="SETTING=VALUE", help="a server setting"
    )
    args = parser.parse_args()
    if args.postgres:
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            found = admin.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (args.postgres,)
            ).fetchone()
            if found is None:
                admin.execute(f'CREATE SCHEMA "{args.postgres}"')
        database = with_schema(POSTGRES_URL, args.postgres)
        fresh = found is None
    else:
        path = args.database or Path(tempfile.gettempdir()) / f"eventsapi-{args.events}.db"
        database, fresh = str(path), not path.exists()
    if fresh:
        print(f"Filling {database} with {args.events:,} events...", flush=True)
        print(f"  {fill(database, args.events):.0f} s", flush=True)
    with (
        tempfile.TemporaryDirectory() as folder,
        server(database, Path(folder), args.set) as running,
    ):
        load = os.getloadavg()[0]
        began = time.monotonic()
        attacked, probed = attack(
            running.port,
            attackers=[f"127.0.0.{n}" for n in range(2, 2 + args.attackers)],
            probe_source="127.0.0.9",
            probe_path="/events/ev00000001",
            seconds=args.seconds,
            listing=args.listing,
            probe_pause=0.06,
        )
        took = time.monotonic() - began
    ms = 1000
    print(f"server: {sys.executable}; database: {database}; listing: {args.listing}")
    print(f"load average before: {load:.2f}, after: {os.getloadavg()[0]:.2f}; {took:.0f} s")
    print(
        f"probe GET /events/{{id}}: {len(probed.latencies)} requests, statuses "
        f"{probed.statuses}; p50 {probed.quantile(0.5) * ms:.1f} ms, p99 "
        f"{probed.quantile(0.99) * ms:.1f} ms, max {max(probed.latencies) * ms:.1f} ms"
    )
    print(
        f"listings: {len(attacked.latencies)} requests, statuses {attacked.statuses}; p50 "
        f"{attacked.quantile(0.5) * ms:.0f} ms, "
        f"max {max(attacked.latencies, default=0) * ms:.0f} ms"
    )


if __name__ == "__main__":
    main()
