#!/usr/bin/env python3
"""A soak: a mix of requests at half the measured maximum rate, for minutes, and its checks.

Usage: bench/soak.py --backend sqlite|postgres [--minutes 30] [--out DIR]

1. Start the servers on a fresh database: SQLite with 2 workers, or two replicas (two
   ``eventsapi serve`` processes) on one PostgreSQL database, in a schema of its own that
   is dropped afterwards. Make one account (``eventsapi users create``) and seed events.
2. A burst (closed loop, ``--burst-connections`` at once, ``--burst-seconds``) of the mix
   finds the maximum rate this client and these servers reach together on this machine.
3. An open loop at half of it (``--rate`` overrides): requests are sent at fixed times, and
   each latency runs from the time the request was *due*, not from when it went out, so
   a stall shows in the latency of every request that waited behind it (no coordinated
   omission). Open-loop traffic starts right after the burst; the measured minutes start
   at the next whole minute of the clock (so they are the minutes ``GET /slo`` counts), and
   no request is due in the last second of the last minute, so that every response is in
   before that minute closes.
4. ``GET /slo`` on every server, once the last minute is complete and every worker has
   added its counts (they do every 5 s): the availability SLO's window is the completed
   minutes, so its ``requests.total`` and ``requests.bad`` are compared with the responses
   the client received before the window's end (all of them: seeding, burst and soak).

The mix: 80 % reads (40 % one event by id, 25 % a list page, 15 % a search), 15 % writes
(5 % create, 5 % patch, 5 % delete, of events the soak created), 5 % account traffic (3 %
session list, 1 % login, 1 % logout of the oldest of the soak's sessions that no request is
using, so that they do not pile up). The servers listen on 127.0.0.1, so the client's
requests are local and not rate-limited (local mode, docs/security.md); since all of them
come from one address, the soak raises the per-address caps that would otherwise refuse a
legitimate load from one client: ``max_listings_per_client`` (2, to 64, as bench/run.sh does) and
``password_hashing_per_client`` (4, to the worker's 20 places).

Every response is recorded (``responses.csv.gz``: due time, latency, status, operation,
server, phase, and an error's problem type); ``summary.json`` holds the checks and the
per-minute figures; ``soak.png`` plots p99, RSS (summed over each server's process tree)
and server CPU per minute.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import csv
import dataclasses
import gzip
import json
import math
import multiprocessing
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx
from process_tree import cpu_seconds, rss_mb, tree_pids

USER = "soak"
WORDS = [
    "python",
    "go",
    "rust",
    "meetup",
    "workshop",
    "conference",
    "berlin",
    "paris",
    "lisbon",
    "community",
    "data",
    "web",
    "security",
    "cloud",
    "release",
    "sprint",
    "talk",
    "night",
    "summit",
    "garden",
    "music",
    "river",
]
# (operation, weight in %)
MIX = (
    ("get_one", 40),
    ("list_page", 25),
    ("search", 15),
    ("create", 5),
    ("patch", 5),
    ("delete", 5),
    ("session_list", 3),
    ("login", 1),
    ("logout", 1),
)
READS = {"get_one", "list_page", "search"}
WRITES = {"create", "patch", "delete"}
RSS_TOLERANCE = 0.05


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventsapi_bin() -> list[str]:
    return [sys.executable, "-m", "eventsapi"]


# -- the servers' processes ----------------------------------------------------------------


@dataclass
class Servers:
    backend: str
    work: Path
    ports: list[int]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    schema: str = ""
    postgres_url: str = ""

    @property
    def database(self) -> str:
        if self.backend == "sqlite":
            return str(self.work / "events.db")
        return f"{self.postgres_url}?options=-csearch_path%3D{self.schema}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTSAPI_")}
        env.update(
            EVENTSAPI_MAX_LISTINGS_PER_CLIENT="64",
            EVENTSAPI_PASSWORD_HASHING_PER_CLIENT="20",  # noqa: S106 - a count, not a secret
            EVENTSAPI_LOG_LEVEL="warning",
        )
        return env

    def start(self, password: str) -> None:
        if self.backend == "postgres":
            self._sql(
                f"DROP SCHEMA IF EXISTS {self.schema} CASCADE", f"CREATE SCHEMA {self.schema}"
            )
        subprocess.run(  # noqa: S603 - our own command line
            [
                *eventsapi_bin(),
                "users",
                "create",
                USER,
                "--password-stdin",
                "--database",
                self.database,
            ],
            input=password.encode(),
            env=self.env(),
            check=True,
            capture_output=True,
        )
        workers = "2" if self.backend == "sqlite" else "1"
        for i, port in enumerate(self.ports):
            log = (self.work / f"server-{i}.log").open("ab")
            self.procs.append(
                subprocess.Popen(  # noqa: S603 - our own command line
                    [
                        *eventsapi_bin(),
                        "serve",
                        "--port",
                        str(port),
                        "--workers",
                        workers,
                        "--database",
                        self.database,
                    ],
                    env=self.env(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    cwd=self.work,
                )
            )
        deadline = time.monotonic() + 60
        for port in self.ports:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                    raise SystemExit(f"a server did not start: see {self.work}/server-*.log")
                time.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.backend == "postgres":
            self._sql(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")

    def _sql(self, *statements: str) -> None:
        import psycopg  # the postgres extra

        with psycopg.connect(self.postgres_url, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)


# -- the client ----------------------------------------------------------------------------


@dataclass
class Record:
    due: float  # wall-clock time the request was due (open loop) or sent (seed, burst)
    latency: float  # seconds from due to the whole response
    done: float  # wall-clock time the response was complete
    status: int  # 0: no response (connection error, timeout)
    op: str
    server: int
    phase: str
    problem: str = ""  # the problem type of an error answer (RFC 9457 ``type``)


def no_cookies() -> CookieJar:
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class Client:
    """The mix, over one httpx client per server; every response is recorded."""

    def __init__(self, ports: list[int], password: str, connections: int, seed: int) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.clients = [
            # No cookie jar: a login's session cookie would otherwise ride on every later
            # request (and a 401 once that session is logged out); tokens are sent as Bearer.
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{p}", limits=limits, timeout=60, cookies=no_cookies()
            )
            for p in ports
        ]
        self.password = password
        self.records: list[Record] = []
        self.ids: list[str] = []  # events the soak created and did not delete
        self.tokens: list[str] = []  # the soak's sessions, oldest first
        # Requests in flight per session: a session is never logged out under one of them,
        # else that request, answered after the logout on another connection, is a 401.
        self.in_flight: collections.Counter[str] = collections.Counter()
        self.rng = random.Random(18 + seed)  # noqa: S311 - a reproducible mix, not secrets
        self.next = seed
        self.ops = [op for op, weight in MIX for _ in range(weight)]
        self.phase = "seed"

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()

    def _server(self) -> int:
        self.next = (self.next + 1) % len(self.clients)
        return self.next

    async def request(
        self, op: str, method: str, url: str, due: float | None = None, **kwargs: Any
    ) -> httpx.Response | None:
        server = self._server()
        start = time.time()
        due = start if due is None else due
        try:
            response = await self.clients[server].request(method, url, **kwargs)
            status: int = response.status_code
        except httpx.HTTPError:
            response, status = None, 0
        done = time.time()
        problem = ""
        if response is not None and status >= 400:
            with contextlib.suppress(ValueError, AttributeError):
                problem = str(response.json().get("type", ""))
        self.records.append(Record(due, done - due, done, status, op, server, self.phase, problem))
        return response

    def _event(self) -> dict[str, Any]:
        rng = self.rng
        words = rng.sample(WORDS, 3)
        return {
            "title": " ".join(words).title(),
            "description": f"A soak event about {words[0]} and {words[1]}.",
            "location": rng.choice(("Berlin", "Paris", "Lisbon", "online")),
            "starts_at": f"2027-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T18:00:00Z",
            "tags": rng.sample(WORDS, 2),
        }

    async def run(self, op: str, due: float | None = None) -> None:
        rng = self.rng
        if op in {"get_one", "patch", "delete"} and not self.ids:
            op = "create"
        retiring = None  # what a logout ends: the oldest session no request uses, never the newest
        if op == "logout":
            retiring = next((t for t in self.tokens[:-1] if not self.in_flight[t]), None)
            if retiring is None:
                op = "login"
        if op == "session_list" and not self.tokens:
            op = "login"
        if op == "get_one":
            await self.request(op, "GET", f"/events/{rng.choice(self.ids)}", due)
        elif op == "list_page":
            sort = rng.choice(("starts_at", "-created_at", "title"))
            await self.request(op, "GET", "/events", due, params={"limit": 20, "sort": sort})
        elif op == "search":
            await self.request(
                op, "GET", "/events", due, params={"q": rng.choice(WORDS), "limit": 20}
            )
        elif op == "create":
            response = await self.request(op, "POST", "/events", due, json=self._event())
            if response is not None and response.status_code == 201:
                self.ids.append(response.json()["id"])
        elif op == "patch":
            await self.request(
                op,
                "PATCH",
                f"/events/{rng.choice(self.ids)}",
                due,
                content=json.dumps({"description": f"Patched {secrets.token_hex(4)}."}),
                headers={"Content-Type": "application/merge-patch+json"},
            )
        elif op == "delete":
            i = rng.randrange(len(self.ids))
            self.ids[i], self.ids[-1] = self.ids[-1], self.ids[i]
            await self.request(op, "DELETE", f"/events/{self.ids.pop()}", due)
        elif op == "session_list":
            token = self.tokens[-1]
            self.in_flight[token] += 1
            try:
                await self.request(
                    op, "GET", "/auth/sessions", due, headers={"Authorization": f"Bearer {token}"}
                )
            finally:
                self.in_flight[token] -= 1
                if not self.in_flight[token]:
                    del self.in_flight[token]
        elif op == "login":
            response = await self.request(
                op, "POST", "/auth/login", due, json={"username": USER, "password": self.password}
            )
            if response is not None and response.status_code == 200:
                self.tokens.append(response.json()["token"])
        elif op == "logout" and retiring is not None:
            self.tokens.remove(retiring)
            await self.request(
                op, "POST", "/auth/logout", due, headers={"Authorization": f"Bearer {retiring}"}
            )
        else:
            raise ValueError(op)

    def pick(self) -> str:
        return self.rng.choice(self.ops)


# -- the phases ----------------------------------------------------------------------------


async def seed(client: Client, events: int) -> None:
    await client.run("login")
    sem = asyncio.Semaphore(8)

    async def one() -> None:
        async with sem:
            await client.run("create")

    await asyncio.gather(*(one() for _ in range(events)))


async def burst(client: Client, connections: int, end: float) -> int:
    """Requests completed by ``connections`` in a closed loop of the mix until ``end``."""
    client.phase = "burst"
    before = len(client.records)

    async def loop() -> None:
        while time.time() < end:
            await client.run(client.pick())

    await asyncio.gather(*(loop() for _ in range(connections)))
    return len(client.records) - before


async def open_loop(
    client: Client, rate: float, clients: int, rank: int, start: float, end: float, phase: str
) -> None:
    """This client's share of requests due every 1/rate s of wall-clock time in [start, end)
    (the clients take turns: the n-th request is client n mod clients'), each sent when due
    however many are still waiting for their answer."""
    client.phase = phase
    tasks: set[asyncio.Task[None]] = set()
    i = rank
    while True:
        due = start + i / rate
        if due >= end:
            break
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(client.run(client.pick(), due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        i += clients
    if tasks:
        await asyncio.gather(*tasks)


@dataclass
class Shared:
    """What the main process and the client processes share (made before they fork)."""

    args: argparse.Namespace
    ports: list[int]
    password: str
    barrier: Any  # multiprocessing.Barrier: the main process and every client
    burst_end: Any  # Value("d")
    counts: Any  # Array("q"): requests each client completed in the burst
    rate: Any  # Value("d")
    warm: Any  # Value("d"): the open loop's start
    start: Any  # Value("d"): the first measured minute
    end: Any  # Value("d"): the end of the last
    results: Any  # Queue: each client's records


async def client_main(rank: int, shared: Shared) -> None:
    args, clients = shared.args, shared.args.clients
    client = Client(shared.ports, shared.password, args.connections, seed=rank)
    try:
        await seed(client, args.seed_events // clients)
        shared.barrier.wait()  # seeded
        shared.barrier.wait()  # the main process has set the burst's end
        shared.counts[rank] = await burst(
            client, max(1, args.burst_connections // clients), shared.burst_end.value
        )
        shared.barrier.wait()  # burst done
        shared.barrier.wait()  # the main process has set the rate and the minutes
        rate, start, end = shared.rate.value, shared.start.value, shared.end.value
        await open_loop(client, rate, clients, rank, shared.warm.value, start, "warmup")
        await open_loop(client, rate, clients, rank, start, end - 1, "soak")
    finally:
        await client.close()
        shared.results.put([dataclasses.astuple(r) for r in client.records])


def client_process(rank: int, shared: Shared) -> None:
    run(client_main(rank, shared))


def sample(
    servers: Servers, samples: list[tuple[float, list[float], list[float]]], stop: threading.Event
) -> None:
    while not stop.is_set():
        trees = [tree_pids(p.pid) for p in servers.procs]
        values = [(rss_mb(pids), cpu_seconds(pids)) for pids in trees]
        samples.append((time.time(), [v[0] for v in values], [v[1] for v in values]))
        stop.wait(2.0)


async def slo_counts(ports: list[int], window_end: float) -> list[dict[str, Any]]:
    """The availability SLO of every server once the window ending at ``window_end`` is
    complete and flushed (workers add their counts every 5 s)."""
    await asyncio.sleep(max(0.0, window_end + 8 - time.time()))
    answers = []
    for server, port in enumerate(ports):
        http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60)
        for _ in range(10):
            body = (await http.get("/slo")).json()
            evaluated = body["evaluated_at"]
            if evaluated >= time.strftime("%Y-%m-%dT%H:%M", time.gmtime(window_end)):
                break
            await asyncio.sleep(5)
        await http.aclose()
        slo = next(s for s in body["slos"] if s["kind"] == "availability")
        answers.append(
            {
                "server": server,
                "evaluated_at": evaluated,
                "window": slo["window"],
                "routes": slo["routes"],
                "sli": slo["sli"],
                **slo["requests"],
            }
        )
    return answers


# -- the report ----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def per_minute(
    records: list[Record],
    samples: list[tuple[float, list[float], list[float]]],
    start: float,
    minutes: int,
) -> list[dict[str, Any]]:
    rows = []
    for m in range(minutes):
        lo, hi = start + 60 * m, start + 60 * (m + 1)
        lat = [r.latency for r in records if r.phase == "soak" and lo <= r.due < hi]
        inside = [s for s in samples if lo <= s[0] < hi]
        servers = len(samples[0][1]) if samples else 0
        rss = [sum(s[1][i] for s in inside) / len(inside) for i in range(servers)] if inside else []
        before = [s for s in samples if s[0] < lo]
        first = before[-1] if before else (inside[0] if inside else None)
        last = inside[-1] if inside else None
        cpu = (
            [100 * (last[2][i] - first[2][i]) / (last[0] - first[0]) for i in range(servers)]
            if first and last and last[0] > first[0]
            else []
        )
        rows.append(
            {
                "minute": m + 1,
                "requests": len(lat),
                "errors_5xx": sum(
                    1 for r in records if r.phase == "soak" and lo <= r.due < hi and r.status >= 500
                ),
                "p50_ms": round(1000 * percentile(lat, 0.5), 2) if lat else None,
                "p99_ms": round(1000 * percentile(lat, 0.99), 2) if lat else None,
                "max_ms": round(1000 * max(lat), 2) if lat else None,
                "rss_mb": [round(x, 1) for x in rss],
                "rss_mb_total": round(sum(rss), 1),
                "cpu_percent": [round(x, 1) for x in cpu],
            }
        )
    return rows


def plot(rows: list[dict[str, Any]], path: Path, heading: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [r["minute"] for r in rows]
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, sharex=True, figsize=(8, 8))
    ax1.plot(minutes, [r["p99_ms"] for r in rows], marker="o", color="tab:red")
    ax1.set_ylabel("p99 latency (ms, log scale)")
    ax1.set_yscale("log")
    ax1.set_title(heading)
    servers = len(rows[0]["rss_mb"]) if rows else 0
    for i in range(servers):
        ax2.plot(
            minutes,
            [r["rss_mb"][i] if r["rss_mb"] else None for r in rows],
            marker="o",
            label=f"server {i + 1}",
        )
        ax3.plot(
            minutes,
            [r["cpu_percent"][i] if r["cpu_percent"] else None for r in rows],
            marker="o",
            label=f"server {i + 1}",
        )
    ax2.set_ylabel("RSS, process tree (MB)")
    ax2.set_ylim(bottom=0)
    ax3.set_ylabel("server CPU (% of a core)")
    ax3.set_ylim(bottom=0)
    ax3.set_xlabel("minute of the soak")
    for ax in (ax2, ax3):
        ax.legend(loc="lower right")
    for ax in (ax1, ax2, ax3):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write_records(records: list[Record], path: Path, origin: float) -> None:
    with gzip.open(path, "wt", newline="") as f:
        out = csv.writer(f)
        out.writerow(["due_s", "latency_ms", "status", "op", "server", "phase", "problem"])
        for r in records:
            out.writerow(
                [
                    f"{r.due - origin:.4f}",
                    f"{1000 * r.latency:.3f}",
                    r.status,
                    r.op,
                    r.server,
                    r.phase,
                    r.problem,
                ]
            )


# -- main ----------------------------------------------------------------------------------


def soak(args: argparse.Namespace, servers: Servers, password: str) -> dict[str, Any]:
    clients = args.clients
    ctx = multiprocessing.get_context("fork")
    shared = Shared(
        args=args,
        ports=servers.ports,
        password=password,
        barrier=ctx.Barrier(clients + 1),
        burst_end=ctx.Value("d"),
        counts=ctx.Array("q", clients),
        rate=ctx.Value("d"),
        warm=ctx.Value("d"),
        start=ctx.Value("d"),
        end=ctx.Value("d"),
        results=ctx.Queue(),
    )
    procs = [ctx.Process(target=client_process, args=(rank, shared)) for rank in range(clients)]
    origin = time.time()
    for proc in procs:
        proc.start()
    samples: list[tuple[float, list[float], list[float]]] = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample, args=(servers, samples, stop), daemon=True)
    sampler.start()
    try:
        shared.barrier.wait(timeout=600)  # seeded
        burst_start = time.time()
        shared.burst_end.value = burst_start + args.burst_seconds
        shared.barrier.wait(timeout=60)
        shared.barrier.wait(timeout=args.burst_seconds + 120)  # burst done
        maximum = sum(shared.counts) / args.burst_seconds
        rate = args.rate or maximum / 2
        # The measured minutes start at the next whole minute (after at least 10 s of
        # open-loop warm-up at the rate), so that they are minutes of the SLO's counts.
        shared.rate.value = rate
        shared.warm.value = time.time() + 0.1
        start = shared.start.value = math.ceil((time.time() + 10) / 60) * 60
        window_end = shared.end.value = start + 60 * args.minutes
        shared.barrier.wait(timeout=60)
        # A client that fell behind its schedule (its cores taken by other work) still
        # sends every request, late, and counts the delay in its latencies: it is waited
        # for, up to a third of the soak's length after the window (5 minutes at least).
        grace = max(300, 20 * args.minutes)
        records = [
            Record(*fields)
            for _ in procs
            for fields in shared.results.get(timeout=window_end - time.time() + grace)
        ]
        for proc in procs:
            proc.join(timeout=60)
    except BaseException:
        shared.barrier.abort()
        for proc in procs:
            proc.kill()
        raise
    finally:
        stop.set()
        sampler.join()
    slo = run(slo_counts(servers.ports, window_end))
    records.sort(key=lambda r: r.due)
    out: Path = args.out
    write_records(records, out / "responses.csv.gz", origin)
    rows = per_minute(records, samples, start, args.minutes)
    soak_records = [r for r in records if r.phase == "soak"]

    # The client's count over the SLO's window: every response complete before its end.
    counted = [r for r in records if r.status and r.done < window_end]
    client_total, client_bad = len(counted), sum(1 for r in counted if r.status >= 500)
    server_total = slo[0]["total"]
    server_bad = slo[0]["bad"]
    late = sum(1 for r in records if r.done >= window_end)
    no_answer = sum(1 for r in records if r.status == 0)

    # RSS: minute 5 against the last (for a shorter run, the minute at the same share of
    # it: a sixth, at least the first).
    ref_minute = 5 if args.minutes >= 10 else max(1, round(args.minutes / 6))
    rss_ref = rows[ref_minute - 1]["rss_mb_total"]
    rss_last = rows[-1]["rss_mb_total"]
    rss_change = (rss_last - rss_ref) / rss_ref if rss_ref else float("nan")

    statuses: dict[str, int] = {}
    for r in records:
        statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
    by_op: dict[str, dict[str, int]] = {}
    for r in soak_records:
        by_op.setdefault(r.op, {}).setdefault(str(r.status), 0)
        by_op[r.op][str(r.status)] += 1
    problems: dict[str, int] = {}
    for r in records:
        if r.status >= 400:
            key = f"{r.op} {r.status} {r.problem}"
            problems[key] = problems.get(key, 0) + 1
    lat = [r.latency for r in soak_records]
    errors_5xx = sum(1 for r in records if r.status >= 500)
    checks = {
        "no_5xx": errors_5xx == 0 and no_answer == 0,
        # A run under 10 minutes ends inside the warm-up (pools and caches still fill:
        # +4.6 % from minute 1 to 3 on PostgreSQL once): its RSS is reported, not judged.
        "rss_stable": abs(rss_change) <= RSS_TOLERANCE if args.minutes >= 10 else None,
        "slo_matches_client": all(
            s["total"] == client_total and s["bad"] == client_bad for s in slo
        ),
    }
    return {
        "backend": args.backend,
        "servers": len(servers.ports),
        "workers_per_server": 2 if args.backend == "sqlite" else 1,
        "minutes": args.minutes,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start)),
        "max_rate_per_s": round(maximum, 1),
        "burst": {"connections": args.burst_connections, "seconds": args.burst_seconds},
        "rate_per_s": round(rate, 1),
        "requests": len(records),
        "soak_requests": len(soak_records),
        "statuses": statuses,
        "soak_statuses_by_op": by_op,
        "errors_by_problem": problems,
        "errors_5xx": errors_5xx,
        "no_answer": no_answer,
        "soak_latency_ms": {
            "p50": round(1000 * percentile(lat, 0.5), 2),
            "p99": round(1000 * percentile(lat, 0.99), 2),
            "p999": round(1000 * percentile(lat, 0.999), 2),
            "max": round(1000 * max(lat), 2),
        },
        "rss": {
            "reference_minute": ref_minute,
            "reference_mb": rss_ref,
            "last_mb": rss_last,
            "change": round(rss_change, 4),
            "tolerance": RSS_TOLERANCE,
        },
        "slo": {
            "client_total": client_total,
            "client_bad": client_bad,
            "server_total": server_total,
            "server_bad": server_bad,
            "client_availability": (client_total - client_bad) / client_total,
            "responses_after_window": late,
            "per_server": slo,
        },
        "checks": checks,
        "ok": all(check is not False for check in checks.values()),
        "per_minute": rows,
    }


def title(summary: dict[str, Any]) -> str:
    servers = "2 workers" if summary["servers"] == 1 else "2 replicas"
    return (
        f"eventsapi soak, {summary['backend']} ({servers}), "
        f"{summary['rate_per_s']:.0f} req/s, {summary['minutes']} min"
    )


def run(coroutine: Any) -> Any:
    """The client's event loop: uvloop's (a dependency of eventsapi) where there is one."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="requests/s of the open loop (default: half the burst's)",
    )
    parser.add_argument("--burst-seconds", type=float, default=15.0)
    parser.add_argument("--burst-connections", type=int, default=32)
    parser.add_argument(
        "--connections", type=int, default=64, help="connections per server in the open loop"
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=2,
        help="client processes (one Python client tops out near 250 req/s)",
    )
    parser.add_argument("--seed-events", type=int, default=300)
    parser.add_argument("--port", type=int, default=0, help="first port (default: free ones)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("SOAK_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--out", type=Path, default=None, help="directory for the results")
    parser.add_argument("--png", type=Path, default=None, help="also copy the plot here")
    parser.add_argument(
        "--plot-only",
        type=Path,
        default=None,
        metavar="SUMMARY",
        help="only draw the plot of an earlier run's summary.json (to --png)",
    )
    args = parser.parse_args()
    if args.plot_only:
        summary = json.loads(args.plot_only.read_text())
        plot(
            summary["per_minute"], args.png or args.plot_only.with_name("soak.png"), title(summary)
        )
        return
    if args.minutes < 1:
        parser.error("--minutes must be at least 1")
    args.out = args.out or Path(f"soak-{args.backend}")
    args.out.mkdir(parents=True, exist_ok=True)

    count = 1 if args.backend == "sqlite" else 2
    ports = (
        [args.port + i for i in range(count)] if args.port else [free_port() for _ in range(count)]
    )
    password = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        servers = Servers(
            args.backend,
            Path(tmp),
            ports,
            postgres_url=args.postgres_url,
            schema=f"soak_{os.getpid()}_{ports[0]}",
        )
        try:
            servers.start(password)
            summary = soak(args, servers, password)
        finally:
            servers.stop()
            for log in Path(tmp).glob("server-*.log"):
                shutil.copy(log, args.out / log.name)
    plot(summary["per_minute"], args.out / "soak.png", title(summary))
    if args.png:
        shutil.copy(args.out / "soak.png", args.png)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    brief = {
        k: summary[k]
        for k in (
            "backend",
            "max_rate_per_s",
            "rate_per_s",
            "requests",
            "errors_5xx",
            "soak_latency_ms",
            "rss",
            "checks",
            "ok",
        )
    }
    brief["slo"] = {k: v for k, v in summary["slo"].items() if k != "per_server"}
    print(json.dumps(brief, indent=2))
    for row in summary["per_minute"]:
        print(
            f"minute {row['minute']:3d}: {row['requests']:6d} requests, p99 {row['p99_ms']} ms, "
            f"RSS {row['rss_mb_total']} MB, CPU {row['cpu_percent']} %"
        )
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
