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

from eventsapi.api.authn import client_address
from eventsapi.auth.throttle import client_key
from eventsapi.errors import TooManyInFlight


class InFlight:
    """At most ``limit`` listings running at once per client address."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._running: dict[str, int] = {}

    @contextlib.contextmanager
    def slot(self, request: Request) -> Iterator[None]:
        """Hold one of the client's slots while the block runs; ``TooManyInFlight`` if it
        has none left."""
        key = client_key(client_address(request))
        running = self._running.get(key, 0)
        if running >= self.limit:
            raise TooManyInFlight(
                f"This client already has {running} listings running, the most it may have at "
                "once: wait for one to finish."
            )
        self._running[key] = running + 1
        try:
            yield
        finally:
            left = self._running[key] - 1
            if left:
                self._running[key] = left
            else:
                del self._running[key]

    def __len__(self) -> int:
        """How many clients have a listing running."""
        return len(self._running)
