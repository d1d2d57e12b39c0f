#!/usr/bin/env python3
"""Time from process start to the first 200, and idle RSS, of a server command.

Usage: bench/startup.py [--runs N] -- COMMAND... (use {port} for the port)
Example: bench/startup.py --runs 10 -- .venv/bin/eventsapi serve --port {port} --database /tmp/s.db

The first 200 is polled on GET / every 5 ms. Idle memory is taken 2 s after the
first 200 over the process and its descendants: summed RSS (what bench.py sums)
and summed PSS, which divides pages shared by forked workers among them.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import socket
import statistics
import subprocess
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_pids(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_memory_mb(root: int) -> tuple[float, float]:
    """Summed RSS (pages shared by forked workers counted in each) and summed PSS
    (shared pages divided among their sharers: the real footprint)."""
    rss = pss = 0
    for pid in tree_pids(root):
        with contextlib.suppress(OSError, IndexError, ValueError):
            rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        with contextlib.suppress(OSError, IndexError, ValueError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
    return rss / 2**20, pss / 2**20


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    starts, rss, pss = [], [], []
    for _ in range(args.runs):
        port = free_port()
        command = [part.replace("{port}", str(port)) for part in args.command]
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
            starts.append(time.monotonic() - began)
            time.sleep(2)
            rss_mb, pss_mb = tree_memory_mb(proc.pid)
            rss.append(rss_mb)
            pss.append(pss_mb)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    print(
        f"start to first 200: median {statistics.median(starts) * 1000:.0f} ms "
        f"(min {min(starts) * 1000:.0f}, max {max(starts) * 1000:.0f}, runs {len(starts)})"
    )
    print(
        f"idle memory (process tree): RSS summed {statistics.median(rss):.1f} MB, "
        f"PSS {statistics.median(pss):.1f} MB (medians)"
    )


if __name__ == "__main__":
    main()
