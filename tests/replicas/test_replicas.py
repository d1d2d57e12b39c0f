"""Three eventsapi replicas on one PostgreSQL: any request can go to any replica.

Each test starts three real server processes on different ports against one
schema of the test server and spreads its requests over them. The last test
stops PostgreSQL itself (``pg_ctlcluster ... stop -m immediate``) in the middle
of the load and starts it again: it needs the right to do that (CI runs as the
machine's administrator) and leaves the server running, as it found it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server_process import ServerProcess, free_port
from tests.support import postgres_schema
from tests.waiting import wait_until_async

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

REPLICAS = 3
POOL_TIMEOUT = 2.0
"""Seconds a request waits for a database connection before its 503 (setting pool_timeout)."""
CLUSTER = os.environ.get("EVENTSAPI_TEST_PG_CLUSTER", "15 main")
"""The ``pg_ctlcluster`` version and name of the test server."""


class Replicas:
    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.servers = []
        for n in range(REPLICAS):
            port = free_port()
            args = ["serve", "--port", str(port), "--database", url, "--log-level", "warning"]
            # Rate limits off: hundreds of writers on one address are the load under test.
            env = {"EVENTSAPI_POOL_TIMEOUT": str(POOL_TIMEOUT), "EVENTSAPI_RATE_LIMITS": ""}
            self.servers.append(
                ServerProcess(args, port=port, cwd=folder, env=env, log_name=f"replica{n}.log")
            )

    def start(self) -> None:
        for server in self.servers:
            server.start()
        for server in self.servers:
            server.wait_ready()

    def stop(self) -> None:
        for server in self.servers:
            if server.proc is not None and server.proc.poll() is None:
                server.kill_group()

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{server.port}" for server in self.servers]


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[Replicas]:
    with postgres_schema() as url:
        running = Replicas(url, tmp_path)
        try:
            running.start()
            yield running
        finally:
            running.stop()


def client(*, keep_alive: bool = True) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200 if keep_alive else 0)
    return httpx.AsyncClient(limits=limits, timeout=30)


async def test_one_idempotency_key_sent_to_every_replica_creates_one_event(
    replicas: Replicas,
) -> None:
    headers = {"Idempotency-Key": "one-key-three-replicas"}
    async with client() as http:
        responses = await asyncio.gather(
            *(
                http.post(f"{url}/events", json={"title": "Once"}, headers=headers)
                for url in replicas.urls() * 10
            )
        )
        listed = await http.get(f"{replicas.urls()[0]}/events", params={"q": "once"})

    created = [r for r in responses if r.status_code == 201]
    assert {r.status_code for r in responses} <= {201, 409}
    assert len({r.content for r in created}) == 1, "every 201 is the same, first response"
    assert len(listed.json()) == 1


PASSPHRASE = "quartz meadow lantern ninety"  # noqa: S105 - a test account's passphrase


def _add_account(url: str, name: str) -> None:
    created = subprocess.run(
        [sys.executable, "-m", "eventsapi", "users", "create", name, "--password-stdin",
         "--database", url],
        input=PASSPHRASE, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr


async def _login(http: httpx.AsyncClient, url: str, name: str) -> tuple[dict[str, str], str]:
    """The bearer header of a new session, and the session's id."""
    response = await http.post(f"{url}/auth/login", json={"username": name, "password": PASSPHRASE})
    assert response.status_code == 200, response.text
    http.cookies.clear()  # the bearer token alone identifies the session
    login = response.json()
    return {"Authorization": f"Bearer {login['token']}"}, login["session"]["id"]


async def _statuses(http: httpx.AsyncClient, urls: list[str], auth: dict[str, str]) -> list[int]:
    return [(await http.get(f"{url}/auth/me", headers=auth)).status_code for url in urls]


async def test_a_session_ended_on_one_replica_is_refused_at_once_by_every_replica(
    replicas: Replicas,
) -> None:
    _add_account(replicas.url, "alice")
    first, second, third = replicas.urls()
    async with client() as http:
        laptop, laptop_session = await _login(http, first, "alice")
        phone, _ = await _login(http, second, "alice")
        tablet, _ = await _login(http, third, "alice")
        before = await _statuses(http, replicas.urls(), laptop)

        # The phone ends the laptop's session (by id) on the second replica ...
        ended = await http.delete(f"{second}/auth/sessions/{laptop_session}", headers=phone)
        after_one = await _statuses(http, replicas.urls(), laptop)
        # ... then every other session on the third ("terminate all other sessions").
        others = await http.delete(f"{third}/auth/sessions", headers=tablet)
        phone_after = await _statuses(http, replicas.urls(), phone)
        tablet_after = await _statuses(http, replicas.urls(), tablet)

    assert before == [200, 200, 200]
    assert ended.status_code == 204, ended.text
    assert after_one == [401, 401, 401]
    assert others.status_code == 200, others.text
    assert others.json() == {"terminated": 1}  # the phone's; the laptop's had ended
    assert phone_after == [401, 401, 401]
    assert tablet_after == [200, 200, 200]


async def test_100_conditional_patches_over_the_replicas_exactly_one_wins(
    replicas: Replicas,
) -> None:
    urls = itertools.cycle(replicas.urls())
    async with client() as http:
        created = await http.post(f"{next(urls)}/events", json={"title": "Contested"})
        path, tag = created.headers["location"], created.headers["etag"]
        responses = await asyncio.gather(
            *(
                http.patch(
                    f"{next(urls)}{path}", json={"title": f"W{n}"}, headers={"If-Match": tag}
                )
                for n in range(100)
            )
        )
        finals = [(await http.get(f"{url}{path}")).json() for url in replicas.urls()]

    assert sorted(r.status_code for r in responses) == [200] + [412] * 99
    winner = next(r for r in responses if r.status_code == 200).json()
    assert finals == [winner] * REPLICAS


