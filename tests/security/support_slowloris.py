"""Slow connections from one loopback address, and probes from others, against a real server.

``slow_attacker`` runs, in a process of its own, an attacker that keeps ``count``
connections from one address open, each sending its request a byte every ``interval``
seconds (the headers, or a declared body): when the server ends one, the attacker opens
another. Meanwhile ``probe_reads`` times one-event GETs from a second address, and
``probe_writes`` creates events from a third. Everything stops by itself after the given
seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["headers", "body"]

# A login's body, which any outsider may send; declared whole, sent a byte at a time.
_BODY = json.dumps({"username": "nobody", "password": "x" * 200}).encode()
_CONNECT_TIMEOUT = 5.0
_PROBE_TIMEOUT = 30.0


def allow_open_files(needed: int) -> None:
    """Raise this process's soft limit on open files to ``needed`` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@dataclass
class Attack:
    """What the slow connections achieved."""

    opened: int = 0  # connections the server accepted (counting reopened ones)
    refused: int = 0  # connect attempts that failed or timed out
    closed_by_server: int = 0
    statuses: dict[int, int] = field(default_factory=dict)  # answers the attacker got
    connection_close: int = 0  # answers that carried Connection: close
    held_peak: int = 0
    held_now: int = 0


@dataclass
class Timings:
    """How long requests took from a bystander's address, and what they got."""

    seconds: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0

    def summary(self) -> str:
        if not self.seconds:
            return f"no answers; failures: {self.failures[:3]}"
        return (
            f"{len(self.seconds)} answers, p50 {statistics.median(self.seconds) * 1000:.1f} ms, "
            f"p99 {self.percentile(0.99) * 1000:.1f} ms, max {max(self.seconds) * 1000:.1f} ms; "
            f"statuses {sorted(set(self.statuses))}; {len(self.failures)} failures"
        )


def _request_start(mode: Mode, number: int) -> bytes:
    """The part of a slow request sent at once: the request line, and in ``body`` mode the
    whole head. A login reads its body before anything else; each connection sends an
    invented bearer token, which (until issue 13's item 1) gave it a fresh rate limit."""
    if mode == "headers":
        return b"GET /events HTTP/1.1\r\nHost: eventsapi\r\n"
    return (
        b"POST /auth/login HTTP/1.1\r\nHost: eventsapi\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer invented-%d\r\nContent-Length: %d\r\n\r\n" % (number, len(_BODY))
    )


async def _read_answer(reader: asyncio.StreamReader, attack: Attack) -> None:
    """Note the status of whatever the server answers, until it closes the connection."""
    head = await reader.read(65536)
    if head.startswith(b"HTTP/1.1 "):
        status = int(head[9:12])
        attack.statuses[status] = attack.statuses.get(status, 0) + 1
        if b"\r\nconnection: close\r\n" in head.lower():
            attack.connection_close += 1
    while head:
        head = await reader.read(65536)


async def _one_slow_connection(
    port: int, source: str, mode: Mode, interval: float, stop: float, attack: Attack
) -> None:
    """One slot of the attacker: a slow request, and another as soon as the server ends it."""
    while time.monotonic() < stop:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)),
                _CONNECT_TIMEOUT,
            )
        except (OSError, TimeoutError):
            attack.refused += 1
            await asyncio.sleep(interval)
            continue
        attack.opened += 1
        attack.held_now += 1
        attack.held_peak = max(attack.held_peak, attack.held_now)
        answer = asyncio.ensure_future(_read_answer(reader, attack))
        try:
            writer.write(_request_start(mode, attack.opened))
            # The rest of the headers (endless), or the declared body, a byte at a time.
            rest = (b"X-Slow: " + b"a" * 100_000) if mode == "headers" else _BODY
            for byte in rest:
                if answer.done() or time.monotonic() >= stop:
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(answer), interval)
        except OSError:
            pass
        finally:
            attack.held_now -= 1
            ended_by_server = answer.done() and not answer.cancelled()
            if ended_by_server:
                attack.closed_by_server += 1
                answer.exception()  # a reset is an end too, not an error of the attacker
            answer.cancel()
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if ended_by_server:
            # A slow attacker, not a flood: each slot comes back at its own pace. (A burst
            # of a thousand new requests at once is a flood, for a firewall to refuse.)
            await asyncio.sleep(interval * random.uniform(0.5, 1.5))  # noqa: S311


