"""Many events, written straight into a fresh database, for the expensive-query attacks.

Going through the API (or the backend's own per-event writer) takes minutes per 100,000
events; these write the same rows in bulk: the documents encoded as the service encodes
them, then the tag table and the text index built in one statement each. Every event holds
the word ``community``, so ``q=community`` matches all of them: the most expensive search.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from eventsapi import storage
from eventsapi.domain.events import Event
from eventsapi.storage import postgres
from eventsapi.storage.postgres import query as postgres_query
from eventsapi.storage.sqlite import rows as sqlite_rows
from tests.security.public import ADMIN, ADMIN_PASSWORD, create_user, database_url, request_from
from tests.server_process import ServerProcess, free_port

WORD = "community"
"""In every event: a search for it matches them all."""
EXPENSIVE_LISTING = f"/events?q={WORD}&tag=go&tag=rust&sort=title&count=exact&limit=500"
"""The dearest listing a client may ask for: a search that matches every event, filtered by
two tags that seldom meet (so every match is checked), sorted by title, counted."""

_TAGS = ("go", "rust", "python", "meetup", "berlin", "paris", "online", "kids")
_WORDS = ("talk", "workshop", "night", "social", "intro", "panel", "demo", "hack")
_START = datetime(2026, 1, 1, tzinfo=UTC)
_BATCH = 20_000


def events(count: int) -> Iterator[Event]:
    """``count`` events, the same ones on every call."""
    rng = random.Random(count)  # noqa: S311 - reproducible test data, not secrets
    for n in range(count):
        created = _START + timedelta(seconds=n)
        yield Event(
            id=f"ev{n:08d}",
            title=f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS)} {n}",
            description=f"A {WORD} {rng.choice(_WORDS)} about w{rng.randrange(5000)}",
            starts_at=None if n % 50 == 0 else _START + timedelta(minutes=rng.randrange(525_600)),
            location=rng.choice(("Berlin", "Paris", "Online", None)),
            tags=tuple(rng.sample(_TAGS, k=rng.randrange(0, 3))),
            status="cancelled" if n % 10 == 0 else "scheduled",
            created_at=created,
            updated_at=created,
            version=1,
        )


def _batches(count: int) -> Iterator[list[Event]]:
    batch: list[Event] = []
    for event in events(count):
        batch.append(event)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _migrate(database: str) -> None:
    async def run() -> None:
        store = storage.load(database)
        await store.open()
        await store.close()

    asyncio.run(run())


def fill_sqlite(path: Path, count: int) -> None:
    """``count`` events in the (migrated) SQLite database at ``path``."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")  # a fixture: rebuilt if lost
        conn.execute("BEGIN")
        for batch in _batches(count):
            # The columns of the backend's own row parameters (sqlite_rows.row_values).
            conn.executemany(
                "INSERT INTO events (version, title, status, starts_at, created_at, updated_at,"
                " description, location, tags, capacity, revision, doc, id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [sqlite_rows.row_values(event) for event in batch],
            )
        conn.execute(
            "INSERT INTO event_tags (seq, tag)"
            " SELECT events.seq, tag.value FROM events, json_each(events.tags) AS tag"
        )
        conn.execute("INSERT INTO events_fts (events_fts) VALUES ('rebuild')")
        conn.execute("COMMIT")
    finally:
        conn.close()


def fill_postgres(url: str, count: int) -> None:
    """``count`` events in the (migrated) PostgreSQL schema of ``url``: copied into a
    staging table, then inserted with the text search column computed as the backend does."""
    with psycopg.connect(url, autocommit=True) as conn:
        # The columns of the backend's own row parameters (postgres.row_values), in order.
        conn.execute(
            "CREATE TEMP TABLE staging (version integer, title text, status text,"
            " starts_key text, created_at text, updated_at text, tags text[], s_title text,"
            " s_location text, s_description text, capacity bigint, revision text, doc bytea,"
            " id text)"
        )
        with conn.cursor() as cursor:
            for batch in _batches(count):
                with cursor.copy("COPY staging FROM STDIN") as copy:
                    for event in batch:
                        copy.write_row(postgres.row_values(event))
        search = postgres_query.SEARCH.replace("%s", "s_title", 1)
        search = search.replace("%s", "s_location", 1).replace("%s", "s_description", 1)
        conn.execute(
            "INSERT INTO events (id, version, title, status, starts_key, created_at,"  # noqa: S608 - constants
            f" updated_at, tags, search, capacity, revision, doc) SELECT id, version, title,"
            f" status, starts_key, created_at, updated_at, tags, {search}, capacity, revision,"
            " doc FROM staging ORDER BY id"
        )
        conn.execute("ANALYZE events")


def fill(database: str, count: int) -> float:
    """Migrate ``database`` and write ``count`` events into it; the seconds it took."""
    began = time.monotonic()
    _migrate(database)
    if database.startswith("postgres"):
        fill_postgres(database, count)
    else:
        fill_sqlite(Path(database), count)
    return time.monotonic() - began


@contextlib.contextmanager
def server_with_events(
    folder: Path, count: int, *, backend: str = "sqlite", env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    """``public_server``, on a database that holds ``count`` events before it starts."""
    with database_url(backend, folder) as database:
        fill(database, count)
        create_user(database, ADMIN, ADMIN_PASSWORD, admin=True)
        port = free_port()
        everywhere = "0.0.0.0"  # noqa: S104 - public mode is the point
        command = ["serve", "--host", everywhere, "--port", str(port), "--database", database]
        with ServerProcess(command, port=port, cwd=folder, env=env) as server:
            server.wait_ready(timeout=60)
            yield server


@dataclass
class Tally:
    """What a loop of requests got: each status's count, and the latencies (seconds)."""

    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def add(self, status: int, seconds: float, body: bytes) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(seconds)
        if status >= 500 and len(self.bodies) < 5:
            self.bodies.append(body)

    def quantile(self, q: float) -> float:
        if len(self.latencies) < 2:
            return max(self.latencies, default=0.0)
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[round(q * 100) - 1]


def loop_requests(
    source: str, port: int, path: str, stop: threading.Event, tally: Tally, pause: float = 0.0
) -> None:
    """Send ``GET path`` from ``source`` again and again until ``stop`` is set."""
    while not stop.is_set():
        began = time.perf_counter()
        try:
            status, _, body = request_from(source, port, "GET", path, timeout=30)
        except OSError as exc:
            status, body = 0, repr(exc).encode()
        tally.add(status, time.perf_counter() - began, body)
        if pause:
            stop.wait(pause)


def attack(
    port: int,
    *,
    attackers: Sequence[str],
    probe_source: str,
    probe_path: str,
    seconds: float,
    listing: str = EXPENSIVE_LISTING,
    probe_pause: float = 0.02,
) -> tuple[Tally, Tally]:
    """``attackers`` loop ``listing`` while ``probe_source`` loops ``probe_path`` for
    ``seconds``: what the attackers got, and what the probe got."""
    stop = threading.Event()
    attacked, probed = Tally(), Tally()
    threads = [
        threading.Thread(target=loop_requests, args=(a, port, listing, stop, attacked))
        for a in attackers
    ]
    for thread in threads:
        thread.start()
    time.sleep(min(1.0, seconds / 4))  # the attack is under way before the probe starts
    prober = threading.Thread(
        target=loop_requests, args=(probe_source, port, probe_path, stop, probed, probe_pause)
    )
    prober.start()
    time.sleep(seconds)
    stop.set()
    for thread in [*threads, prober]:
        thread.join(timeout=60)
    return attacked, probed
