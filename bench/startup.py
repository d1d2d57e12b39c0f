#!/usr/bin/env python3
"""Time from process start to the first 200, and idle RSS, of a server command.

Usage: bench/startup.py [--runs N] [--before 'OLD COMMAND'] -- COMMAND... ({port}: the port)
Example: bench/startup.py --runs 10 -- .venv/bin/eventsapi serve --port {port} --database /tmp/s.db

The first 200 is polled on GET / every 5 ms. At the first 200 the CPU time (user +
system) of the process tree so far is taken: unlike the wall time, it hardly moves when
other work shares the machine. Idle memory is taken 2 s after the first 200 over the
process and its descendants: summed RSS (what bench.py sums) and summed PSS, which
divides pages shared by forked workers among them.

``--before`` (a command line, split as a shell would) is measured too, its runs
interleaved with the command's (before, after, before, ...), so that both meet the same
load on a shared machine.

Give each command's code its bytecode (``python -m compileall -q SRC``), as the image has
it (deploy/bytecode.py): a source tree without ``__pycache__`` (``git archive``), with
``PYTHONDONTWRITEBYTECODE`` set or on a read-only file system, compiles every module it
imports at each start, which took 160 ms of the 490 ms of CPU to the first 200 here
(docs/benchmarks.md, "Start-up and idle memory, continued").
"""

from __future__ import annotations

import argparse
import http.client
import os
import shlex
import signal
import socket
import statistics
import subprocess
import time

from process_tree import cpu_seconds, pss_mb, rss_mb, tree_pids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def first_200(port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/")
            if conn.getresponse().status == 200:
                return True
        except OSError:
            time.sleep(0.005)
    return False


class Runs:
    def __init__(self, name: str, command: list[str]) -> None:
        self.name, self.command = name, command
        self.starts: list[float] = []
        self.cpu: list[float] = []
        self.rss: list[float] = []
        self.pss: list[float] = []

    def measure(self) -> None:
        port = free_port()
        command = [part.replace("{port}", str(port)) for part in self.command]
        began = time.monotonic()
        proc = subprocess.Popen(  # noqa: S603 - the user's own command line
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            if not first_200(port, began + 30):
                raise SystemExit(f"no 200 within 30 s: {command}")
            self.starts.append(time.monotonic() - began)
            # granian's workers are waited for by the main process: theirs counts too
            self.cpu.append(cpu_seconds(tree_pids(proc.pid), waited_children=True))
            time.sleep(2)
            pids = tree_pids(proc.pid)
            self.rss.append(rss_mb(pids))
            self.pss.append(pss_mb(pids))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)

    def report(self) -> None:
        ms = [value * 1000 for value in self.starts]
        print(f"{self.name}: {shlex.join(self.command)}")
        print(
            f"  start to first 200: median {statistics.median(ms):.0f} ms "
            f"(min {min(ms):.0f}, max {max(ms):.0f}, runs {len(ms)}); "
            f"CPU time to it: median {statistics.median(self.cpu) * 1000:.0f} ms "
            f"(min {min(self.cpu) * 1000:.0f}, max {max(self.cpu) * 1000:.0f})"
        )
        print(
            f"  idle memory (process tree): RSS summed {statistics.median(self.rss):.1f} MB, "
            f"PSS {statistics.median(self.pss):.1f} MB (medians; "
            f"PSS min {min(self.pss):.1f}, max {max(self.pss):.1f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", help="a command to measure too, interleaved")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    variants = [Runs("after" if args.before else "command", args.command)]
    if args.before:
        variants.insert(0, Runs("before", shlex.split(args.before)))
    for _ in range(args.runs):
        for variant in variants:
            variant.measure()
    for variant in variants:
        variant.report()


if __name__ == "__main__":
    main()
