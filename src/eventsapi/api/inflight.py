"""How many listings each client has running at once, and a cap on it.

A listing may take up to its time budget (``query_timeout_ms``); a client that opens many
connections and sends one dear listing on each would take every reader (``max_listings``,
or the PostgreSQL pool) from the other clients. The cap counts per client address (an
IPv6 client's /64, as the login throttle does), never per credential: reads need none, so
an invented one would be a fresh budget. The table holds only the clients with a listing
running right now, so it never grows past the listings in flight.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from starlette.requests import Request

from eventsapi.api.clients import client_of
from eventsapi.errors import TooManyInFlight


class PerClient:
    """How many of something each client (a ``Client.key``) has in flight, at most
    ``limit`` each. A client is dropped when its count falls to zero, so the table holds
    only the clients with something in flight, never more."""

    __slots__ = ("_counts", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[str, int] = {}

    def take(self, key: str) -> bool:
        """Count one more for ``key``; ``False`` (nothing counted) if it is at the limit.
        Each ``take`` that returned ``True`` must be followed by a ``give_back``."""
        count = self._counts.get(key, 0)
        if count >= self.limit:
            return False
        self._counts[key] = count + 1
        return True

    def give_back(self, key: str) -> None:
        count = self._counts[key] - 1
        if count:
            self._counts[key] = count
        else:
            del self._counts[key]

    def __len__(self) -> int:
        """How many clients have something in flight."""
        return len(self._counts)


class InFlight:
    """At most ``limit`` listings running at once per client address."""

    def __init__(self, limit: int) -> None:
        self.running = PerClient(limit)

    @contextlib.contextmanager
    def slot(self, request: Request) -> Iterator[None]:
        """Hold one of the client's slots while the block runs; ``TooManyInFlight`` if it
        has none left."""
        key = client_of(request.scope).key
        if not self.running.take(key):
            raise TooManyInFlight(
                f"This client already has {self.running.limit} listings running, the most it "
                "may have at once: wait for one to finish."
            )
        try:
            yield
        finally:
            self.running.give_back(key)

    def __len__(self) -> int:
        """How many clients have a listing running."""
        return len(self.running)
