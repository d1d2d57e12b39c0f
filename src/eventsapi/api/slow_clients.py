"""Slow clients: a cap on each client's requests in flight, and a deadline for bodies.

A client that sends its requests slowly holds the service's capacity for as long as it
likes: a connection per request in granian, a coroutine and its state here. Three bounds
keep one client from taking what the others need (docs/security.md, "Slow clients"):

- the headers of a request must arrive within ``request_header_timeout`` (granian closes
  the connection otherwise; ``cli/serve.py`` configures it), and each worker serves up to
  ``max_connections`` connections, far more than one client can keep busy otherwise;
- a client address may have ``max_requests_per_client`` requests with a body (``POST``,
  ``PUT``, ``PATCH``) in flight in a worker; the next gets 429 at once, before its body is
  read (``api/hotpath.py`` asks ``admit``). Requests without a body wait for nothing from
  the client, so they are not counted, and the hot path's GET pays nothing;
- the whole body must arrive within ``request_body_timeout`` of the request's start
  (``receive_before_deadline``), else the request ends with 408 and its connection closes.

The counts are per worker process, in memory: a client key is removed when its last
request ends, so the table holds only the clients in flight, never more.
"""

from __future__ import annotations

import asyncio
from typing import Final

from starlette.responses import Response
from starlette.types import Message, Receive, Scope

from eventsapi.api import problems
from eventsapi.api.clients import client_of, local_mode
from eventsapi.api.inflight import PerClient
from eventsapi.errors import RequestTimeout
from eventsapi.settings import Settings

# Methods whose requests carry no body for any route: their receive is left as it is.
WITHOUT_BODY: Final = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
_RETRY_AFTER: Final = "1"


class SlowClients:
    """The per-client cap on requests in flight, and the body deadline, of ``settings``."""

    __slots__ = ("body_seconds", "cap", "exempt_local", "in_flight")

    def __init__(self, settings: Settings) -> None:
        self.cap = settings.max_requests_per_client
        # In local mode a local request (api/clients.py) comes from this machine's user,
        # whose benchmark or script may well run hundreds of requests at once: a cap would
        # refuse them, and protect nobody. Requests through a proxy are capped.
        self.exempt_local = local_mode(settings)
        self.body_seconds = settings.request_body_timeout
        self.in_flight = PerClient(self.cap)

    def counts(self, scope: Scope) -> bool:
        """Whether the request is counted against its client's cap."""
        return bool(self.cap) and not (self.exempt_local and client_of(scope).local)

    def admit(self, scope: Scope) -> str | None:
        """Count the request in: its client's key, or ``None`` when the client is at the cap.

        The caller must ``release`` the key once the request has ended, however it ends.
        """
        key = client_of(scope).key
        return key if self.in_flight.take(key) else None

    def release(self, key: str) -> None:
        self.in_flight.give_back(key)

    def refusal(self) -> Response:
        """The 429 for a request over the cap; its connection is closed, so that the body
        the client may still be sending is not waited for."""
        return problems.problem(
            429,
            f"This client has {self.cap} requests in progress already, the most allowed at "
            "once; wait for their answers before sending more.",
            slug="too-many-requests-in-flight",
            headers={"Retry-After": _RETRY_AFTER, "Connection": "close"},
        )

    def receive_before_deadline(self, receive: Receive) -> Receive:
        """``receive``, ending with ``RequestTimeout`` if the whole body has not arrived
        within ``body_seconds`` from now. Once it has, messages pass through untimed (a
        streamed response waits on ``receive`` for the client to leave)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_seconds
        body_done = False

        async def receive_body() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"The request body did not arrive within {self.body_seconds:g} seconds "
                    "(request_body_timeout)."
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        return receive_body
