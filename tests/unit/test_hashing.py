"""``HashingGate``: a few hashes at once, a bounded queue, a share of it per client address
(issue 13). Past either bound a request is refused at once (``ServerBusy``: 503)."""

from __future__ import annotations

import contextlib
import platform
import subprocess
import sys
import threading
import time

import anyio
import pytest

from eventsapi.auth.hashing import RETRY_AFTER_SECONDS, HashingGate
from eventsapi.errors import ServerBusy

pytestmark = pytest.mark.anyio


def test_one_client_holds_at_most_its_share_and_others_still_get_in() -> None:
    gate = HashingGate(threads=2, queue=10, per_client=3)
    with contextlib.ExitStack() as held:
        for _ in range(3):
            held.enter_context(gate.admitted("192.0.2.1"))
        with pytest.raises(ServerBusy) as refused, gate.admitted("192.0.2.1"):
            pass
        assert refused.value.retry_after == RETRY_AFTER_SECONDS
        with gate.admitted("192.0.2.2"):
            assert gate.admitted_now == 4
    # Every place is given back, refused attempts took none.
    assert gate.admitted_now == 0
    with gate.admitted("192.0.2.1"):
        pass


def test_an_ipv6_64_is_one_client() -> None:
    gate = HashingGate(threads=1, queue=10, per_client=1)
    with gate.admitted("2001:db8:1:2::1"):
        with pytest.raises(ServerBusy), gate.admitted("2001:db8:1:2::ffff"):
            pass
        with gate.admitted("2001:db8:1:3::1"):
            pass


def test_the_whole_queue_is_bounded_for_every_client() -> None:
    gate = HashingGate(threads=2, queue=3, per_client=1)
    with contextlib.ExitStack() as held:
        for n in range(5):  # 2 running and 3 waiting
            held.enter_context(gate.admitted(f"192.0.2.{n}"))
        with pytest.raises(ServerBusy), gate.admitted("198.51.100.1"):
            pass
    with gate.admitted("198.51.100.1"):
        pass


def test_a_place_is_given_back_when_the_request_fails() -> None:
    gate = HashingGate(threads=1, queue=0, per_client=1)
    with pytest.raises(RuntimeError), gate.admitted("192.0.2.1"):
        raise RuntimeError
    assert gate.admitted_now == 0


async def test_at_most_threads_hashes_run_at_once() -> None:
    gate = HashingGate(threads=2, queue=10, per_client=10)
    running, most = 0, 0
    lock = threading.Lock()

    def hash_slowly() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    async def request(n: int) -> None:
        with gate.admitted(f"192.0.2.{n}") as ticket:
            await ticket.run(hash_slowly)

    async with anyio.create_task_group() as group:
        for n in range(8):
            group.start_soon(request, n)

    assert most == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"threads": 0}, "threads"), ({"queue": -1}, "queue"), ({"per_client": 0}, "per_client")],
)
def test_a_gate_that_cannot_work_is_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HashingGate(**kwargs)


# Runs in a process of its own: malloc's thresholds are the process's, and this one's
# have been moved by everything the test session did before.
_HASHES_AT_ONCE = """
import anyio
from eventsapi.auth.hashing import HashingGate
from eventsapi.auth.passwords import Hasher

def rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))

async def main() -> None:
    gate, hasher = HashingGate(threads=4, queue=16, per_client=16), Hasher()
    hasher.hash("warm up the imports")  # in this thread, before the gate is used
    before = rss_kib()

    async def login(n: int) -> None:
        with gate.admitted(f"192.0.2.{n}") as ticket:
            await ticket.run(hasher.hash, "correct horse battery staple")

    for _ in range(3):  # every thread hashes more than once
        async with anyio.create_task_group() as group:
            for n in range(8):
                group.start_soon(login, n)
    print(rss_kib() - before)

anyio.run(main)
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="glibc's malloc thresholds",
)
def test_a_hash_gives_its_memory_back_to_the_system() -> None:
    # Each argon2id hash takes 19 MiB. Left to itself, glibc serves the blocks after the
    # first from the hashing thread's arena and keeps them: this grew by ~19 MiB per
    # thread that had hashed (76 MiB here, 4 threads), for the life of the worker.
    grown = subprocess.run(
        [sys.executable, "-c", _HASHES_AT_ONCE], check=True, capture_output=True, text=True
    )
    assert int(grown.stdout) < 8 * 1024, f"RSS grew by {grown.stdout.strip()} KiB"
