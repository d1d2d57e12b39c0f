"""What registering costs beside creating an event, and whether reading one got slower
(issue 16): one run of the shared harness with a ``register`` scenario added.

    .venv/bin/python bench/registrations.py [--duration 10] [--warmup 2] [--rounds 1]
        [--before OTHER/.venv/bin/eventsapi]

The shared harness (``../shared/bench/bench.py`` beside this repository, or ``BENCH_DIR``) is
used as a library, unchanged: its ``Peer`` starts ``bench/eventsapi-start.sh`` pinned to CPU 0
(a fresh SQLite file, one granian worker), its ``run_scenarios`` seeds 1,000 events and runs
each scenario with wrk pinned to CPU 1, and its table prints the figures. Its ``get_one``,
``list_page`` and ``create`` run first, then ``register``, on the same server:
``POST /events/{id}/registrations`` with a new e-mail address each request, spread at random
over eight of the seeded events: four given a capacity of 1,000,000 (everyone is confirmed)
and four a capacity of 10 (their waitlists grow through the run, so most registrations there
are waitlisted). Anonymous writes are on for a local client, as for ``create``.

``--before``: another build's ``eventsapi`` (e.g. the commit before registrations, installed
in a venv of its own) runs the same scenarios but ``register`` in the same run, each round
interleaving the two builds, so that ``get_one`` and ``create`` can be compared with it.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LARGE, SMALL = 1_000_000, 10
EVENTS_EACH = 4
HARNESS_SCENARIOS = ["get_one", "list_page", "create"]

REGISTER_LUA = """
local paths = %(paths)s
local parts = %(body_parts)s
local headers = {["Content-Type"] = "application/json"}
local counter = 0
function init(args) math.randomseed(%(seed)d + tid) end
function request()
  counter = counter + 1
  local body = table.concat(parts, tid .. "-" .. counter)
  return wrk.format("POST", paths[math.random(#paths)], headers, body)
end
"""


def load_harness() -> ModuleType:
    folder = Path(os.environ.get("BENCH_DIR", REPO.parent / "shared" / "bench"))
    spec = importlib.util.spec_from_file_location("bench_harness", folder / "bench.py")
    if spec is None or spec.loader is None or not (folder / "bench.py").is_file():
        sys.exit(f"no harness at {folder}/bench.py: set BENCH_DIR")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def add_register_scenario(harness: ModuleType) -> list[str]:
    """Teach the harness ``register``: its check (which also picks and sizes the events) and
    its wrk script; every other scenario is the harness's own. Returns the list the
    registrations' URLs are put in."""
    check_scenario, write_lua = harness.check_scenario, harness.write_lua
    targets: list[str] = []

    def check(client: Any, cfg: dict[str, Any], scenario: str, ids: list[str]) -> str:
        if scenario != "register":
            return str(check_scenario(client, cfg, scenario, ids))
        targets.clear()
        for n, event_id in enumerate(ids[-2 * EVENTS_EACH :]):
            path = harness.item_path(cfg, event_id)
            capacity = LARGE if n < EVENTS_EACH else SMALL
            status, _, body = client.request("PATCH", path, {"capacity": capacity})
            if status != 200:
                return f"PATCH capacity -> {status}: {body[:200]!r}"
            targets.append(path + "/registrations")
        body_in = {"name": "Check", "email": f"check-{time.time_ns()}@example.org"}
        status, _, body = client.request("POST", targets[0], body_in)
        shown = harness.json_or_none(body)
        if status != 201 or not isinstance(shown, dict):
            return f"POST registration -> {status}: {body[:200]!r}"
        return "ok" if shown.get("status") == "confirmed" else f"status {shown.get('status')}"

    def lua(
        cfg: dict[str, Any],
        scenario: str,
        ids: list[str],
        prefix: str,
        seed: int,
        tag: str,
        path: str,
    ) -> None:
        if scenario != "register":
            write_lua(cfg, scenario, ids, prefix, seed, tag, path)
            return
        body = json.dumps({"name": "Bench", "email": f"r{tag}-{{n}}@example.org"})
        values = {
            "scenario": scenario,
            "mark": harness.RESULT_MARK,
            "seed": seed,
            "paths": harness.lua_list(prefix + target for target in targets),
            "body_parts": harness.lua_list(body.split("{n}")),
        }
        with open(path, "w") as out:
            out.write(harness.LUA_COMMON % values + REGISTER_LUA % values)

    # The harness looks both up as module globals when it runs a scenario.
    harness.__dict__.update(check_scenario=check, write_lua=lua)
    return targets


def counts(harness: ModuleType, base_url: str, targets: list[str]) -> str:
    """Each target event's confirmed+waitlisted, if event responses show them."""
    client = harness.Client(base_url)
    shown = []
    for target in targets:
        _, _, body = client.request("GET", target.removesuffix("/registrations"))
        event = harness.json_or_none(body)
        if isinstance(event, dict) and "waitlisted" in event:
            shown.append(f"{event['registered']}+{event['waitlisted']}")
    client.close()
    return ", ".join(shown) or "not in event responses"


def per_cpu_second(result: dict[str, Any]) -> float:
    """Requests per second of the server's CPU time: on this shared machine the server often
    gets only part of its core, and this moves less with that than requests/s do."""
    cpu = result.get("server_cpu_pct") or 0.0
    return float(result["requests_per_s"]) / (cpu / 100) if cpu else 0.0


def ratio(
    results: list[dict[str, Any]],
    a: tuple[str, str],
    b: tuple[str, str],
    figure: Callable[[dict[str, Any]], float],
) -> str:
    """The median ``figure`` of the runs of (name, scenario) ``a`` over ``b``'s."""
    medians = []
    for name, scenario in (a, b):
        runs = [
            figure(r)
            for r in results
            if (r["name"], r["scenario"]) == (name, scenario) and "error" not in r
        ]
        if not runs:
            return "-"
        medians.append(sorted(runs)[(len(runs) - 1) // 2])
    return f"{medians[0] / medians[1]:.2f}" if medians[1] else "-"


def print_ratios(results: list[dict[str, Any]], before: bool) -> None:
    pairs = [(("eventsapi", "register"), ("eventsapi", "create"), "register / create")]
    if before:
        pairs += [
            (("eventsapi", s), ("eventsapi-before", s), f"{s}: this build / before")
            for s in HARNESS_SCENARIOS
        ]
    print("\n| ratio | req/s | req per server CPU-second |\n|---|--:|--:|")
    for a, b, label in pairs:
        by_rate = ratio(results, a, b, lambda r: float(r["requests_per_s"]))
        print(f"| {label} | {by_rate} | {ratio(results, a, b, per_cpu_second)} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--port", type=int, default=8012)
    parser.add_argument("--before", help="another build's eventsapi executable")
    parser.add_argument("--out", help="JSON lines file (default: the harness's work folder)")
    args = parser.parse_args()
    harness = load_harness()
    targets = add_register_scenario(harness)
    builds = [
        ("eventsapi", str(REPO / ".venv" / "bin" / "eventsapi"), [*HARNESS_SCENARIOS, "register"])
    ]
    if args.before:
        builds.append(("eventsapi-before", args.before, HARNESS_SCENARIOS))
    harness.pin_self(1)
    out_path = args.out or os.path.join(
        harness.WORK_DIR, time.strftime("registrations-%Y%m%d-%H%M%S.jsonl")
    )
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    results: list[dict[str, Any]] = []
    with open(out_path, "a") as out:

        def emit(result: dict[str, Any], round_no: int) -> None:
            result = dict(result, round=round_no)
            results.append(result)
            out.write(json.dumps(result) + "\n")
            out.flush()
            print(json.dumps(result), flush=True)

        for round_no in range(1, args.rounds + 1):
            for name, executable, scenarios in builds:
                peer = dict(
                    harness.RUN_DEFAULTS,
                    **harness.COMPARE_ONLY_DEFAULTS,
                    name=name,
                    start="bash eventsapi-start.sh {port}",
                    port=args.port,
                    env={"BENCH_EVENTSAPI_BIN": executable},
                    scenarios=scenarios,
                    duration=args.duration,
                    warmup=args.warmup,
                    connections=args.connections,
                    base_url=f"http://127.0.0.1:{args.port}",
                )
                server = harness.Peer(peer, str(REPO / "bench"))
                try:
                    cfg = dict(peer, server_pid=server.start())
                    harness.run_scenarios(cfg, functools.partial(emit, round_no=round_no))
                    if "register" in scenarios:
                        found = counts(harness, cfg["base_url"], targets)
                        print(f"confirmed+waitlisted (large, then small): {found}")
                finally:
                    server.stop()
    harness.print_table(results, "eventsapi")
    print_ratios(results, before=bool(args.before))
    print(f"\nresults saved to {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
