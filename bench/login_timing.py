"""Whether a failed login tells an unknown username from a wrong password by its time.

    .venv/bin/python bench/login_timing.py [--backend sqlite|postgres] [--logins 200]

PostgreSQL: the local test server by default (``--postgres URL``), in a schema made for
the run and dropped after it.

Calls ``AccountService.signin.login`` (the real argon2id parameters) on a new store: half the
logins name an account with a wrong password, half a name with no account, interleaved
so that both see the same machine. Each login names a fresh account or name and a fresh
client address, so no throttle ever answers first: every one does the work a first
failure does. Prints the median and quartiles of each kind and the difference of the
medians, with the spread of that difference over 1,000 bootstrap resamples.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg

from eventsapi.auth.principal import OPERATOR
from eventsapi.auth.service import AccountService
from eventsapi.clock import system_clock
from eventsapi.errors import AuthenticationFailed
from eventsapi.storage import Backend
from eventsapi.storage.postgres import PostgresStore
from eventsapi.storage.sqlite import SQLiteStore

PASSWORD = "granite lobster umbrella forty"  # noqa: S105 - the bench accounts' passphrase


async def _failed_login(service: AccountService, name: str, n: int) -> float:
    began = time.perf_counter()
    try:
        await service.signin.login(
            name, "not it at all, sorry", client=f"10.9.{n // 250}.{n % 250}", user_agent="bench"
        )
    except AuthenticationFailed:
        return time.perf_counter() - began
    raise AssertionError("a wrong password logged in")


def _quartiles(seconds: list[float]) -> str:
    q1, median, q3 = statistics.quantiles(seconds, n=4)
    return f"median {median * 1e3:6.2f} ms (quartiles {q1 * 1e3:.2f}-{q3 * 1e3:.2f})"


def _bootstrap(known: list[float], unknown: list[float]) -> tuple[float, float]:
    rng = random.Random(0)  # noqa: S311 - resampling for an interval, not a secret
    differences = sorted(
        statistics.median(rng.choices(known, k=len(known)))
        - statistics.median(rng.choices(unknown, k=len(unknown)))
        for _ in range(1000)
    )
    return differences[25], differences[974]


async def main(store: Backend, logins: int) -> None:
    await store.open()
    try:
        service = AccountService(store, system_clock)
        names = [f"user{n}" for n in range(logins)]
        for name in names:
            await service.admin.create_user(name, PASSWORD, actor=OPERATOR)
        known: list[float] = []
        unknown: list[float] = []
        for n, name in enumerate(names):
            known.append(await _failed_login(service, name, 2 * n))
            unknown.append(await _failed_login(service, f"nobody{n}", 2 * n + 1))
    finally:
        await store.close()
    low, high = _bootstrap(known, unknown)
    print(f"wrong password: {_quartiles(known)}")
    print(f"unknown user:   {_quartiles(unknown)}")
    difference = statistics.median(known) - statistics.median(unknown)
    print(
        f"difference of the medians: {difference * 1e3:+.2f} ms "
        f"(95 % bootstrap interval {low * 1e3:+.2f} to {high * 1e3:+.2f})"
    )


@contextlib.contextmanager
def _schema(server: str) -> Iterator[str]:
    """A URL of ``server`` working in a new schema, dropped at the end."""
    schema = f"bench_login_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}".encode())
    try:
        yield f"{server}?options={quote(f'-csearch_path={schema}', safe='')}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE".encode())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--logins", type=int, default=200)
    args = parser.parse_args()
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(SQLiteStore(Path(tmp) / "bench.db"), args.logins))
    else:
        with _schema(args.postgres) as url:
            asyncio.run(main(PostgresStore(url), args.logins))
