"""Rate limits: exact counts, refills, atomicity under concurrency, sharing across replicas
(Redis at 127.0.0.1:6379, one key prefix per test), and the RateLimit header fields."""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
import redis.asyncio
import redis.exceptions

from eventsapi.auth.ratelimit import (
    KEY_PREFIX,
    Decision,
    Limit,
    RateLimiter,
    RedisRateLimiter,
    headers,
    redis_client,
)
from eventsapi.auth.ratelimit_local import MemoryRateLimiter
from tests.support import START

pytestmark = pytest.mark.anyio

REDIS_URL = "redis://127.0.0.1:6379/0"
FIVE_PER_10S = Limit(5, timedelta(seconds=10))  # one request every 2 s at the steady rate


@contextlib.asynccontextmanager
async def redis_limiters(count: int) -> AsyncIterator[list[RedisRateLimiter]]:
    """``count`` limiters, each with its own client (as separate replicas would be), sharing
    a key prefix of their own; every key under it is deleted at the end."""
    prefix = f"{KEY_PREFIX}test:{secrets.token_hex(6)}:"
    clients = [redis_client(REDIS_URL) for _ in range(count)]
    try:
        try:
            await clients[0].ping()
        except redis.exceptions.ConnectionError as exc:
            pytest.fail(f"Redis is not reachable at {REDIS_URL} ({exc}); start it.", pytrace=False)
        yield [RedisRateLimiter(client, prefix=prefix) for client in clients]
        keys = [key async for key in clients[0].scan_iter(match=prefix + "*")]
        if keys:
            await clients[0].delete(*keys)
    finally:
        for client in clients:
            await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter()
        return
    async with redis_limiters(1) as (one,):
        yield one


async def hits(limiter: RateLimiter, count: int, now: datetime, key: str = "k") -> list[Decision]:
    return [await limiter.hit(key, FIVE_PER_10S, now) for _ in range(count)]


# Limits


@pytest.mark.parametrize(
    ("requests", "window"),
    [(0, timedelta(seconds=1)), (1, timedelta(0)), (1, timedelta(milliseconds=1500))],
)
def test_a_limit_is_at_least_one_request_per_whole_seconds(
    requests: int, window: timedelta
) -> None:
    with pytest.raises(ValueError, match=r"at least 1|whole number"):
        Limit(requests, window)


# Decisions, on both implementations


async def test_exactly_the_limit_is_allowed_then_refused(limiter: RateLimiter) -> None:
    decisions = await hits(limiter, 6, START)

    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    assert [d.retry_after for d in decisions] == [None] * 5 + [2.0]


async def test_reset_after_is_the_time_until_the_whole_quota_is_back(
    limiter: RateLimiter,
) -> None:
    decisions = await hits(limiter, 6, START)

    assert [d.reset_after for d in decisions] == [2.0, 4.0, 6.0, 8.0, 10.0, 10.0]


async def test_a_request_is_allowed_again_exactly_when_retry_after_says(
    limiter: RateLimiter,
) -> None:
    refused = (await hits(limiter, 6, START))[-1]
    assert refused.retry_after is not None
    ready = START + timedelta(seconds=refused.retry_after)

    early = await limiter.hit("k", FIVE_PER_10S, ready - timedelta(microseconds=1))
    assert not early.allowed
    assert early.retry_after == pytest.approx(1e-6)
    on_time = await limiter.hit("k", FIVE_PER_10S, ready)
    assert on_time.allowed
    assert on_time.remaining == 0
    assert not (await limiter.hit("k", FIVE_PER_10S, ready)).allowed


async def test_refused_requests_use_no_quota(limiter: RateLimiter) -> None:
    await hits(limiter, 5, START)
    await hits(limiter, 50, START + timedelta(seconds=1))

    later = await hits(limiter, 2, START + timedelta(seconds=2))
    assert [d.allowed for d in later] == [True, False]


async def test_after_a_window_without_requests_the_whole_quota_is_back(
    limiter: RateLimiter,
) -> None:
    await hits(limiter, 6, START)

    again = await hits(limiter, 6, START + FIVE_PER_10S.window)
    assert [d.allowed for d in again] == [True] * 5 + [False]
    assert again[0].remaining == 4


async def test_keys_and_limits_have_separate_buckets(limiter: RateLimiter) -> None:
    await hits(limiter, 5, START, key="a")
    other_limit = Limit(5, timedelta(seconds=60))

    assert (await limiter.hit("b", FIVE_PER_10S, START)).allowed
    assert (await limiter.hit("a", other_limit, START)).allowed
    assert not (await limiter.hit("a", FIVE_PER_10S, START)).allowed


