"""Password hashing, bounded per worker process: a few hashes at once, a short queue, and a
share of it per client address; past that, ``ServerBusy`` (503 with ``Retry-After``).

An argon2id hash costs ~50 ms of CPU and 19 MiB (``passwords.py``). With an unbounded queue,
a flood of logins made every other login wait behind it: 300 wrong logins sent at once from
one address made a real user's login from another address take 7.7 s (issue 13). The
throttle (``throttle.py``) already reserves each address's budget before hashing, so one
address cannot *spend* more than its 20 guesses; this bounds how much of a worker's hashing
any one address, and all addresses together, can *occupy* at a time:

- ``threads`` hashes run at once (worker threads; argon2 releases the GIL);
- at most ``queue`` more wait for a thread; a request that would wait beyond that is
  refused at once (503): a short wait is better than a long one nobody gets an answer
  from, and the refusal costs no CPU;
- one client (an IPv4 address, an IPv6 /64: ``throttle.client_key``) holds at most
  ``per_client`` of the places, running or waiting. So a flood from one address queues at
  most that many hashes ahead of anyone else, and a login from elsewhere waits at most
  about ``per_client / threads`` hash times, whatever the flood's size. Many addresses at
  once can still fill the queue; then everyone gets the quick 503, never a slow answer.

A request is *admitted* (``admitted``) before it counts anything, so a refused one does no
database work; an admitted one runs its hashes with ``Ticket.run``. Everything here runs
on the worker's event loop, so the counts need no lock.

Each hash's 19 MiB also goes back to the system when the hash ends
(``give_back_large_blocks``, at the first admission). glibc's malloc otherwise raises its
mmap threshold to the size of the first such block freed, and serves later ones from the
hashing thread's arena, which keeps them: a worker grew by 19 MiB for each thread that had
ever hashed (+20 MB per replica, for good, in a 30-minute soak; up to ``threads`` times
that after a burst of logins). Mapping and unmapping the block costs ~5 ms more CPU per
hash (20.5 -> 26 ms; docs/benchmarks.md, "Memory after logins").
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any, Final, TypeVar

import anyio
import anyio.to_thread

from eventsapi.auth.throttle import client_key
from eventsapi.errors import ServerBusy

__all__ = ["RETRY_AFTER_SECONDS", "HashingGate", "Ticket", "give_back_large_blocks"]

RETRY_AFTER_SECONDS: Final = 1
"""The ``Retry-After`` of a refusal: the queue drains in a fraction of a second."""

LARGE_BLOCK: Final = 1 << 20
"""Blocks of this many bytes or more are mapped on their own, and unmapped when freed."""

_M_MMAP_THRESHOLD: Final = -3  # glibc's malloc.h

_T = TypeVar("_T")


class Ticket:
    """An admitted request's right to run CPU-bound work (hashes) on the gate's threads."""

    __slots__ = ("_threads",)

    def __init__(self, threads: anyio.CapacityLimiter) -> None:
        self._threads = threads

    async def run(self, function: Callable[..., _T], *args: Any) -> _T:
        """``function(*args)`` in a worker thread, when one of the gate's is free."""
        return await anyio.to_thread.run_sync(function, *args, limiter=self._threads)


class HashingGate:
    """Admission to this worker's password hashing (see the module's docstring)."""

    def __init__(self, *, threads: int = 4, queue: int = 16, per_client: int = 4) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        if queue < 0:
            raise ValueError(f"the queue cannot be negative: {queue}")
        if per_client < 1:
            raise ValueError(f"per_client must be at least 1, not {per_client}")
        self.threads = threads
        self.queue = queue
        self.per_client = per_client
        # Made at the first admission: making it imports anyio's asyncio backend (~25 ms
        # of CPU and 1.3 MB), which a service whose passwords nobody checks never needs.
        self._limiter: anyio.CapacityLimiter | None = None
        self._admitted = 0
        self._by_client: dict[str, int] = {}

    @property
    def admitted_now(self) -> int:
        """Requests admitted and not finished: running, waiting for a thread, or between."""
        return self._admitted

    @contextlib.contextmanager
    def admitted(self, client: str) -> Iterator[Ticket]:
        """Admit a request from ``client`` for the ``with`` block, or raise ``ServerBusy``
        at once if the queue, or the client's share of it, is full."""
        key = client_key(client)
        held = self._by_client.get(key, 0)
        if self._admitted >= self.threads + self.queue:
            raise ServerBusy(
                RETRY_AFTER_SECONDS, "Too many password checks are waiting; retry shortly."
            )
        if held >= self.per_client:
            raise ServerBusy(
                RETRY_AFTER_SECONDS,
                "Too many password checks from your address are in progress; retry shortly.",
            )
        if self._limiter is None:
            give_back_large_blocks()
            self._limiter = anyio.CapacityLimiter(self.threads)
        self._admitted += 1
        self._by_client[key] = held + 1
        try:
            yield Ticket(self._limiter)
        finally:
            self._admitted -= 1
            left = self._by_client[key] - 1
            if left:
                self._by_client[key] = left
            else:
                del self._by_client[key]


def give_back_large_blocks() -> bool:
    """Have malloc map every block of ``LARGE_BLOCK`` bytes or more on its own, so that
    freeing one (a hash's 19 MiB) gives the memory back to the system; for the whole
    process, from now on. True where that was done (Linux with glibc); elsewhere nothing
    changes (musl's mallopt does nothing; other systems have none).

    Setting the threshold also stops glibc from raising it by itself, which is what kept
    the blocks (the module's docstring). Called lazily: ctypes costs ~2.5 ms to import, and
    a service whose passwords nobody checks never needs it.
    """
    if sys.platform != "linux":
        return False
    import ctypes

    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK))
