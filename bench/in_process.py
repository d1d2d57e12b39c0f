"""The in-process harness of the ``*_cost.py`` benchmarks: the ASGI app called directly.

No server and no network, so a change to a request's path shows without the noise of
sockets. What it offers:

- ``call``: one request; ``cpu_per_get``: one GET served again and again, in CPU per request;
- ``rounds``: a script's ``--one`` round (printing a JSON object of figures) run in
  subprocesses that import one ``src`` folder or another, alternating between them;
  ``print_medians`` and ``print_comparison`` report them;
- ``instructions``: what a run of a script costs in instructions under callgrind, which a
  loaded shared machine leaves repeatable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message

Headers = Sequence[tuple[bytes, bytes]]

OURS = str(Path(__file__).resolve().parent.parent / "src")
"""This checkout's ``src`` folder."""

JSON: Headers = ((b"content-type", b"application/json"),)


def scope(method: str, path: str, *, query: bytes = b"", headers: Headers = ()) -> dict[str, Any]:
    """An HTTP request's scope from a local client, as granian would give it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8001),
    }


async def call(
    app: ASGIApp, method: str, path: str, body: bytes = b"", headers: Headers = ()
) -> Message:
    """One request; its response's start message (``status``, ``headers``)."""
    start: Message = {}

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message

    await app(scope(method, path, headers=headers), receive, send)
    return start


async def cpu_per_get(
    app: ASGIApp, path: str, count: int, *, query: bytes = b"", headers: Headers = ()
) -> float:
    """``count`` GETs of ``path`` one after the other: microseconds of CPU
    (``time.process_time``, every thread) per request."""
    base = scope("GET", path, query=query, headers=headers)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    started = time.process_time()
    for _ in range(count):
        await app(dict(base), receive, send)
    return (time.process_time() - started) / count * 1e6


# -- rounds in subprocesses, one version of the code or another ----------------------------


def one_round(script: str, src: str, *options: str) -> dict[str, float]:
    """``script --one OPTIONS`` in a subprocess importing ``src``: the figures it prints."""
    done = subprocess.run(  # noqa: S603 - this interpreter, a script of bench/
        [sys.executable, script, "--one", *options],
        env={**os.environ, "PYTHONPATH": src},
        capture_output=True,
        check=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def rounds(
    script: str, sources: Sequence[str], count: int, *options: str
) -> list[list[dict[str, float]]]:
    """``count`` rounds of each of ``sources``, alternating (so that each meets the same
    load on a shared machine): the figures of each source's rounds, in its order."""
    found: list[list[dict[str, float]]] = [[] for _ in sources]
    for _ in range(count):
        for runs, src in zip(found, sources, strict=True):
            runs.append(one_round(script, src, *options))
    return found


def _width(scenarios: Sequence[str]) -> int:
    return max(8, 1 + max(len(name) for name in scenarios))


def print_medians(scenarios: Sequence[str], runs: list[dict[str, float]]) -> None:
    """Each scenario's median over the rounds, and their spread."""
    width = _width(scenarios)
    for name in scenarios:
        found = [figures[name] for figures in runs]
        print(
            f"{name:{width}} {statistics.median(found):7.2f} us ({min(found):.2f}-{max(found):.2f})"
        )


def print_comparison(
    scenarios: Sequence[str],
    this: list[dict[str, float]],
    other: list[dict[str, float]],
    unit: str = "us per request",
) -> None:
    """Each scenario's median, spread and ratio (this / other) of two versions' rounds."""
    width = _width(scenarios)
    print(f"{len(this)} alternating rounds; median (min-max) {unit}")
    for name in scenarios:
        ours = [figures[name] for figures in this]
        them = [figures[name] for figures in other]
        a, b = statistics.median(ours), statistics.median(them)
        print(
            f"{name:{width}} this {a:7.2f} ({min(ours):.2f}-{max(ours):.2f})"
            f"  other {b:7.2f} ({min(them):.2f}-{max(them):.2f})  this/other {a / b:.3f}"
        )


# -- instructions ----------------------------------------------------------------------


def valgrind() -> str:
    found = shutil.which("valgrind")
    if found is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    return found


def instructions(script: str, *arguments: str, src: str | None = None) -> int:
    """The instructions of ``script ARGUMENTS`` under ``valgrind --tool=callgrind``, every
    thread summed (importing ``src``, if given, instead of what the environment imports)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if src is not None:
        env["PYTHONPATH"] = src
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(  # noqa: S603 - a script of bench/, under valgrind
            [
                valgrind(),
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                script,
                *arguments,
            ],
            check=True,
            capture_output=True,
            env=env,
        )
        # One file per thread with --separate-threads; here one file, every thread summed.
        found = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        if found is None:
            raise SystemExit(f"no instruction total in {out}")
        return int(found.group(1))
