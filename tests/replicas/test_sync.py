"""Incremental sync under load: a client following ``GET /changes`` while 2,000 concurrent
writes (creates, patches, deletes) go through three replicas on one PostgreSQL, or through
two workers on one SQLite file, ends with exactly the server's state, having seen every
change once, in the order of the log.

The client starts as a real one does: a full, paged listing of the events there already
are, keeping its ``Sync-Token``; it then follows ``/changes`` from it, asking a different
replica each time, while the writers write. At the end its copy must equal a fresh full
listing, and what it saw must be the database's change log after the token, record for
record. (Why a naive ``WHERE seq > P`` log would fail this: ``tests/contract/
test_postgres_changes.py``.)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.replicas.test_replicas import Replicas
from tests.server_process import ServerProcess, free_port
from tests.support import postgres_schema

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

WRITERS = 40
WRITES_PER_WRITER = 50
"""2,000 writes in all."""
EXISTING = 30
"""Events made before the client's first listing."""
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}

Seen = tuple[str, str, int]
"""A change as the client saw it: its type, the event's id and version."""


async def write_a_while(http: httpx.AsyncClient, urls: list[str], writer: int) -> int:
    """Creates, patches and deletes of the writer's own events over every server; how many
    were acknowledged (every one must be)."""
    rng = random.Random(writer)  # noqa: S311 - a test's choice of writes
    mine: list[str] = []
    for number in range(WRITES_PER_WRITER):
        url = urls[(writer + number) % len(urls)]
        choice = rng.random()
        if not mine or choice < 0.4:
            response = await http.post(f"{url}/events", json={"title": f"w{writer} n{number}"})
            assert response.status_code == 201, response.text
            mine.append(response.json()["id"])
        elif choice < 0.8:
            event_id = rng.choice(mine)
            response = await http.patch(
                f"{url}/events/{event_id}",
                json={"title": f"w{writer} n{number}", "capacity": number},
                headers=MERGE_PATCH,
            )
            assert response.status_code == 200, response.text
        else:
            event_id = mine.pop(rng.randrange(len(mine)))
            response = await http.delete(f"{url}/events/{event_id}")
            assert response.status_code == 204, response.text
    return WRITES_PER_WRITER


async def full_listing(http: httpx.AsyncClient, url: str) -> tuple[dict[str, Any], str]:
    """Every event by id, paged, and the Sync-Token of the first page."""
    response = await http.get(f"{url}/events", params={"limit": 7})
    token = response.headers["sync-token"]
    events: dict[str, Any] = {}
    while True:
        assert response.status_code == 200, response.text
        events.update({event["id"]: event for event in response.json()})
        following = response.links.get("next")
        if following is None:
            return events, token
        response = await http.get(f"{url}{following['url']}")


class SyncClient:
    """A client's copy of the events, kept by following ``/changes`` over the servers."""

    def __init__(self, http: httpx.AsyncClient, urls: list[str]) -> None:
        self.http = http
        self.urls = itertools.cycle(urls)
        self.events: dict[str, Any] = {}
        self.token = ""
        self.seen: list[Seen] = []

    async def start(self) -> None:
        self.events, self.token = await full_listing(self.http, next(self.urls))

    async def step(self) -> bool:
        """Apply one answer of ``/changes``; whether more changes were waiting."""
        response = await self.http.get(
            f"{next(self.urls)}/changes", params={"since": self.token, "limit": 50}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        for change in page["changes"]:
            self.seen.append((change["type"], change["id"], change["version"]))
            if change["type"] == "event.deleted":
                self.events.pop(change["id"], None)  # created and deleted during the listing
            else:
                self.events[change["id"]] = change["event"]
        self.token = page["next"]
        more: bool = page["more"]
        return more

    async def follow(self, writing: asyncio.Future[Any]) -> int:
        """Follow until the writers are done and nothing is left; how many answers it took."""
        answers = 0
        while True:
            done = writing.done()
            more = await self.step()
            answers += 1
            if done and not more:
                return answers
            if not more:
                await asyncio.sleep(0.02)


async def sync_under_load(urls: list[str]) -> tuple[SyncClient, int, dict[str, Any], int]:
    """The client's run; how many writes were made, the final listing, and the number of
    ``/changes`` answers the client read."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        for number in range(EXISTING):
            created = await http.post(f"{urls[0]}/events", json={"title": f"before {number}"})
            assert created.status_code == 201, created.text
        client = SyncClient(http, urls)
        writing = asyncio.gather(*(write_a_while(http, urls, w) for w in range(WRITERS)))
        await client.start()
        answers = await client.follow(writing)
        made = sum(await writing)
        final, _ = await full_listing(http, urls[-1])
    return client, made, final, answers


def assert_synced(
    client: SyncClient, made: int, final: dict[str, Any], log: list[Seen], answers: int
) -> None:
    assert made == WRITERS * WRITES_PER_WRITER
    assert client.events == final
    # What the client saw is the tail of the database's log, record for record, in order:
    # each change once, none skipped.
    assert log[-len(client.seen) :] == client.seen
    assert len(client.seen) >= made  # and the writes made during the listing, at most
    assert len(client.seen) <= made + EXISTING + 1
    assert len(set(client.seen)) == len(client.seen)
    assert answers > 2  # it followed while the writers wrote


@pytest.fixture
def postgres_replicas(tmp_path: Path) -> Iterator[Replicas]:
    with postgres_schema() as url:
        running = Replicas(url, tmp_path)
        try:
            running.start()
            yield running
        finally:
            running.stop()


async def test_a_sync_client_keeps_up_with_three_replicas_on_postgresql(
    postgres_replicas: Replicas,
) -> None:
    client, made, final, answers = await sync_under_load(postgres_replicas.urls())

    async with await psycopg.AsyncConnection.connect(postgres_replicas.url) as conn:
        cursor = await conn.execute("SELECT type, event_id, version FROM changes ORDER BY position")
        log = [(str(t), str(i), int(v)) for t, i, v in await cursor.fetchall()]
    assert len(log) == EXISTING + made
    assert_synced(client, made, final, log, answers)


@pytest.fixture
def sqlite_workers(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    database = tmp_path / "events.db"
    port = free_port()
    args = ["serve", "--port", str(port), "--database", str(database), "--workers", "2",
            "--log-level", "warning"]  # fmt: skip
    with ServerProcess(args, port=port, cwd=tmp_path, env={"EVENTSAPI_RATE_LIMITS": ""}) as server:
        server.wait_ready()
        yield server, database


async def test_a_sync_client_keeps_up_with_two_workers_on_sqlite(
    sqlite_workers: tuple[ServerProcess, Path],
) -> None:
    server, database = sqlite_workers
    url = f"http://127.0.0.1:{server.port}"

    client, made, final, answers = await sync_under_load([url])

    with contextlib.closing(sqlite3.connect(database)) as conn:
        rows = conn.execute("SELECT type, event_id, version FROM changes ORDER BY position")
        log = [(str(t), str(i), int(v)) for t, i, v in rows.fetchall()]
    assert len(log) == EXISTING + made
    assert_synced(client, made, final, log, answers)
