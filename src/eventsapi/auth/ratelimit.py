"""Rate limits per key (an API token's id, a user's id, a client address) and route group.

The algorithm is GCRA (the generic cell rate algorithm, a token bucket kept as one
timestamp): a ``Limit`` of ``requests`` per ``window`` lets a client send ``requests`` at
once, then one every ``window / requests``. Its whole state per key is one number, the
"theoretical arrival time" (TAT), so the Redis version is one key read and written by one
Lua script, atomically, with a TTL that drops it when the bucket is full again. In the long
run a client gets ``requests`` per ``window``; a client that starts with a full burst and
then keeps pace can send up to about twice ``requests`` within one ``window``, the price of
allowing bursts (a fixed window has the same at its boundary).

Time is an integer count of microseconds, in Python and in Lua alike: Lua's numbers are
doubles, exact for integers up to 2**53 (the year 2255 in microseconds), so both
implementations decide exactly alike. The interval between requests is rounded up to a
whole microsecond, which makes the limit stricter by less than a microsecond per request.

The key passed to ``hit`` should name the route group as well as the client (``"events-
write:token:01J..."``), never a secret (a token's id, not the token). The limit is part of
the stored key, so two limits never share a bucket, and a changed limit starts afresh.

``headers`` gives the fields of draft-ietf-httpapi-ratelimit-headers-11 (May 2026), which
are structured-field lists (RFC 9651): ``RateLimit-Policy: "default";q=100;w=60`` (the
quota and its window in seconds) and ``RateLimit: "default";r=50;t=30`` (the quota left,
and the effective window: the seconds within which the client should send no more than
``r``; here, until the whole quota is back). On a refusal ``r=0``, ``t`` is the wait, and
``Retry-After`` says the same, as the draft asks (no earlier than the effective window).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, Protocol

import msgspec

if TYPE_CHECKING:
    # redis is imported where a Redis limiter is made: it costs every process ~20 MB, and
    # most services count their limits in the process.
    import redis.asyncio

__all__ = [
    "KEY_PREFIX",
    "Decision",
    "Limit",
    "LimiterUnavailable",
    "RateLimiter",
    "RedisRateLimiter",
    "epoch_microseconds",
    "headers",
    "redis_client",
]

KEY_PREFIX = "eventsapi:rl:"
"""The prefix of every Redis key the limiter writes."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_PER_SECOND: Final = 1_000_000


