"""What a durable write costs in-process: POST /events and PATCH /events/{id} on SQLite.

    .venv/bin/python bench/write_cost.py [--requests 4000] [--rounds 5] [--concurrency 16]
    .venv/bin/python bench/write_cost.py --against OTHER/src --callgrind [--concurrency 16]
    .venv/bin/python bench/write_cost.py --profile create       # cProfile, top functions

Calls the ASGI app directly (no server, no network) with the bodies of the shared
harness's ``create`` and ``patch`` scenarios, on a fresh SQLite file (WAL,
``synchronous=FULL``, as served) seeded with 1,000 events, ``--concurrency`` requests at a
time (so that the writer groups them as it does under wrk), and reports the CPU time per
request (``time.process_time``: every thread of the process, the writer's too).

``--against`` alternates rounds between this checkout's ``src`` and ``OTHER/src`` (e.g. a
``git archive`` of the commit before the change) and prints the ratio of the medians.

``--callgrind`` counts instructions instead (``valgrind --tool=callgrind``, every thread):
each scenario of each version is served N and 3N times (``--requests``; all eight runs at
once) and the difference is divided by 2N, so start-up and seeding cancel out
(``WRITE_COST_SEEDED=200`` seeds fewer events, for speed). An fsync's wait is no
instruction, so this counts the CPU a write costs, not the time it waits for the disk.
With ``--concurrency`` above 1 the group sizes depend on how the threads were scheduled,
and so, a little, the count.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from in_process import (
    JSON,
    OURS,
    call,
    instructions,
    print_comparison,
    print_medians,
    rounds,
    valgrind,
)

_SCENARIOS = ("create", "patch")
_SEEDED = int(os.environ.get("WRITE_COST_SEEDED", "1000"))


def _request(scenario: str, n: int) -> tuple[str, str, bytes]:
    if scenario == "create":
        body = {"Title": f"Bench event 1-{n}", "Description": "Created by bench.py"}
        return "POST", "/events", json.dumps(body, separators=(",", ":")).encode()
    body = {"Title": f"Patched 1-{n}"}
    path = f"/events/seed{n * 7919 % _SEEDED:05d}"
    return "PATCH", path, json.dumps(body, separators=(",", ":")).encode()


async def _serve(app: Any, scenario: str, count: int, concurrency: int, first: int) -> float:
    numbers = iter(range(first, first + count))

    async def client() -> None:
        for n in numbers:
            status = (await call(app, *_request(scenario, n), JSON))["status"]
            if not 200 <= status < 300:
                raise SystemExit(f"{scenario} answered {status}")

    started = time.process_time()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return (time.process_time() - started) / count * 1e6


@contextlib.asynccontextmanager
async def _seeded_app() -> AsyncIterator[Any]:
    """The app on a fresh SQLite file holding ``_SEEDED`` events, its SLO loop stopped."""
    from eventsapi.app import create_app
    from eventsapi.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(database=str(Path(tmp) / "e.db")))
        async with app.router.lifespan_context(app):
            for n in range(_SEEDED):
                body = {"ID": f"seed{n:05d}", "Title": f"Seed event {n}"}
                await call(app, "POST", "/events", json.dumps(body).encode(), JSON)
            await app.state.slo.stop()
            yield app


async def measure(requests: int, concurrency: int, only: str | None = None) -> dict[str, float]:
    """One round of every scenario (or ``only`` one, without a warm-up) in this process:
    microseconds of CPU per request."""
    async with _seeded_app() as app:
        figures = {}
        first = 0
        for name in _SCENARIOS:
            if only is None:
                await _serve(app, name, requests // 4, concurrency, first)  # warm up
                first += requests // 4
            elif name != only:
                continue
            figures[name] = await _serve(app, name, requests, concurrency, first)
            first += requests
        return figures


def compare(other: str, requests: int, count: int, concurrency: int) -> None:
    options = ("--requests", str(requests), "--concurrency", str(concurrency))
    this, them = rounds(__file__, (OURS, other), count, *options)
    print_comparison(_SCENARIOS, this, them, "us of CPU per request")


def _instructions(src: str, scenario: str, requests: int, concurrency: int) -> int:
    return instructions(
        __file__,
        "--one",
        "--only",
        scenario,
        "--requests",
        str(requests),
        "--concurrency",
        str(concurrency),
        src=src,
    )


def callgrind(other: str, concurrency: int, requests: int) -> None:
    valgrind()  # its absence said before anything runs
    runs = [
        (scenario, name, src, n)
        for scenario in _SCENARIOS
        for name, src in (("this", OURS), ("other", other))
        for n in (requests, 3 * requests)
    ]
    # Every run at once: each count is its own process's, whatever runs beside it.
    with concurrent.futures.ThreadPoolExecutor(len(runs)) as pool:
        counts = list(
            pool.map(lambda run: _instructions(run[2], run[0], run[3], concurrency), runs)
        )
    found = {run[:3]: count for run, count in zip(runs, counts, strict=True) if run[3] == requests}
    large = {run[:3]: count for run, count in zip(runs, counts, strict=True) if run[3] != requests}
    print(f"instructions per request (callgrind, concurrency {concurrency})")
    for scenario in _SCENARIOS:
        per_request = {
            name: (large[(scenario, name, src)] - found[(scenario, name, src)]) / (2 * requests)
            for name, src in (("this", OURS), ("other", other))
        }
        a, b = per_request["this"], per_request["other"]
        print(f"{scenario:8} this {a:12,.0f}  other {b:12,.0f}  this/other {a / b:.3f}")


def profile(scenario: str, requests: int, concurrency: int, sort: str = "tottime") -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile(time.thread_time)  # the loop thread's CPU, not wall time

    async def run() -> None:
        async with _seeded_app() as app:
            profiler.enable()
            await _serve(app, scenario, requests, concurrency, 0)
            profiler.disable()

    asyncio.run(run())
    pstats.Stats(profiler).sort_stats(sort).print_stats(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--against", help="another checkout's src folder, to compare with")
    parser.add_argument("--callgrind", action="store_true", help="count instructions")
    parser.add_argument("--profile", choices=_SCENARIOS, help="cProfile one scenario")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=_SCENARIOS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(measure(args.requests, args.concurrency, args.only))))
    elif args.profile:
        profile(args.profile, args.requests, args.concurrency)
    elif args.callgrind:
        callgrind(args.against or OURS, args.concurrency, args.requests)
    elif args.against:
        compare(args.against, args.requests, args.rounds, args.concurrency)
    else:
        options = ("--requests", str(args.requests), "--concurrency", str(args.concurrency))
        (runs,) = rounds(__file__, (OURS,), args.rounds, *options)
        print_medians(_SCENARIOS, runs)


if __name__ == "__main__":
    main()
