"""``GET /changes/stream`` on a real server (granian, SQLite): the messages, resuming, the
heartbeat, the limits, shutdown, and a second worker's changes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from eventsapi.api.sync_tokens import decode_sync_token, encode_sync_token
from tests.server_process import ServerProcess, free_port
from tests.stream.sse import MESSAGE, Change, RawReader, Stream, open_stream, stream_client
from tests.waiting import wait_until_async

pytestmark = [
    pytest.mark.slow,
    pytest.mark.anyio,
    pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX signals"),
]

PROBLEM = "application/problem+json"


class Server:
    def __init__(self, process: ServerProcess, database: Path) -> None:
        self.process = process
        self.database = database
        self.url = f"http://127.0.0.1:{process.port}"

    def key(self) -> bytes:
        conn = sqlite3.connect(self.database)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'instance_key'").fetchone()
        finally:
            conn.close()
        return bytes.fromhex(row[0])

    def positions(self, changes: list[Change]) -> list[int]:
        key = self.key()
        return [decode_sync_token(key, change.id) for change in changes]


def _serve(folder: Path, env: Mapping[str, str], workers: int = 1) -> ServerProcess:
    port = free_port()
    database = folder / "events.db"
    args = ["serve", "--port", str(port), "--database", str(database), "--workers", str(workers)]
    return ServerProcess(args, port=port, cwd=folder, env={"EVENTSAPI_RATE_LIMITS": "", **env})


@pytest.fixture
def server_env() -> dict[str, str]:
    return {}


@pytest.fixture
def server(tmp_path: Path, server_env: dict[str, str]) -> Iterator[Server]:
    with _serve(tmp_path, server_env) as process:
        process.wait_ready()
        yield Server(process, tmp_path / "events.db")


async def _write(http: httpx.AsyncClient, url: str, number: int) -> list[tuple[str, int]]:
    """Create, update and delete events until ``number`` changes are made: each change's
    ``(event id, version)``, in order."""
    made: list[tuple[str, int]] = []
    while len(made) < number:
        created = await http.post(f"{url}/events", json={"title": f"event {len(made)}"})
        assert created.status_code == 201, created.text
        event = created.json()
        made.append((event["id"], 1))
        if len(made) < number:
            patched = await http.patch(f"{url}/events/{event['id']}", json={"title": "moved"})
            assert patched.status_code == 200, patched.text
            made.append((event["id"], 2))
        if len(made) < number:
            deleted = await http.delete(f"{url}/events/{event['id']}")
            assert deleted.status_code == 204, deleted.text
            made.append((event["id"], 2))
    return made


async def test_each_change_is_one_message_that_an_sse_client_reads(server: Server) -> None:
    async with stream_client() as http, open_stream(http, server.url) as stream:
        response = stream.response
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in response.headers  # httpx asked for gzip
        created = (await http.post(f"{server.url}/events", json={"title": "Meetup"})).json()
        path = f"{server.url}/events/{created['id']}"
        updated = (await http.patch(path, json={"title": "Meetup (moved)"})).json()
        assert (await http.delete(path)).status_code == 204
        changes = await stream.take(3)
    assert stream.retry == [2000]
    assert [c.event for c in changes] == ["event.created", "event.updated", "event.deleted"]
    assert [c.data["type"] for c in changes] == [c.event for c in changes]
    assert [c.key for c in changes] == [(created["id"], 1), (created["id"], 2), (created["id"], 2)]
    assert [c.data["event"] for c in changes] == [created, updated, None]
    assert all(set(c.data) == {"type", "id", "version", "at", "event"} for c in changes)
    first = server.positions(changes)[0]
    assert server.positions(changes) == [first, first + 1, first + 2]
    # Each message's data is the change exactly as GET /changes lists it, byte for byte.
    async with stream_client() as http:
        since = {"since": encode_sync_token(server.key(), first - 1)}
        listed = await http.get(f"{server.url}/changes", params=since)
    assert [c.id for c in changes][-1] == listed.json()["next"]
    for change in changes:
        assert f"{change.raw}".encode() in listed.content
    assert [c.data for c in changes] == listed.json()["changes"]


async def test_the_bytes_on_the_wire_are_server_sent_events(server: Server) -> None:
    async with stream_client() as http:
        headers = {"Accept-Encoding": "identity"}
        async with http.stream("GET", f"{server.url}/changes/stream", headers=headers) as response:
            raw = RawReader(response)
            # The head, and retry:, come before any change: an EventSource opens at once.
            start = await raw.until(lambda got: got.endswith(b"\n\n"))
            assert start == b"retry: 2000\n\n"
            await _write(http, server.url, 3)
            received = await raw.until(lambda got: len(MESSAGE.findall(got)) == 3)
    framed = rb"retry: 2000\n\n(?:(?::[^\n]*\n\n)|" + MESSAGE.pattern + rb")+"
    assert re.fullmatch(framed, received), received


@pytest.mark.parametrize("server_env", [{"EVENTSAPI_GZIP_MIN_SIZE": "1"}])
async def test_gzip_never_holds_back_nor_compresses_the_stream(server: Server) -> None:
    async with stream_client() as http:
        headers = {"Accept-Encoding": "gzip"}
        async with open_stream(http, server.url, headers=headers) as stream:
            assert "content-encoding" not in stream.response.headers
            await _write(http, server.url, 1)
            assert (await stream.next()).event == "event.created"
        # Ordinary answers are still compressed.
        listed = await http.get(f"{server.url}/events", headers=headers)
        assert listed.headers["content-encoding"] == "gzip"


async def test_a_client_that_reconnects_with_the_last_id_gets_every_change_once(
    server: Server,
) -> None:
    async with stream_client() as http:
        async with open_stream(http, server.url) as stream:
            writing = asyncio.create_task(_write(http, server.url, 30))
            before = await stream.take(10)
        # Changes go on being made while the client is away.
        async with open_stream(http, server.url, headers={"Last-Event-ID": before[-1].id}) as again:
            made = await writing
            after = await again.take(20)
        assert [c.key for c in before + after] == made
        positions = server.positions(before + after)
        assert positions == list(range(positions[0], positions[0] + 30))

        # ?since= starts there too; Last-Event-ID (the reconnection's) wins over it.
        params = {"since": before[4].id}
        async with open_stream(http, server.url, params=params) as since:
            assert [c.key for c in await since.take(25)] == made[5:]
        headers = {"Last-Event-ID": before[9].id}
        async with open_stream(http, server.url, params=params, headers=headers) as both:
            assert [c.key for c in await both.take(20)] == made[10:]
        # From the very start of the log.
        params = {"since": encode_sync_token(server.key(), 0)}
        async with open_stream(http, server.url, params=params) as everything:
            assert [c.key for c in await everything.take(30)] == made


@pytest.mark.parametrize(
    "server_env",
    [{"EVENTSAPI_STREAM_HEARTBEAT_SECONDS": "0.2", "EVENTSAPI_REQUEST_BODY_TIMEOUT": "0.5"}],
)
async def test_an_idle_stream_gets_a_heartbeat_and_outlives_the_request_deadlines(
    server: Server,
) -> None:
    async with (
        stream_client() as http,
        http.stream("GET", f"{server.url}/changes/stream") as response,
    ):
        raw = RawReader(response)
        # Ten heartbeats: two seconds, four times the body deadline of other requests.
        idle = await raw.until(lambda got: got.count(b": ping\n\n") == 10)
        assert idle == b"retry: 2000\n\n" + b": ping\n\n" * 10
        await _write(http, server.url, 1)
        await raw.until(lambda got: MESSAGE.search(got) is not None)


@pytest.mark.parametrize(
    "server_env", [{"EVENTSAPI_STREAM_LIMIT": "3", "EVENTSAPI_STREAM_LIMIT_PER_CLIENT": "2"}]
)
async def test_streams_are_bounded_per_client_and_per_worker(server: Server) -> None:
    def client_at(address: str) -> httpx.AsyncClient:
        return stream_client(transport=httpx.AsyncHTTPTransport(local_address=address))

    async with (
        client_at("127.0.0.1") as first,
        client_at("127.0.0.2") as second,
        client_at("127.0.0.3") as third,
        open_stream(first, server.url),
        open_stream(first, server.url) as closing,
    ):
        over_share = await first.get(f"{server.url}/changes/stream")
        assert over_share.status_code == 429, over_share.text
        assert over_share.headers["content-type"] == PROBLEM
        assert int(over_share.headers["retry-after"]) > 0
        async with open_stream(second, server.url):
            full = await third.get(f"{server.url}/changes/stream")
            assert full.status_code == 503, full.text
            assert full.json()["type"].endswith("/problems/too-many-streams")
            assert int(full.headers["retry-after"]) > 0
            # Ordinary requests are not refused meanwhile.
            assert (await third.get(f"{server.url}/events")).status_code == 200
            await closing.source.response.aclose()

            async def admitted() -> bool:
                async with third.stream("GET", f"{server.url}/changes/stream") as response:
                    return response.status_code == 200

            await wait_until_async(admitted, "a closed stream's place to be free again")


async def test_head_answers_the_head_and_ends(server: Server) -> None:
    async with stream_client() as http:
        response = await http.head(f"{server.url}/changes/stream")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.content == b""
        # The connection carries the next request.
        assert (await http.get(f"{server.url}/events")).status_code == 200


@pytest.mark.parametrize("server_env", [{"EVENTSAPI_SHUTDOWN_TIMEOUT": "30"}])
async def test_sigterm_ends_open_streams_cleanly_and_the_server_exits(server: Server) -> None:
    async with (
        stream_client() as http,
        http.stream("GET", f"{server.url}/changes/stream") as one,
        http.stream("GET", f"{server.url}/changes/stream") as two,
    ):
        readers = [RawReader(one), RawReader(two)]
        for reader in readers:
            await reader.until(lambda got: got == b"retry: 2000\n\n")
        server.process.send_signal(signal.SIGTERM)
        for reader in readers:
            rest = await reader.rest()
            assert rest.endswith(b": the server is shutting down; reconnect with Last-Event-ID\n\n")
    assert server.process.wait(timeout=60) == 0
    log = server.process.log()
    assert "refused to gracefully stop" not in log, log
    assert "Traceback" not in log, log


async def test_a_change_through_one_worker_reaches_streams_on_the_other(tmp_path: Path) -> None:
    def worker_of(response: httpx.Response) -> str:
        return response.headers["x-request-id"].split("-")[0]  # its worker's prefix

    # Which worker accepts a connection is the kernel's choice: room for many tries.
    env = {"EVENTSAPI_STREAM_LIMIT_PER_CLIENT": "100"}
    with _serve(tmp_path, env, workers=2) as process:
        process.wait_ready()
        url = f"http://127.0.0.1:{process.port}"
        async with stream_client() as http, contextlib.AsyncExitStack() as streams:
            opened: dict[str, Stream] = {}
            for _ in range(90):  # new connections until a stream is open on each worker
                stream = await streams.enter_async_context(open_stream(http, url))
                opened.setdefault(worker_of(stream.response), stream)
                if len(opened) == 2:
                    break
            assert len(opened) == 2, "every connection went to one worker"
            made: list[tuple[str, int]] = []
            writers: set[str] = set()
            async with stream_client(limits=httpx.Limits(max_keepalive_connections=0)) as writer:
                while len(writers) < 2:
                    assert len(made) < 90, "every write went to one worker"
                    created = await writer.post(f"{url}/events", json={"title": "x"})
                    writers.add(worker_of(created))
                    made.append((created.json()["id"], 1))
            for stream in opened.values():
                assert [c.key for c in await stream.take(len(made))] == made


async def test_a_client_too_slow_is_disconnected_without_holding_back_others(
    server: Server,
) -> None:
    """A client that reads nothing: once the server's socket buffers are full, its
    messages wait in the hub, and past 256 of them it is disconnected; the other stream
    gets every change meanwhile, and the slow one resumes with its last id."""
    total = 1200
    big = "x" * 10_000  # ~10 kB a message: the socket buffers fill after a few hundred
    slow = socket.create_connection(("127.0.0.1", server.process.port))
    slow.sendall(b"GET /changes/stream HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n")
    async with stream_client() as http, open_stream(http, server.url) as fast:
        reading = asyncio.create_task(fast.take(total))
        async with stream_client() as writer:

            async def create(n: int) -> None:
                body = {"title": f"{n}", "description": big}
                created = await writer.post(f"{server.url}/events", json=body)
                assert created.status_code == 201, created.text

            for first in range(0, total, 10):  # ten at a time: commits are grouped
                await asyncio.gather(*(create(n) for n in range(first, first + 10)))
        logged = [c.key for c in await reading]
        assert len(set(logged)) == total

    # The slow client's connection was closed by the server: what it can still read ends.
    received = await asyncio.to_thread(_read_to_the_end, slow)
    body = _dechunked(received[received.index(b"\r\n\r\n") + 4 :])
    ids = [match[0].decode() for match in MESSAGE.findall(body)]
    assert 0 < len(ids) < total
    resume = {"Last-Event-ID": ids[-1]}
    async with stream_client() as http, open_stream(http, server.url, headers=resume) as again:
        rest = await again.take(total - len(ids))
    assert [c.key for c in rest] == logged[len(ids) :]


def _read_to_the_end(connection: socket.socket) -> bytes:
    connection.settimeout(60)  # a guard: the server must close it long before
    received = b""
    with connection:
        while True:
            try:
                chunk = connection.recv(65536)
            except ConnectionResetError:
                return received
            if not chunk:
                return received
            received += chunk


def _dechunked(raw: bytes) -> bytes:
    """The body of a chunked transfer, up to where it was cut."""
    body = b""
    while raw:
        size_line, _, raw = raw.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0 or len(raw) < size:
            return body + raw[:size]
        body += raw[:size]
        raw = raw[size + 2 :]
    return body


@pytest.mark.parametrize(
    "server_env", [{"EVENTSAPI_METRICS": "true", "EVENTSAPI_STREAM_HEARTBEAT_SECONDS": "0.2"}]
)
async def test_a_long_stream_is_not_a_slow_request_in_the_latency_sli(server: Server) -> None:
    bucket = re.compile(
        r'eventsapi_http_request_duration_seconds_bucket\{(?=[^}]*route="/changes/stream")'
        r'(?=[^}]*le="5\.0")[^}]*\} ([0-9.]+)'
    )
    async with stream_client() as http:
        async with http.stream("GET", f"{server.url}/changes/stream") as response:
            # 26 heartbeats: the stream lasts over 5 s, the SLI's bound of 5000 ms.
            await RawReader(response).until(lambda got: got.count(b": ping\n\n") == 26)

        async def counted() -> bool:
            found = bucket.search((await http.get(f"{server.url}/metrics")).text)
            return found is not None and float(found[1]) == 1

        # Its latency is the time to its head (within 5 s), not how long it lasted.
        await wait_until_async(counted, "the stream counted within 5 s in /metrics")
