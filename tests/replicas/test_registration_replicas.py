"""No overbooking over HTTP (issue 16): 1,000 people register at once for 100 places, spread
over three replicas on one PostgreSQL, and over two workers on one SQLite file: exactly 100
confirmed, 900 waitlisted at positions 1..900; then 50 confirmed cancel at once, and exactly
the first 50 of the waitlist are confirmed, in the order they joined.

The clients are anonymous (the servers listen on loopback: anonymous writes are on), so
each cancels with the token its registration gave it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.replicas.test_replicas import Replicas, client
from tests.server_process import ServerProcess, free_port
from tests.support import postgres_schema

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

CAPACITY = 100
PEOPLE = 1_000
LEAVING = 50
IN_FLIGHT = 150


@pytest.fixture
def postgres_replicas(tmp_path: Path) -> Iterator[list[str]]:
    with postgres_schema() as url:
        running = Replicas(url, tmp_path)
        try:
            running.start()
            yield running.urls()
        finally:
            running.stop()


@pytest.fixture
def sqlite_workers(tmp_path: Path) -> Iterator[list[str]]:
    port = free_port()
    args = ["serve", "--port", str(port), "--database", str(tmp_path / "events.db"),
            "--workers", "2", "--log-level", "warning"]  # fmt: skip
    with ServerProcess(args, port=port, cwd=tmp_path, env={"EVENTSAPI_RATE_LIMITS": ""}) as server:
        server.wait_ready()
        yield [f"http://127.0.0.1:{server.port}"]


async def everyone(http: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page: str | None = f"{url}/events/e1/registrations?limit=500"
    while page is not None:
        response = await http.get(page)
        assert response.status_code == 200, response.text
        found += response.json()
        link = response.headers.get("link")
        page = None if link is None else url + link.split(";")[0].strip("<>")
    return found


async def overbook_and_cancel(urls: list[str]) -> None:
    starts = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    # As many requests in flight as the client has connections: the rest wait their turn
    # here rather than time out waiting for a connection.
    in_flight = asyncio.Semaphore(IN_FLIGHT)

    async def post(url: str, body: dict[str, str]) -> httpx.Response:
        async with in_flight:
            return await http.post(url, json=body)

    async with client() as http:
        made = await http.post(
            f"{urls[0]}/events",
            json={"id": "e1", "title": "Popular", "starts_at": starts, "capacity": CAPACITY},
        )
        assert made.status_code == 201, made.text
        answers = await asyncio.gather(
            *(
                post(
                    f"{urls[n % len(urls)]}/events/e1/registrations",
                    {"name": f"Person {n}", "email": f"person{n}@example.org"},
                )
                for n in range(PEOPLE)
            )
        )
        assert {a.status_code for a in answers} == {201}, {a.text for a in answers}
        tokens = {a.json()["id"]: a.json()["cancel_token"] for a in answers}

        listed = await everyone(http, urls[-1])
        confirmed = [r for r in listed if r["status"] == "confirmed"]
        waiting = [r for r in listed if r["status"] == "waitlisted"]
        assert len(listed) == PEOPLE
        assert len(confirmed) == CAPACITY
        assert [r["position"] for r in waiting] == list(range(1, PEOPLE - CAPACITY + 1))

        leaving = confirmed[:LEAVING]
        cancelled = await asyncio.gather(
            *(
                http.delete(
                    f"{urls[n % len(urls)]}/events/e1/registrations/{r['id']}",
                    headers={"Registration-Token": tokens[r["id"]]},
                )
                for n, r in enumerate(leaving)
            )
        )
        assert {c.status_code for c in cancelled} == {204}

        after = {r["id"]: r for r in await everyone(http, urls[0])}
        assert [after[r["id"]]["status"] for r in leaving] == ["cancelled"] * LEAVING
        promoted = [after[r["id"]] for r in waiting[:LEAVING]]
        assert [r["status"] for r in promoted] == ["confirmed"] * LEAVING
        still = [after[r["id"]] for r in waiting[LEAVING:]]
        assert [r["status"] for r in still] == ["waitlisted"] * len(still)
        assert [r["position"] for r in still] == list(range(1, len(still) + 1))
        now_confirmed = [r for r in after.values() if r["status"] == "confirmed"]
        assert len(now_confirmed) == CAPACITY


@pytest.mark.parametrize("run", [1, 2])
async def test_1000_for_100_over_three_postgresql_replicas(
    postgres_replicas: list[str], run: int
) -> None:
    await overbook_and_cancel(postgres_replicas)


@pytest.mark.parametrize("run", [1, 2])
async def test_1000_for_100_over_two_sqlite_workers(sqlite_workers: list[str], run: int) -> None:
    await overbook_and_cancel(sqlite_workers)
