"""The live stream across PostgreSQL replicas: a change made through one reaches streams on
the others (LISTEN/NOTIFY), and a client whose replica is killed resumes on another with
``Last-Event-ID``, missing nothing and seeing nothing twice."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from eventsapi.api.sync_tokens import decode_sync_token
from tests.server_process import ServerProcess, free_port
from tests.stream.sse import Change, Stream, open_stream, stream_client
from tests.support import POSTGRES_URL, postgres_schema
from tests.waiting import wait_until_async

pytestmark = [
    pytest.mark.slow,
    pytest.mark.anyio,
    pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX signals"),
]

LISTENING = "LISTEN eventsapi_changes"


class Replicas:
    def __init__(self, database: str, folder: Path, count: int) -> None:
        self.database = database
        self.servers = []
        for n in range(count):
            port = free_port()
            args = ["serve", "--port", str(port), "--database", database, "--log-level", "warning"]
            env = {"EVENTSAPI_RATE_LIMITS": ""}
            self.servers.append(
                ServerProcess(args, port=port, cwd=folder, env=env, log_name=f"replica{n}.log")
            )
        self.urls = [f"http://127.0.0.1:{server.port}" for server in self.servers]

    def key(self) -> bytes:
        with psycopg.connect(self.database) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'instance_key'").fetchone()
        assert row is not None
        return bytes.fromhex(row[0])

    def listening_backends(self) -> set[int]:
        """The server processes of this database's connections that LISTEN for changes."""
        application = psycopg.conninfo.conninfo_to_dict(self.database)["application_name"]
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            rows = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND query = %s",
                (application, LISTENING),
            ).fetchall()
        return {row[0] for row in rows}


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[Replicas]:
    with postgres_schema() as url:
        running = Replicas(url, tmp_path, 2)
        try:
            for server in running.servers:
                server.start()
            for server in running.servers:
                server.wait_ready()
            yield running
        finally:
            for server in running.servers:
                if server.proc is not None and server.proc.poll() is None:
                    server.kill_group()


async def _create(http: httpx.AsyncClient, url: str, title: str) -> tuple[str, int]:
    created = await http.post(f"{url}/events", json={"title": title})
    assert created.status_code == 201, created.text
    return created.json()["id"], 1


async def _until_cut(stream: Stream) -> list[Change]:
    """What was on its way before the server was killed, until the connection breaks."""
    changes = []
    try:
        while True:
            changes.append(await stream.next())
    except httpx.TransportError:
        return changes


async def test_a_change_through_one_replica_reaches_streams_on_the_other(
    replicas: Replicas,
) -> None:
    first, second = replicas.urls
    # Each replica's worker listens on a connection of its own.
    await wait_until_async(lambda: len(replicas.listening_backends()) == 2, "two listeners")
    async with stream_client() as http, open_stream(http, first) as stream:
        made = [await _create(http, second, "through the second")]
        assert [c.key for c in await stream.take(1)] == made

        # The listening connections are cut (a server restart, a network cut): each
        # replica listens again, and changes still reach the stream.
        cut = replicas.listening_backends()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) pid", (list(cut),)
            )
        await wait_until_async(
            lambda: len(replicas.listening_backends() - cut) == 2, "both replicas to listen again"
        )
        made.append(await _create(http, second, "after the cut"))
        assert [c.key for c in await stream.take(1)] == made[1:]


async def test_a_client_resumes_on_another_replica_after_kill_9_with_no_gap_nor_duplicate(
    replicas: Replicas,
) -> None:
    doomed, survivor = replicas.urls
    total = 300
    received: list[Change] = []
    async with stream_client() as http:
        async with open_stream(http, doomed) as stream:

            async def write() -> list[tuple[str, int]]:
                async with stream_client() as writer:  # changes keep coming throughout
                    return [await _create(writer, survivor, f"event {n}") for n in range(total)]

            writing = asyncio.create_task(write())
            received += await stream.take(50)
            replicas.servers[0].kill_group()
            received += await _until_cut(stream)
        resume = {"Last-Event-ID": received[-1].id}
        async with open_stream(http, survivor, headers=resume) as again:
            made = await writing
            received += await again.take(total - len(received))
    assert [change.key for change in received] == made
    key = replicas.key()
    positions = [decode_sync_token(key, change.id) for change in received]
    assert positions == list(range(positions[0], positions[0] + total))