async def _request(port: int, source: str, request: bytes, timings: Timings) -> None:
    """One request on a new connection, whose time and status go to ``timings`` (or its
    failure, when it fails or has no answer within ``_PROBE_TIMEOUT``)."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0)
            )
            try:
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        timings.failures.append(f"{type(exc).__name__} after {time.perf_counter() - started:.1f} s")
        return
    timings.seconds.append(time.perf_counter() - started)
    timings.statuses.append(int(head[9:12]))


async def probe_reads(
    port: int, source: str, event_id: str, stop: float, pause: float = 0.2
) -> Timings:
    """GET one event from ``source`` every ``pause`` seconds until ``stop``."""
    timings = Timings()
    request = f"GET /events/{event_id} HTTP/1.1\r\nHost: eventsapi\r\n\r\n".encode()
    while time.monotonic() < stop:
        await _request(port, source, request, timings)
        await asyncio.sleep(pause)
    return timings


async def probe_writes(
    port: int, source: str, token: str, stop: float, pause: float = 1.0
) -> Timings:
    """Create an event from ``source`` every ``pause`` seconds until ``stop``."""
    timings = Timings()
    number = 0
    while time.monotonic() < stop:
        number += 1
        body = json.dumps({"title": f"written during the attack {number}"}).encode()
        request = (
            b"POST /events HTTP/1.1\r\nHost: eventsapi\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s"
            % (token.encode(), len(body), body)
        )
        await _request(port, source, request, timings)
        await asyncio.sleep(pause)
    return timings


async def _ramp_up(
    port: int, source: str, mode: Mode, count: int, interval: float, stop: float, attack: Attack
) -> list[asyncio.Task[None]]:
    tasks = []
    for number in range(count):
        coroutine = _one_slow_connection(port, source, mode, interval, stop, attack)
        tasks.append(asyncio.create_task(coroutine))
        if number % 100 == 99:
            await asyncio.sleep(0.05)  # let the server accept them, as a real attacker would
    return tasks


async def hold(
    port: int, *, mode: Mode, count: int, seconds: float, interval: float, source: str
) -> Attack:
    """Hold ``count`` slow connections from ``source`` for ``seconds``; close them all."""
    attack = Attack()
    stop = time.monotonic() + seconds
    slots = await _ramp_up(port, source, mode, count, interval, stop, attack)
    await asyncio.sleep(max(0.0, stop - time.monotonic()))
    for slot in slots:
        slot.cancel()
    await asyncio.gather(*slots, return_exceptions=True)
    return attack


@contextlib.contextmanager
def slow_attacker(
    port: int,
    *,
    mode: Mode,
    count: int,
    seconds: float,
    interval: float = 2.0,
    source: str = "127.0.0.2",
) -> Iterator[Callable[[], Attack]]:
    """The attacker in a process of its own (so that its thousand sockets do not slow the
    probes' loop): yields a function that waits for it to end and returns what it did."""
    command = [
        sys.executable,
        "-m",
        "tests.security.support_slowloris",
        json.dumps(
            {
                "port": port,
                "mode": mode,
                "count": count,
                "seconds": seconds,
                "interval": interval,
                "source": source,
            }
        ),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:

        def result() -> Attack:
            out, _ = process.communicate(timeout=seconds + 60)
            assert process.returncode == 0, out
            done = json.loads(out.strip().splitlines()[-1])
            done["statuses"] = {int(status): n for status, n in done["statuses"].items()}
            return Attack(**done)

        yield result
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def ready_to_hold(count: int) -> None:
    """Wait until the attacker has had time to open its connections."""
    time.sleep(min(5.0, 1.0 + count / 500))


async def idle_reads(port: int, source: str, event_id: str, count: int = 20) -> Timings:
    """``count`` one-event GETs from ``source`` on a server nobody else uses."""
    timings = Timings()
    request = f"GET /events/{event_id} HTTP/1.1\r\nHost: eventsapi\r\n\r\n".encode()
    for _ in range(count):
        await _request(port, source, request, timings)
    return timings


def _main() -> None:
    options = json.loads(sys.argv[1])
    allow_open_files(options["count"] * 2 + 256)
    attack = asyncio.run(
        hold(
            options["port"],
            mode=options["mode"],
            count=options["count"],
            seconds=options["seconds"],
            interval=options["interval"],
            source=options["source"],
        )
    )
    print(json.dumps(dataclasses.asdict(attack)))


if __name__ == "__main__":
    _main()
