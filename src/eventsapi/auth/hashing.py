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
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Final, TypeVar

import anyio
import anyio.to_thread

from eventsapi.auth.throttle import client_key
from eventsapi.errors import ServerBusy

__all__ = ["RETRY_AFTER_SECONDS", "HashingGate", "Ticket"]

RETRY_AFTER_SECONDS: Final = 1
"""The ``Retry-After`` of a refusal: the queue drains in a fraction of a second."""

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
