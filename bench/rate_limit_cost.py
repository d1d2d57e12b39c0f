"""What rate limits cost per request: the app called in-process, limits on and off.

    .venv/bin/python bench/rate_limit_cost.py [--requests 20000] [--rounds 7]
    .venv/bin/python bench/rate_limit_cost.py --callgrind

Serves GET /events/{id} (an event stored in SQLite) by calling the ASGI app directly, as
bench/recording_cost.py does, with the in-process limiter (``rate_limits`` with a read
limit) and without limits (``rate_limits`` an empty list). The limit is high enough that
every request is allowed: what is measured is the price every request pays (the group,
the key, the limiter's decision and the two response fields), not that of a refusal. The
app is in public mode (``host`` 0.0.0.0): in local mode the requests of this machine, as
these are, are not limited at all.

``--callgrind`` runs the app under ``valgrind --tool=callgrind`` with 1,000 and 3,000
requests in each mode and prints the instructions per request (the difference divided
by 2,000, so start-up cancels out): repeatable whatever else the machine runs.
``--redis redis://127.0.0.1:6379/0`` times the limits counted in Redis instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
from pathlib import Path

from in_process import cpu_per_get, instructions, valgrind

from eventsapi.app import create_app
from eventsapi.clock import system_clock
from eventsapi.domain.events import Event
from eventsapi.settings import Settings

ON = ["read=100000000/60"]  # never reached: every request is allowed and counted


async def main(requests: int, rounds: int, only: str | None = None, redis: str = "") -> None:
    modes = [only] if only is not None else ["on", "off"]
    with tempfile.TemporaryDirectory() as tmp:
        async with contextlib.AsyncExitStack() as stack:
            apps = {}
            for mode in modes:
                settings = Settings(
                    database=str(Path(tmp) / "e.db"),
                    host="0.0.0.0",  # noqa: S104 - public mode; nothing listens
                    rate_limits=ON if mode == "on" else [],
                    rate_limit_redis=redis,
                )
                app = apps[mode] = create_app(settings)
                await stack.enter_async_context(app.router.lifespan_context(app))
                # The SLO loop's once-a-second work would land in one mode's count only.
                await app.state.slo.stop()
            now = system_clock()
            event = Event(id="e1", title="t", created_at=now, updated_at=now, version=1)
            await apps[modes[0]].state.store.create(event)  # one file: both apps see it
            if only is not None:  # one mode, for an instruction count (valgrind)
                await cpu_per_get(apps[only], "/events/e1", requests)
                return
            timings: dict[str, list[float]] = {mode: [] for mode in modes}
            for app in apps.values():
                await cpu_per_get(app, "/events/e1", requests // 4)  # warm up
            for _ in range(rounds):
                for mode, app in apps.items():
                    timings[mode].append(await cpu_per_get(app, "/events/e1", requests))
    on, off = statistics.median(timings["on"]), statistics.median(timings["off"])
    print(
        f"GET /events/e1: {off:.2f} us without limits, {on:.2f} us with: "
        f"+{on - off:.2f} us per request"
    )


def callgrind() -> None:
    valgrind()  # its absence said before anything runs
    per_request = {}
    for mode in ("off", "on"):
        small, large = (
            instructions(__file__, "--only", mode, "--requests", str(n)) for n in (1000, 3000)
        )
        per_request[mode] = (large - small) / 2000
        print(f"limits {mode}: {per_request[mode]:,.0f} instructions per request")
    print(f"rate limits: {per_request['on'] - per_request['off']:,.0f} instructions per request")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--callgrind", action="store_true", help="count instructions")
    parser.add_argument("--redis", default="", help="count in this Redis (redis://...)")
    parser.add_argument("--only", choices=["on", "off"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callgrind:
        callgrind()
    else:
        asyncio.run(main(args.requests, args.rounds, args.only, args.redis))