async def test_200_concurrent_hits_on_a_limit_of_100_allow_exactly_100(
    limiter: RateLimiter,
) -> None:
    limit = Limit(100, timedelta(hours=1))

    decisions = await asyncio.gather(*(limiter.hit("k", limit, START) for _ in range(200)))

    assert sum(d.allowed for d in decisions) == 100
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(100))


async def test_the_memory_limiter_forgets_buckets_that_are_full_again() -> None:
    limiter = MemoryRateLimiter()
    for n in range(5000):
        await limiter.hit(f"client-{n}", FIVE_PER_10S, START)
    later = START + FIVE_PER_10S.window
    for n in range(5000):
        await limiter.hit(f"other-{n}", FIVE_PER_10S, later)

    # Without the sweep the table would hold all 10,000 keys.
    assert len(limiter._buckets[FIVE_PER_10S]._tats) <= 5000


# Redis only


async def test_two_replicas_share_one_limit() -> None:
    async with redis_limiters(2) as (first, second):
        limit = Limit(10, timedelta(minutes=1))
        decisions = []
        for n in range(15):
            replica = first if n % 2 == 0 else second
            decisions.append(await replica.hit("k", limit, START))

        assert [d.allowed for d in decisions] == [True] * 10 + [False] * 5
        assert [d.remaining for d in decisions[:10]] == list(range(9, -1, -1))


async def test_two_replicas_hit_concurrently_and_allow_exactly_the_limit() -> None:
    async with redis_limiters(2) as replicas:
        limit = Limit(100, timedelta(hours=1))

        decisions = await asyncio.gather(
            *(replicas[n % 2].hit("k", limit, START) for n in range(200))
        )

        assert sum(d.allowed for d in decisions) == 100


async def test_a_redis_bucket_is_one_key_under_the_prefix_that_expires() -> None:
    async with redis_limiters(1) as (limiter,):
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        try:
            await hits(limiter, 3, START, key="tok:01J")
            key = limiter.redis_key("tok:01J", FIVE_PER_10S)
            ttl_ms = await client.pttl(key)
        finally:
            await client.aclose()

        assert key.startswith(KEY_PREFIX)
        # Three requests' worth of refill (6 s), not the window: gone once full again.
        assert 5000 < ttl_ms <= 6000


async def test_redis_and_memory_decide_identically() -> None:
    """The Lua script is the Python function, line by line: a random sequence of requests
    (bursts, pauses, limits with an interval that is not a whole microsecond) gets the same
    decisions from both."""
    rng = random.Random(6)  # noqa: S311 (a reproducible sequence, not a secret)
    limits = [FIVE_PER_10S, Limit(7, timedelta(seconds=3)), Limit(3, timedelta(seconds=1))]
    memory = MemoryRateLimiter()
    async with redis_limiters(1) as (shared,):
        now = START
        for _ in range(600):
            now += timedelta(microseconds=rng.choice([0, 0, 1, 999, 250_000, 1_700_001]))
            limit = rng.choice(limits)
            key = rng.choice(["a", "b"])
            assert await shared.hit(key, limit, now) == await memory.hit(key, limit, now)


# Header fields


def test_headers_of_an_allowed_request() -> None:
    decision = Decision(allowed=True, remaining=50, reset_after=29.2, retry_after=None)

    assert headers(decision, Limit(100, timedelta(minutes=1)), "default") == [
        ("RateLimit-Policy", '"default";q=100;w=60'),
        ("RateLimit", '"default";r=50;t=30'),
    ]


def test_headers_of_a_refused_request_carry_retry_after_equal_to_the_window() -> None:
    decision = Decision(allowed=False, remaining=0, reset_after=60.0, retry_after=0.2)

    assert headers(decision, Limit(100, timedelta(minutes=1)), "events-write") == [
        ("RateLimit-Policy", '"events-write";q=100;w=60'),
        ("RateLimit", '"events-write";r=0;t=1'),
        ("Retry-After", "1"),
    ]


async def test_headers_from_a_real_refusal_tell_the_client_when_it_may_retry() -> None:
    limiter = MemoryRateLimiter()
    refused = (await hits(limiter, 6, START))[-1]

    fields = dict(headers(refused, FIVE_PER_10S, "login"))
    assert fields["Retry-After"] == "2"
    wait = timedelta(seconds=int(fields["Retry-After"]))
    assert (await limiter.hit("k", FIVE_PER_10S, START + wait)).allowed


def test_a_policy_name_is_a_structured_field_string() -> None:
    decision = Decision(allowed=True, remaining=1, reset_after=1.0, retry_after=None)

    assert headers(decision, FIVE_PER_10S, 'a"b\\c')[0] == (
        "RateLimit-Policy",
        '"a\\"b\\\\c";q=5;w=10',
    )
    with pytest.raises(ValueError, match="printable ASCII"):
        headers(decision, FIVE_PER_10S, "bad\r\nname")