async def _write_until(
    http: httpx.AsyncClient,
    urls: list[str],
    stop: asyncio.Event,
    acknowledged: dict[str, str],
    seen: list[int],
) -> list[int]:
    """POST events round-robin until ``stop``; record each acknowledged id and title, and
    every status in ``seen`` too (shared by the writers, for the test to wait on)."""
    statuses: list[int] = []
    for n in itertools.count():
        if stop.is_set():
            return statuses
        title = f"write {id(statuses)}-{n}"
        try:
            response = await http.post(f"{urls[n % len(urls)]}/events", json={"title": title})
        except httpx.TransportError as exc:
            statuses.append(0)  # the replica died or the connection broke: not acknowledged
            seen.append(0)
            print("transport error:", type(exc).__name__, exc)  # shown when the test fails
            await asyncio.sleep(0.01)
            continue
        statuses.append(response.status_code)
        seen.append(response.status_code)
        if response.status_code == 201:
            acknowledged[response.json()["id"]] = title
        elif response.status_code == 503:
            await asyncio.sleep(0.05)
    return statuses


async def _all_events(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    found: dict[str, str] = {}
    next_url: str | None = f"{url}/events?limit=500"
    while next_url is not None:
        response = await http.get(next_url)
        assert response.status_code == 200, response.text
        found.update({e["id"]: e["title"] for e in response.json()})
        link = response.links.get("next")
        next_url = f"{url}{link['url']}" if link else None
    return found


async def test_kill_9_of_one_replica_during_300_writers_loses_no_acknowledged_write(
    replicas: Replicas,
) -> None:
    acknowledged: dict[str, str] = {}
    seen: list[int] = []
    stop = asyncio.Event()
    async with client() as http:
        writers = [
            asyncio.create_task(_write_until(http, replicas.urls(), stop, acknowledged, seen))
            for _ in range(300)
        ]
        await wait_until_async(lambda: len(acknowledged) >= 300, "300 writes acknowledged")
        replicas.servers[1].kill_group()
        killed_at = len(acknowledged)
        # under way after the kill: writers met the dead replica, the others took writes
        await wait_until_async(lambda: 0 in seen, "a write refused by the dead replica")
        await wait_until_async(
            lambda: len(acknowledged) >= killed_at + 300, "300 writes after the kill"
        )
        stop.set()
        statuses = [s for writer in writers for s in await writer]
        stored = await _all_events(http, replicas.urls()[0])

    assert acknowledged, "some writes were acknowledged"
    assert {s for s in statuses} <= {201, 0}, "a surviving replica never fails a write"
    missing = {i for i in acknowledged if stored.get(i) != acknowledged[i]}
    assert missing == set()


def _pg_ctl(action: str, *extra: str) -> None:
    version, name = CLUSTER.split()
    subprocess.run(
        ["pg_ctlcluster", version, name, action, *extra], check=True, capture_output=True
    )


async def test_postgres_stopped_mid_load_gives_503s_then_full_recovery(
    replicas: Replicas,
) -> None:
    if shutil.which("pg_ctlcluster") is None:
        pytest.fail("pg_ctlcluster is needed to stop and start the test server")
    acknowledged: dict[str, str] = {}
    seen: list[int] = []
    stop = asyncio.Event()
    # A connection per request: a keep-alive connection that a replica closes just as
    # the client reuses it would surface as a transport error that says nothing about
    # how the replica answers.
    async with client(keep_alive=False) as http:
        writers = [
            asyncio.create_task(_write_until(http, replicas.urls(), stop, acknowledged, seen))
            for _ in range(60)
        ]
        await wait_until_async(lambda: len(acknowledged) >= 60, "60 writes acknowledged")
        before = len(acknowledged)
        await asyncio.to_thread(_pg_ctl, "stop", "-m", "immediate")
        try:
            await wait_until_async(lambda: 503 in seen, "a write answered 503")
            during = len(acknowledged)
            probes = [await http.get(f"{url}/readyz") for url in replicas.urls()]
            slowest = await http.get(f"{replicas.urls()[0]}/events/anything")
        finally:
            await asyncio.to_thread(_pg_ctl, "start")
        await wait_until_async(  # the pool's reconnect backs off: a minute at most
            lambda: len(acknowledged) > during + 60, "writes acknowledged again", within=60
        )
        stop.set()
        statuses = [s for writer in writers for s in await writer]
        after_restart = len(acknowledged)
        ready = [await http.get(f"{url}/readyz") for url in replicas.urls()]
        stored = await _all_events(http, replicas.urls()[2])

    assert before > 0
    assert set(statuses) <= {201, 503}, f"no 500s, no other failures: {set(statuses)}"
    assert 503 in statuses
    assert all(p.status_code == 503 for p in probes), "not ready while the database is down"
    assert slowest.status_code == 503
    assert slowest.headers["retry-after"]
    assert after_restart > during, "writes succeed again without restarting the replicas"
    assert all(r.status_code == 200 for r in ready)
    assert {i for i in acknowledged if stored.get(i) != acknowledged[i]} == set()