class Limit(msgspec.Struct, frozen=True):
    """At most ``requests`` per ``window`` (whole seconds, as the RateLimit fields carry)."""

    requests: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.requests < 1:
            raise ValueError(f"a limit allows at least 1 request, not {self.requests}")
        if self.window < timedelta(seconds=1) or self.window % timedelta(seconds=1):
            raise ValueError(f"a limit's window is a whole number of seconds, not {self.window}")

    @property
    def window_seconds(self) -> int:
        return self.window // timedelta(seconds=1)

    @property
    def interval_us(self) -> int:
        """Microseconds between two requests at the steady rate, rounded up."""
        return -(-(self.window // _MICROSECOND) // self.requests)


class Decision(msgspec.Struct, frozen=True):
    """What a ``hit`` decided.

    - ``allowed``: serve the request (it used one unit of the quota) or answer 429 (it
      used none).
    - ``remaining``: requests that would be allowed right now after this one.
    - ``reset_after``: seconds until the whole quota is available again.
    - ``retry_after``: when refused, seconds until a request would be allowed; else ``None``.
    """

    allowed: bool
    remaining: int
    reset_after: float
    retry_after: float | None


class RateLimiter(Protocol):
    """Counts a request against ``limit`` for ``key`` and decides, atomically."""

    async def hit(self, key: str, limit: Limit, now: datetime) -> Decision: ...


def epoch_microseconds(now: datetime) -> int:
    """``now`` as the limiters count time: integer microseconds since the Unix epoch."""
    return (now - _EPOCH) // _MICROSECOND


_GCRA_LUA = """
-- KEYS[1]: the bucket. ARGV: now, interval, capacity (integer microseconds).
-- Returns {allowed (0/1), remaining, reset_after, retry_after (-1 when allowed)}.
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
local new_tat = tat + interval
if new_tat - now > capacity then
  return {0, 0, tat - now, new_tat - now - capacity}
end
-- '%.0f': tostring would write a large number in 14-digit scientific notation.
redis.call('SET', KEYS[1], string.format('%.0f', new_tat),
           'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((capacity - (new_tat - now)) / interval), new_tat - now, -1}
"""


class LimiterUnavailable(Exception):
    """The store of shared limits (Redis) did not answer, or answered with an error."""


def redis_client(
    url: str, *, max_connections: int = 50, timeout: float = 2.0
) -> redis.asyncio.Redis:
    """A client for ``RedisRateLimiter``: close it with ``aclose()`` at shutdown.

    Its pool makes a request wait for a free connection when all ``max_connections`` are
    busy (redis-py's default pool raises ``MaxConnectionsError`` past 100 concurrent
    commands instead, so a burst of requests would fail). ``timeout`` bounds that wait,
    connecting, and each reply, so a Redis that hangs fails requests fast instead of
    holding them.
    """
    import redis.asyncio

    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    return redis.asyncio.Redis.from_pool(pool)


class RedisRateLimiter:
    """Limits kept in Redis, shared by every replica that uses the same server and prefix.

    Each decision is one ``EVALSHA`` of a script that reads and writes one key, so
    concurrent requests from any number of replicas are counted exactly. The time is the
    replica's clock: replicas should be NTP-synchronised (a skew of ``d`` moves a client's
    budget by at most ``d / interval`` requests). A Redis error, or a connection's, is
    raised as ``LimiterUnavailable``: the caller decides whether to fail open or closed.
    """

    def __init__(self, client: redis.asyncio.Redis, *, prefix: str = KEY_PREFIX) -> None:
        from redis.exceptions import RedisError

        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_GCRA_LUA)
        self._failures = (RedisError, OSError)

    def redis_key(self, key: str, limit: Limit) -> str:
        """The Redis key holding ``key``'s bucket for ``limit``."""
        return f"{self._prefix}{limit.requests}/{limit.window_seconds}:{key}"

    async def hit(self, key: str, limit: Limit, now: datetime) -> Decision:
        interval = limit.interval_us
        try:
            reply = await self._script(
                keys=[self.redis_key(key, limit)],
                args=[epoch_microseconds(now), interval, interval * limit.requests],
            )
        except self._failures as exc:
            raise LimiterUnavailable(f"{type(exc).__name__}: {exc}") from exc
        allowed, remaining, reset_us, retry_us = (int(value) for value in reply)
        return Decision(
            allowed=allowed == 1,
            remaining=remaining,
            reset_after=reset_us / _PER_SECOND,
            retry_after=None if allowed else retry_us / _PER_SECOND,
        )


_SF_STRING = re.compile(r"[\x20-\x7e]*")


def headers(decision: Decision, limit: Limit, policy_name: str) -> list[tuple[str, str]]:
    """The response fields for ``decision``: ``RateLimit-Policy``, ``RateLimit``, and
    ``Retry-After`` when the request was refused. Seconds are rounded up, so a client that
    waits as told is never early."""
    if not _SF_STRING.fullmatch(policy_name):
        raise ValueError(f"a policy name is printable ASCII, not {policy_name!r}")
    # An RFC 9651 structured-field string: quoted, with '\' and '"' escaped.
    name = '"' + policy_name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    policy = ("RateLimit-Policy", f"{name};q={limit.requests};w={limit.window_seconds}")
    if decision.retry_after is None:
        reset = math.ceil(decision.reset_after)
        return [policy, ("RateLimit", f"{name};r={decision.remaining};t={reset}")]
    wait = math.ceil(decision.retry_after)
    return [policy, ("RateLimit", f"{name};r=0;t={wait}"), ("Retry-After", str(wait))]
