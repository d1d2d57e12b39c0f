"""``LocalBuckets``, the in-process limiter: the same decisions as the Redis script of
``RedisRateLimiter`` (the real Redis), and memory that follows active clients."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from eventsapi.auth.ratelimit import Limit
from eventsapi.auth.ratelimit_local import LocalBuckets
from tests.support import START
from tests.unit.test_ratelimit import redis_limiters

pytestmark = pytest.mark.anyio

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(offset: timedelta) -> int:
    return (START + offset - EPOCH) // timedelta(microseconds=1)


async def test_local_buckets_decide_as_the_redis_script() -> None:
    rng = random.Random(6)  # noqa: S311 (a reproducible sequence, not a secret)
    limits = [
        Limit(5, timedelta(seconds=10)),
        Limit(7, timedelta(seconds=3)),  # an interval that is not a whole microsecond
        Limit(3, timedelta(seconds=1)),
    ]
    local = {limit: LocalBuckets(limit) for limit in limits}
    offset = timedelta(0)
    decisions = []
    async with redis_limiters(1) as (redis,):
        for _ in range(2000):
            offset += timedelta(microseconds=rng.choice([0, 0, 0, 0, 1, 999, 250_000, 1_700_001]))
            limit = rng.choice(limits)
            key = rng.choice(["a", "b"])
            expected = await redis.hit(key, limit, START + offset)
            level = local[limit].take(key, _us(offset))
            assert local[limit].decision(level) == expected
            decisions.append(expected.allowed)
    assert 0.1 < sum(decisions) / len(decisions) < 0.9, "both kinds of decision were checked"


def test_a_refused_request_spends_nothing() -> None:
    buckets = LocalBuckets(Limit(2, timedelta(seconds=10)))
    assert [buckets.take("a", 0) > 0 for _ in range(3)] == [True, True, False]
    assert buckets.take("a", 4_999_999) < 0
    assert buckets.take("a", 5_000_000) == 10_000_000  # one back after 5 s, and it is used


def test_buckets_full_again_are_forgotten() -> None:
    buckets = LocalBuckets(Limit(10, timedelta(seconds=1)))
    for n in range(100_000):
        buckets.take(f"client-{n}", n * 1000)  # a new client every millisecond
    # Each bucket is full again 0.1 s after its one request: about 100 are live at a time.
    assert len(buckets._tats) < 2 * LocalBuckets._MIN_SWEEP
