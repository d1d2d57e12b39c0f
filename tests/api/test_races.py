"""Races against a real server: conditional writes and idempotency keys under concurrency.

The server runs with two worker processes on one SQLite file, so requests race
across processes (each with its own writer) as well as inside one.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server_process import ServerProcess, free_port

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("races")
    port = free_port()
    args = ["serve", "--port", str(port), "--workers", "2", "--database", str(folder / "e.db")]
    # Rate limits off: these tests send hundreds of writes in a second from one address.
    env = {"EVENTSAPI_RATE_LIMITS": ""}
    with ServerProcess(args, port=port, cwd=folder, env=env) as running:
        running.wait_ready()
        yield running


def client_for(server: ServerProcess) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", limits=limits, timeout=30)


async def test_100_concurrent_patches_with_one_if_match_exactly_one_wins(
    server: ServerProcess,
) -> None:
    async with client_for(server) as client:
        created = await client.post("/events", json={"title": "Contested"})
        url, tag = created.headers["location"], created.headers["etag"]

        responses = await asyncio.gather(
            *(
                client.patch(url, json={"title": f"Writer {n}"}, headers={"If-Match": tag})
                for n in range(100)
            )
        )
        final = await client.get(url)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 99
    winner = next(r for r in responses if r.status_code == 200)
    assert final.json() == winner.json()
    assert final.json()["version"] == 2


async def test_1000_replays_of_one_key_make_one_event_and_identical_responses(
    server: ServerProcess,
) -> None:
    headers = {"Idempotency-Key": "replay-1000"}
    body = {"title": "Exactly once"}
    async with client_for(server) as client:
        first = await client.post("/events", json=body, headers=headers)
        semaphore = asyncio.Semaphore(25)

        async def replay() -> httpx.Response:
            async with semaphore:
                return await client.post("/events", json=body, headers=headers)

        replays = await asyncio.gather(*(replay() for _ in range(1000)))
        listed = await client.get("/events", params={"q": "exactly once", "limit": 500})

    assert first.status_code == 201
    assert {r.status_code for r in replays} == {201}
    assert {r.content for r in replays} == {first.content}
    assert {r.headers["etag"] for r in replays} == {first.headers["etag"]}
    assert all(r.headers["idempotent-replayed"] == "true" for r in replays)
    assert [e["id"] for e in listed.json()] == [first.json()["id"]]


async def test_50_concurrent_requests_with_one_new_key_have_one_effect(
    server: ServerProcess,
) -> None:
    headers = {"Idempotency-Key": "fresh-key-50"}
    body = {"title": "Fifty at once"}
    async with client_for(server) as client:
        responses = await asyncio.gather(
            *(client.post("/events", json=body, headers=headers) for _ in range(50))
        )
        listed = await client.get("/events", params={"q": "fifty at once"})

    created = [r for r in responses if r.status_code == 201]
    in_flight = [r for r in responses if r.status_code == 409]
    assert len(created) + len(in_flight) == 50, {r.status_code for r in responses}
    assert len({r.content for r in created}) == 1, "every 201 is the one effect"
    assert all(r.json()["type"] == "/problems/idempotency-key-in-use" for r in in_flight)
    assert len(listed.json()) == 1


def _send_headers_and_half_a_body(port: int, key: str) -> socket.socket:
    body = b'{"title": "Half sent"}'
    head = (
        f"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nIdempotency-Key: {key}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head + body[:8])
    return sock


async def test_a_retry_while_the_first_request_is_in_flight_is_409(tmp_path: Path) -> None:
    # One worker: a key in flight is known to the process that holds it.
    port = free_port()
    args = ["serve", "--port", str(port), "--database", str(tmp_path / "e.db")]
    with ServerProcess(args, port=port, cwd=tmp_path) as single:
        single.wait_ready()
        first = _send_headers_and_half_a_body(port, "slow-key")
        try:
            async with client_for(single) as client:
                deadline = time.monotonic() + 10
                while True:  # until the server has read the first request's headers
                    retry = await client.post(
                        "/events",
                        json={"title": "Half sent"},
                        headers={"Idempotency-Key": "slow-key"},
                    )
                    if retry.status_code == 409 or time.monotonic() > deadline:
                        break
                assert retry.status_code == 409, retry.text
                assert retry.json()["type"] == "/problems/idempotency-key-in-use"
                first.sendall(b'{"title": "Half sent"}'[8:])
                answer = first.recv(65536)
                assert answer.startswith(b"HTTP/1.1 201"), answer
                replay = await client.post(
                    "/events",
                    content=b'{"title": "Half sent"}',
                    headers={"Idempotency-Key": "slow-key", "Content-Type": "application/json"},
                )
                assert replay.status_code == 201
                assert replay.content == answer.split(b"\r\n\r\n", 1)[1]
        finally:
            first.close()
