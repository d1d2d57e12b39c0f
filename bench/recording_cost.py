"""What SLI recording costs per request: the app called in-process, recorder on and off.

    .venv/bin/python bench/recording_cost.py [--requests 20000] [--rounds 7]

Serves GET /events/{id} (an event stored in SQLite) and GET /events/missing (a 404) by
calling the ASGI app directly, with no server and no network, so the difference between
the two runs is the recorder's own cost (the route lookup, a clock read and the counts),
not noise from sockets. Rounds alternate on/off and the median of each is reported, with
the recorder's cost as a share of the whole per-request CPU that granian's server adds
(measured separately by bench/run.sh: about 60 us per GET /events/{id} on one core).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from in_process import cpu_per_get

from eventsapi.app import create_app
from eventsapi.clock import system_clock
from eventsapi.domain.events import Event
from eventsapi.settings import Settings


async def main(requests: int, rounds: int, only: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(database=str(Path(tmp) / "e.db")))
        async with app.router.lifespan_context(app):
            now = system_clock()
            event = Event(id="e1", title="t", created_at=now, updated_at=now, version=1)
            await app.state.store.create(event)
            # The SLO loop's once-a-second work would land in one mode's count and not the
            # other's; the recorder itself keeps counting without it.
            await app.state.slo.stop()
            recorder = app.recorder  # type: ignore[attr-defined]
            if only is not None:  # one mode, for an instruction count (valgrind)
                app.recorder = recorder if only == "on" else None  # type: ignore[attr-defined]
                await cpu_per_get(app, "/events/e1", requests)
                return
            for path in ("/events/e1", "/events/missing"):
                on, off = [], []
                await cpu_per_get(app, path, requests // 4)  # warm up
                for _ in range(rounds):
                    app.recorder = recorder  # type: ignore[attr-defined]
                    on.append(await cpu_per_get(app, path, requests))
                    recorder.drain()
                    app.recorder = None  # type: ignore[attr-defined]
                    off.append(await cpu_per_get(app, path, requests))
                a, b = statistics.median(on), statistics.median(off)
                print(
                    f"GET {path}: {b:.2f} us without recording, {a:.2f} us with: "
                    f"+{a - b:.2f} us per request"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--only",
        choices=["on", "off"],
        help="serve --requests GET /events/e1 once with the recorder on or off, and print "
        "nothing: run under valgrind --tool=callgrind to count instructions",
    )
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds, args.only))
