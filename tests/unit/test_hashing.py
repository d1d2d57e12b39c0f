"""``HashingGate``: a few hashes at once, a bounded queue, a share of it per client address
(issue 13). Past either bound a request is refused at once (``ServerBusy``: 503)."""

from __future__ import annotations

import contextlib
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
