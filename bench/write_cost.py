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
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_SCENARIOS = ("create", "patch")
_SEEDED = int(os.environ.get("WRITE_COST_SEEDED", "1000"))


def _scope(method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8001),
    }


async def _one(app: Any, method: str, path: str, body: bytes) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(method, path), receive, send)
    return status


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
            status = await _one(app, *_request(scenario, n))
            if not 200 <= status < 300:
                raise SystemExit(f"{scenario} answered {status}")

    started = time.process_time()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return (time.process_time() - started) / count * 1e6


async def measure(requests: int, concurrency: int, only: str | None = None) -> dict[str, float]:
    """One round of every scenario (or ``only`` one, without a warm-up) in this process:
    microseconds of CPU per request."""
    from eventsapi.app import create_app
    from eventsapi.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(database=str(Path(tmp) / "e.db")))
        async with app.router.lifespan_context(app):
            for n in range(_SEEDED):
                body = {"ID": f"seed{n:05d}", "Title": f"Seed event {n}"}
                await _one(app, "POST", "/events", json.dumps(body).encode())
            await app.state.slo.stop()
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


def _round(src: str, requests: int, concurrency: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": src}
    command = [sys.executable, __file__, "--one", "--requests", str(requests)]
    done = subprocess.run(  # noqa: S603 - this interpreter, this script
        [*command, "--concurrency", str(concurrency)],
        env=env,
        capture_output=True,
        check=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def compare(other: str, requests: int, rounds: int, concurrency: int) -> None:
    ours = str(Path(__file__).resolve().parent.parent / "src")
    runs: dict[str, list[dict[str, float]]] = {"this": [], "other": []}
    for _ in range(rounds):
        runs["this"].append(_round(ours, requests, concurrency))
        runs["other"].append(_round(other, requests, concurrency))
    print(f"{rounds} alternating rounds; median (min-max) us of CPU per request")
    for name in _SCENARIOS:
        this = [figures[name] for figures in runs["this"]]
        them = [figures[name] for figures in runs["other"]]
        a, b = statistics.median(this), statistics.median(them)
        print(
            f"{name:8} this {a:7.2f} ({min(this):.2f}-{max(this):.2f})"
            f"  other {b:7.2f} ({min(them):.2f}-{max(them):.2f})  this/other {a / b:.3f}"
        )


def _instructions(valgrind: str, src: str, scenario: str, requests: int, concurrency: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(  # noqa: S603 - this script itself, under valgrind
            [
                valgrind,
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--one",
                "--only",
                scenario,
                "--requests",
                str(requests),
                "--concurrency",
                str(concurrency),
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": src},
        )
        # One file per thread with --separate-threads; here one file, every thread summed.
        found = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        if found is None:
            raise SystemExit(f"no instruction total in {out}")
        return int(found.group(1))


def callgrind(other: str, concurrency: int, requests: int) -> None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    ours = str(Path(__file__).resolve().parent.parent / "src")
    runs = [
        (scenario, name, src, n)
        for scenario in _SCENARIOS
        for name, src in (("this", ours), ("other", other))
        for n in (requests, 3 * requests)
    ]
    # Every run at once: each count is its own process's, whatever runs beside it.
    with concurrent.futures.ThreadPoolExecutor(len(runs)) as pool:
        counts = list(
            pool.map(lambda run: _instructions(valgrind, run[2], run[0], run[3], concurrency), runs)
        )
    found = {run[:3]: count for run, count in zip(runs, counts, strict=True) if run[3] == requests}
    large = {run[:3]: count for run, count in zip(runs, counts, strict=True) if run[3] != requests}
    print(f"instructions per request (callgrind, concurrency {concurrency})")
    for scenario in _SCENARIOS:
        per_request = {
            name: (large[(scenario, name, src)] - found[(scenario, name, src)]) / (2 * requests)
            for name, src in (("this", ours), ("other", other))
        }
        a, b = per_request["this"], per_request["other"]
        print(f"{scenario:8} this {a:12,.0f}  other {b:12,.0f}  this/other {a / b:.3f}")


def profile(scenario: str, requests: int, concurrency: int, sort: str = "tottime") -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile(time.thread_time)  # the loop thread's CPU, not wall time

    async def run() -> None:
        from eventsapi.app import create_app
        from eventsapi.settings import Settings

        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(Settings(database=str(Path(tmp) / "e.db")))
            async with app.router.lifespan_context(app):
                for n in range(_SEEDED):
                    body = {"ID": f"seed{n:05d}", "Title": f"Seed event {n}"}
                    await _one(app, "POST", "/events", json.dumps(body).encode())
                await app.state.slo.stop()
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
        other = args.against or str(Path(__file__).resolve().parent.parent / "src")
        callgrind(other, args.concurrency, args.requests)
    elif args.against:
        compare(args.against, args.requests, args.rounds, args.concurrency)
    else:
        ours = str(Path(__file__).resolve().parent.parent / "src")
        rounds = [_round(ours, args.requests, args.concurrency) for _ in range(args.rounds)]
        for name in _SCENARIOS:
            found = [figures[name] for figures in rounds]
            print(
                f"{name:8} {statistics.median(found):7.2f} us ({min(found):.2f}-{max(found):.2f})"
            )


if __name__ == "__main__":
    main()
