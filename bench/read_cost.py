"""What a read of events costs in-process: GET /events/{id} (200 and 304) and a page of 50.

    .venv/bin/python bench/read_cost.py [--requests 20000] [--rounds 7]
    .venv/bin/python bench/read_cost.py --against OTHER/src [--rounds 7]
    .venv/bin/python bench/read_cost.py --against OTHER/src --callgrind

Calls the ASGI app directly (no server, no network), on a fresh SQLite file holding 50
events with a capacity, and reports the median CPU time per request of each round
(``time.process_time``), so a change to the read path shows without the noise of sockets.

``--against`` compares two versions of the code in one run: the rounds alternate between a
subprocess importing this checkout's ``src`` and one importing ``OTHER/src`` (e.g. a
``git archive`` of the commit before the change), and the ratio of the medians is printed
(this / other). The machine is shared: read the spread of the rounds, not one figure.

``--callgrind`` counts instructions instead (``valgrind --tool=callgrind``): each scenario
of each version is served 1,000 and 3,000 times (a page of 50: 50 and 150 times) and the
difference is divided by the extra requests, so start-up cancels out. Repeatable whatever
else the machine runs, which a loaded shared machine needs to tell a few percent apart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCENARIOS = ("get_one", "get_one_304", "list_50")


async def _serve(app: Any, path: str, query: bytes, headers: list[Any], count: int) -> float:
    scope_base = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8001),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    started = time.process_time()
    for _ in range(count):
        await app(dict(scope_base), receive, send)
    return (time.process_time() - started) / count * 1e6


async def _etag(app: Any, path: str) -> bytes:
    tag = b""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal tag
        if message["type"] == "http.response.start":
            tag = dict(message["headers"])[b"etag"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8001),
    }
    await app(scope, receive, send)
    return tag


async def measure(requests: int, only: str | None = None) -> dict[str, float]:
    """One round of every scenario (or ``only`` one, without a warm-up) in this process:
    microseconds per request."""
    from eventsapi.app import create_app
    from eventsapi.domain.events import Event
    from eventsapi.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(database=str(Path(tmp) / "e.db")))
        async with app.router.lifespan_context(app):
            now = datetime(2030, 1, 1, tzinfo=UTC)
            for n in range(50):
                await app.state.store.create(
                    Event(
                        id=f"e{n}",
                        title=f"Event number {n}",
                        description="Talks, then pizza.",
                        location="Paris",
                        tags=("go", "meetup"),
                        capacity=80,
                        created_at=now,
                        updated_at=now,
                        version=1,
                    )
                )
            await app.state.slo.stop()
            tag = await _etag(app, "/events/e1")
            cases = {
                "get_one": ("/events/e1", b"", [], requests),
                "get_one_304": ("/events/e1", b"", [(b"if-none-match", tag)], requests),
                "list_50": ("/events", b"limit=50", [], requests // 20),
            }
            figures = {}
            for name, (path, query, headers, count) in cases.items():
                if only is None:
                    await _serve(app, path, query, headers, count // 4)  # warm up
                elif name != only:
                    continue
                figures[name] = await _serve(app, path, query, headers, count)
            return figures


def _round(src: str, requests: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run(  # noqa: S603 - this interpreter, this script
        [sys.executable, __file__, "--one", "--requests", str(requests)],
        env=env,
        capture_output=True,
        check=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def compare(other: str, requests: int, rounds: int) -> None:
    ours = str(Path(__file__).resolve().parent.parent / "src")
    runs: dict[str, list[dict[str, float]]] = {"this": [], "other": []}
    for _ in range(rounds):
        runs["this"].append(_round(ours, requests))
        runs["other"].append(_round(other, requests))
    print(f"{rounds} alternating rounds; median (min-max) us per request")
    for name in _SCENARIOS:
        this = [figures[name] for figures in runs["this"]]
        them = [figures[name] for figures in runs["other"]]
        a, b = statistics.median(this), statistics.median(them)
        print(
            f"{name:12} this {a:7.2f} ({min(this):.2f}-{max(this):.2f})"
            f"  other {b:7.2f} ({min(them):.2f}-{max(them):.2f})  this/other {a / b:.3f}"
        )


def _instructions(valgrind: str, src: str, scenario: str, requests: int) -> int:
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
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": src},
        )
        found = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        if found is None:
            raise SystemExit(f"no instruction total in {out}")
        return int(found.group(1))


def callgrind(other: str) -> None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    ours = str(Path(__file__).resolve().parent.parent / "src")
    print("instructions per request (callgrind)")
    for scenario in _SCENARIOS:
        # as measure() serves them: a page of 50 a twentieth as often
        served = 2000 // (20 if scenario == "list_50" else 1)
        per_request = {}
        for name, src in (("this", ours), ("other", other)):
            small, large = (_instructions(valgrind, src, scenario, n) for n in (1000, 3000))
            per_request[name] = (large - small) / served
        a, b = per_request["this"], per_request["other"]
        print(f"{scenario:12} this {a:12,.0f}  other {b:12,.0f}  this/other {a / b:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--against", help="another checkout's src folder, to compare with")
    parser.add_argument("--callgrind", action="store_true", help="count instructions")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=_SCENARIOS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(measure(args.requests, args.only))))
    elif args.callgrind:
        callgrind(args.against or str(Path(__file__).resolve().parent.parent / "src"))
    elif args.against:
        compare(args.against, args.requests, args.rounds)
    else:
        ours = str(Path(__file__).resolve().parent.parent / "src")
        rounds = [_round(ours, args.requests) for _ in range(args.rounds)]
        for name in _SCENARIOS:
            found = [figures[name] for figures in rounds]
            print(
                f"{name:12} {statistics.median(found):7.2f} us ({min(found):.2f}-{max(found):.2f})"
            )


if __name__ == "__main__":
    main()
