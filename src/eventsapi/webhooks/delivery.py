"""One attempt to deliver a message: vet the URL's addresses, sign, POST, record.

The request goes to the address the SSRF guard vetted, not to whatever a second lookup of
the name would give (DNS rebinding): the URL's host is replaced by that address, and the
name travels as ``Host`` and as the TLS server name (SNI, which is also the name the
certificate is checked against). No redirect is followed (a 3xx is a failed attempt: a
redirect could lead anywhere), no proxy from the environment is used, no connection is
kept (one kept for one name must not carry another name's message to the same address),
and the answer's body is never read. An attempt takes ``TIMEOUT`` seconds at most, plus the
lookup's ``RESOLVE_TIMEOUT``.

Logs name the endpoint by id and host only: a URL's path or query may hold a receiver's
token, and secrets are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

import msgspec

from eventsapi import __version__
from eventsapi.clock import Clock
from eventsapi.domain.ids import new_ulid
from eventsapi.domain.webhooks import Attempt, Endpoint, Message, Outcome
from eventsapi.webhooks import schedule
from eventsapi.webhooks.signing import signatures
from eventsapi.webhooks.ssrf import (
    RESOLVE_TIMEOUT,
    Resolver,
    UnsafeURL,
    UrlPolicy,
    check_url,
    literal,
    resolve,
    vet,
)
from eventsapi.webhooks.store import WebhookStore

__all__ = ["LEASE", "TIMEOUT", "USER_AGENT", "Deliveries", "Result", "Sender"]

if TYPE_CHECKING:  # imported at the first delivery (docs/benchmarks.md, "Idle memory")
    import httpx

logger = logging.getLogger("eventsapi")

TIMEOUT: Final = 15.0
LEASE: Final = timedelta(seconds=2 * (TIMEOUT + RESOLVE_TIMEOUT))
"""How long a claimed message is its worker's: longer than an attempt can take, so no other
worker sends it meanwhile; a worker that died holds it this long at most."""
USER_AGENT: Final = f"eventsapi/{__version__} (webhooks; +https://www.standardwebhooks.com)"
_MAX_ERROR: Final = 500


class Result(msgspec.Struct, frozen=True):
    """What an attempt got: the status (``None``: no answer), how long it took, what went
    wrong (``None``: a 2xx), and the answer's ``Retry-After``."""

    status_code: int | None
    duration_ms: int
    error: str | None
    retry_after: str | None = None


class Sender:
    """Sends signed messages over one httpx client (``close`` it)."""

    def __init__(
        self, policy: UrlPolicy, *, resolver: Resolver = resolve, timeout: float = TIMEOUT
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.timeout = timeout
        self._made: httpx.AsyncClient | None = None

    @property
    def _client(self) -> httpx.AsyncClient:
        """Made at the first delivery: httpx (some 5 MB) is imported then."""
        if self._made is None:
            import httpx

            self._made = httpx.AsyncClient(
                follow_redirects=False,
                timeout=self.timeout,
                trust_env=False,
                limits=httpx.Limits(max_keepalive_connections=0),
            )
        return self._made

    async def close(self) -> None:
        if self._made is not None:
            await self._made.aclose()

    async def send(self, endpoint: Endpoint, message: Message, now: datetime) -> Result:
        import httpx

        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout + RESOLVE_TIMEOUT):
                status, retry_after = await self._post(endpoint, message, now)
        except UnsafeURL as exc:
            return Result(None, _since(started), f"Refused: {exc}")
        except TimeoutError:
            return Result(None, _since(started), f"No answer within {self.timeout:g} s.")
        except httpx.TimeoutException:
            return Result(None, _since(started), f"No answer within {self.timeout:g} s.")
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            return Result(None, _since(started), f"The request failed: {reason}"[:_MAX_ERROR])
        duration = _since(started)
        if 200 <= status < 300:
            return Result(status, duration, None)
        if 300 <= status < 400:
            return Result(status, duration, "A redirect, which webhooks do not follow.")
        return Result(status, duration, f"The receiver answered {status}.", retry_after)

    async def _post(
        self, endpoint: Endpoint, message: Message, now: datetime
    ) -> tuple[int, str | None]:
        url = check_url(endpoint.url, self.policy)
        address = (await vet(url, self.policy, self.resolver))[0]
        timestamp = int(now.timestamp())
        keys = [endpoint.secret]
        if endpoint.previous_secret and endpoint.previous_until and now < endpoint.previous_until:
            keys.append(endpoint.previous_secret)
        headers = {
            "Host": url.netloc.decode("ascii"),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": message.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signatures(keys, message.id, timestamp, message.body),
        }
        host = url.raw_host.decode("ascii")
        extensions = {} if literal(host) is not None else {"sni_hostname": host}
        request = self._client.build_request(
            "POST",
            url.copy_with(host=str(address)),
            headers=headers,
            content=message.body,
            extensions=extensions,
        )
        response = await self._client.send(request, stream=True)
        await response.aclose()  # the body is not ours to read
        return response.status_code, response.headers.get("retry-after")


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


class Deliveries:
    """Attempts, recorded: what the worker and ``POST /webhooks/{id}/test`` share."""

    def __init__(
        self,
        store: WebhookStore,
        sender: Sender,
        clock: Clock,
        *,
        jitter: Callable[[], float] = schedule.random_jitter,
    ) -> None:
        self.store = store
        self.sender = sender
        self.clock = clock
        self.jitter = jitter

    async def attempt(
        self, message: Message, endpoint: Endpoint, *, owner: str, retry: bool = True
    ) -> tuple[Attempt, bool]:
        """Send ``message`` (leased to ``owner``) once and record the attempt; its next
        state follows the schedule (``retry``: else it is delivered or failed now).
        Returns the attempt and whether the lease was still held."""
        at = self.clock()
        result = await self.sender.send(endpoint, message, at)
        ended = self.clock()
        wait = schedule.retry_after(result.retry_after, ended)
        outcome = schedule.outcome(
            message.step, result.status_code, ended, wait=wait, jitter=self.jitter
        )
        if not retry and outcome.status == "pending":
            outcome = Outcome("failed", outcome.step, None)
        made = Attempt(
            id=new_ulid(at),
            message_id=message.id,
            endpoint_id=endpoint.id,
            number=message.attempts + 1,
            at=at,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            error=result.error,
            next_attempt_at=outcome.next_attempt_at,
            type=message.type,
        )
        held = await self.store.finish_attempt(made, outcome, owner=owner)
        if result.error is not None:
            logger.info(
                "Webhook %s (%s): attempt %d of message %s: %s",
                endpoint.id,
                _host(endpoint.url),
                made.number,
                message.id,
                result.error,
            )
        if outcome.disable is not None and held:
            logger.warning("Webhook %s (%s): %s", endpoint.id, _host(endpoint.url), outcome.disable)
        return made, held


def _host(url: str) -> str:
    import httpx

    try:
        return httpx.URL(url).host or "?"
    except httpx.InvalidURL:
        return "?"
