"""Memory and CPU of a process and its descendants, read from /proc (Linux): what
bench/startup.py and bench/soak.py report of a server, whose workers are its children.

A process that ends while it is read counts for nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
_GONE = (OSError, IndexError, ValueError)


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after "pid (comm)": field 3 of proc(5) is the first."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree_pids(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(_stat_fields(int(entry.name))[1])
            except _GONE:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rss_mb(pids: Iterable[int]) -> float:
    """Summed RSS: pages shared by forked workers count in each."""
    total = 0
    for pid in pids:
        with contextlib.suppress(*_GONE):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return total / 2**20


def pss_mb(pids: Iterable[int]) -> float:
    """Summed PSS: shared pages divided among their sharers (the real footprint)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(*_GONE):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
    return total / 2**20


def cpu_seconds(pids: Iterable[int], *, waited_children: bool = False) -> float:
    """Summed user + system CPU; with ``waited_children``, also that of their children that
    have exited and been waited for (as granian's main process waits for its workers)."""
    # utime, stime, then cutime, cstime: fields 14-17 of proc(5)
    last = 15 if waited_children else 13
    ticks = 0
    for pid in pids:
        with contextlib.suppress(*_GONE):
            ticks += sum(int(field) for field in _stat_fields(pid)[11:last])
    return ticks / TICKS
