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
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from in_process import (
    OURS,
    call,
    cpu_per_get,
    instructions,
    print_comparison,
    print_medians,
    rounds,
    valgrind,
)

_SCENARIOS = ("get_one", "get_one_304", "list_50")


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
            tag = dict((await call(app, "GET", "/events/e1"))["headers"])[b"etag"]
            cases = {
                "get_one": ("/events/e1", b"", [], requests),
                "get_one_304": ("/events/e1", b"", [(b"if-none-match", tag)], requests),
                "list_50": ("/events", b"limit=50", [], requests // 20),
            }
            figures = {}
            for name, (path, query, headers, count) in cases.items():
                if only is None:  # a warm-up first
                    await cpu_per_get(app, path, count // 4, query=query, headers=headers)
                elif name != only:
                    continue
                figures[name] = await cpu_per_get(app, path, count, query=query, headers=headers)
            return figures


def compare(other: str, requests: int, count: int) -> None:
    this, them = rounds(__file__, (OURS, other), count, "--requests", str(requests))
    print_comparison(_SCENARIOS, this, them)


def callgrind(other: str) -> None:
    valgrind()  # its absence said before anything runs
    print("instructions per request (callgrind)")
    for scenario in _SCENARIOS:
        # as measure() serves them: a page of 50 a twentieth as often
        served = 2000 // (20 if scenario == "list_50" else 1)
        per_request = {}
        for name, src in (("this", OURS), ("other", other)):
            small, large = (
                instructions(__file__, "--one", "--only", scenario, "--requests", str(n), src=src)
                for n in (1000, 3000)
            )
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
        callgrind(args.against or OURS)
    elif args.against:
        compare(args.against, args.requests, args.rounds)
    else:
        (runs,) = rounds(__file__, (OURS,), args.rounds, "--requests", str(args.requests))
        print_medians(_SCENARIOS, runs)


if __name__ == "__main__":
    main()
