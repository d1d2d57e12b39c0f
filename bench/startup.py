#!/usr/bin/env python3
"""Time from process start to the first 200, and idle RSS, of a server command.

Usage: bench/startup.py [--runs N] -- COMMAND... (use {port} for the port)
Example: bench/startup.py --runs 10 -- .venv/bin/eventsapi serve --port {port} --database /tmp/s.db

The first 200 is polled on GET / every 5 ms. Idle RSS is the summed RSS of the
process and its descendants 2 s after the first 200 (what bench.py sums too).
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


def tree_rss_mb(root: int) -> float:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        todo.extend(children.get(pid, []))
    return total / 2**20


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
    starts, rss = [], []
    for _ in range(args.runs):
        port = free_port()
        command = [part.replace("{port}", str(port)) for part in args.command]
        began = time.monotonic()
        proc = subprocess.Popen(command,  # noqa: S603 - the user's own command line stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            if not first_200(port, began + 30):
                raise SystemExit(f"no 200 within 30 s: {command}")
            starts.append(time.monotonic() - began)
            time.sleep(2)
            rss.append(tree_rss_mb(proc.pid))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    print(f"start to first 200: median {statistics.median(starts)*1000:.0f} ms "
          f"(min {min(starts)*1000:.0f}, max {max(starts)*1000:.0f}, runs {len(starts)})")
    print(f"idle RSS (process tree): median {statistics.median(rss):.1f} MB")


if __name__ == "__main__":
    main()
