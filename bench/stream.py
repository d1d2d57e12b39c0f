#!/usr/bin/env python3
"""The live stream: the time from a change to its message, and what idle streams cost.

Usage (from the repository's root):

    bench/stream.py latency [--changes 300] [--postgres]
    bench/stream.py memory [--streams 1000]

``latency`` starts ``eventsapi serve`` (one worker, SQLite in a temporary folder; with
``--postgres``, two replicas on a fresh schema of the test server: the stream on the
first, the writes through the second, so each message is woken by NOTIFY), opens one
stream and makes ``--changes`` creates one after the other, 20 ms apart. For each change it
prints, over all of them, p50/p99/max of:

- *record to message*: from the change's ``at`` (taken in the write's transaction, before
  its commit; same machine, same clock) to the message's arrival at the client;
- *answer to message*: from the write's 201 arriving to the message arriving (negative when
  the message came first).

``memory`` starts one worker (SQLite) and opens ``--streams`` idle streams from this
process (plain sockets, each reading its head and ``retry:``), then prints the worker's
resident memory (VmRSS) before and after, and per stream.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.server_process import ServerProcess, free_port, group_members
from tests.support import postgres_schema


@contextlib.contextmanager
def servers(
    database: str, folder: Path, count: int, env: dict[str, str]
) -> Iterator[list[ServerProcess]]:
    with contextlib.ExitStack() as stack:
        started = []
        for n in range(count):
            port = free_port()
            args = ["serve", "--port", str(port), "--database", database, "--workers", "1"]
            server = ServerProcess(
                args,
                port=port,
                cwd=folder,
                env={"EVENTSAPI_LOG_LEVEL": "warning", "EVENTSAPI_RATE_LIMITS": "", **env},
                log_name=f"server{n}.log",
            )
            stack.enter_context(server)
            server.wait_ready(timeout=60)
            started.append(server)
        yield started


def url(server: ServerProcess) -> str:
    return f"http://127.0.0.1:{server.port}"


def _percentiles(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, round(len(ordered) * 0.99))] * 1000
    return f"{name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {ordered[-1] * 1000:.1f} ms"


async def measure_latency(stream_url: str, write_url: str, changes: int) -> None:
    arrived: dict[str, tuple[float, float, float]] = {}  # event id -> (at, wall, monotonic)
    answered: dict[str, float] = {}
    timeout = httpx.Timeout(30, read=None)
    async with (
        httpx.AsyncClient(timeout=timeout) as reader,
        httpx.AsyncClient() as writer,
        reader.stream("GET", f"{stream_url}/changes/stream") as response,
    ):

        async def read() -> None:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    wall, monotonic = time.time(), time.monotonic()
                    change = json.loads(line[6:])
                    at = datetime.fromisoformat(change["at"].replace("Z", "+00:00"))
                    arrived[change["id"]] = (at.timestamp(), wall, monotonic)
                    if len(arrived) == changes:
                        return

        reading = asyncio.create_task(read())
        for n in range(changes):
            created = await writer.post(f"{write_url}/events", json={"title": f"e{n}"})
            answered[created.json()["id"]] = time.monotonic()
            await asyncio.sleep(0.02)
        await asyncio.wait_for(reading, 60)
    record_to_message = [wall - at for at, wall, _ in arrived.values()]
    answer_to_message = [arrived[i][2] - answered[i] for i in arrived]
    print(f"{changes} changes")
    print(_percentiles("record to message", record_to_message))
    print(_percentiles("answer to message", answer_to_message))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def measure_memory(url: str, worker: int, count: int) -> None:
    host, port = url.removeprefix("http://").split(":")
    request = f"GET /changes/stream HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    before = rss_kib(worker)
    opened: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(request)
        head = await reader.readuntil(b"retry: 2000\n\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"stream {len(opened) + 1} refused: {head[:300]!r}")
        opened.append((reader, writer))
    await asyncio.sleep(2)  # let the worker settle
    after = rss_kib(worker)
    per_stream = (after - before) / count
    print(
        f"{count} idle streams: worker RSS {before / 1024:.1f} MiB before, "
        f"{after / 1024:.1f} MiB after, {per_stream:.1f} KiB per stream"
    )
    for _, writer in opened:
        writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["latency", "memory"])
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--postgres", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sqlite = str(Path(folder) / "events.db")
        if options.what == "memory":
            limits = {
                "EVENTSAPI_STREAM_LIMIT": str(options.streams),
                "EVENTSAPI_STREAM_LIMIT_PER_CLIENT": str(options.streams),
            }
            with servers(sqlite, Path(folder), 1, limits) as (server,):
                worker = next(pid for pid in group_members(server.pid) if pid != server.pid)
                asyncio.run(measure_memory(url(server), worker, options.streams))
        elif options.postgres:
            with postgres_schema() as database, servers(database, Path(folder), 2, {}) as both:
                asyncio.run(measure_latency(url(both[0]), url(both[1]), options.changes))
        else:
            with servers(sqlite, Path(folder), 1, {}) as (server,):
                asyncio.run(measure_latency(url(server), url(server), options.changes))


if __name__ == "__main__":
    main()
