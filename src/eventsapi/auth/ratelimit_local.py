"""The in-process GCRA of ``ratelimit.py``: ``LocalBuckets``, and ``MemoryRateLimiter`` on it.

The API's rate limits run in front of every request (``api/ratelimits.py``), so their
in-process mode calls ``LocalBuckets`` directly: one table per limit, integer
microseconds in, one integer out, no object built. A ``RateLimiter`` (a ``datetime`` in,
a ``Decision`` out) costs about 45,000 instructions more per request (some 15 us on this
machine), as much as half of a whole ``GET /events/{id}``; ``MemoryRateLimiter`` is that
protocol over the same buckets, for callers that can afford it.

It decides exactly as the Redis script of ``RedisRateLimiter`` does, which
``tests/unit/test_ratelimit_local.py`` checks on random request sequences.
"""

from __future__ import annotations

import threading
from datetime import datetime

from eventsapi.auth.ratelimit import Decision, Limit, epoch_microseconds

__all__ = ["LocalBuckets", "MemoryRateLimiter"]

_PER_SECOND = 1_000_000


class LocalBuckets:
    """The buckets of every key under one ``Limit``, in this process's memory.

    Call from one event loop: ``take`` never awaits, so it is atomic there (each worker
    process of the server has its own buckets, and so its own count). Keys whose bucket is
    full again are dropped when the table has doubled since the last sweep, so memory
    follows the number of clients active within one window.
    """

    _MIN_SWEEP = 1024

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self.interval_us = limit.interval_us
        self.capacity_us = limit.interval_us * limit.requests
        self._tats: dict[str, int] = {}
        self._sweep_at = self._MIN_SWEEP

    def take(self, key: str, now_us: int) -> int:
        """Count a request of ``key`` at ``now_us`` (microseconds since the epoch).

        Positive: allowed; the bucket's level after it, in microseconds (the time until
        the whole quota is back: ``Decision.reset_after``). Negative: refused, and counted
        for nothing; minus the microseconds to wait (``Decision.retry_after``).
        """
        tats = self._tats
        tat = tats.get(key)
        level = (tat if tat is not None and tat > now_us else now_us) + self.interval_us - now_us
        if level > self.capacity_us:
            return self.capacity_us - level
        tats[key] = now_us + level
        if tat is None and len(tats) >= self._sweep_at:  # only a new key grows the table
            self._sweep(now_us)
        return level

    def keys(self) -> list[str]:
        """The keys that have a bucket now (those not swept yet)."""
        return list(self._tats)

    def remaining(self, level: int) -> int:
        """Requests allowed right now after one that left the bucket at ``level``."""
        return (self.capacity_us - level) // self.interval_us

    def decision(self, level: int) -> Decision:
        """The ``Decision`` that ``take``'s ``level`` stands for."""
        if level > 0:
            return Decision(True, self.remaining(level), level / _PER_SECOND, None)
        retry = -level
        reset = self.capacity_us + retry - self.interval_us  # the level before the refusal
        return Decision(False, 0, reset / _PER_SECOND, retry / _PER_SECOND)

    def _sweep(self, now_us: int) -> None:
        for key in [key for key, tat in self._tats.items() if tat <= now_us]:
            del self._tats[key]
        self._sweep_at = max(self._MIN_SWEEP, 2 * len(self._tats))


class MemoryRateLimiter:
    """A ``RateLimiter`` kept in this process (``LocalBuckets`` for each limit): right for
    one node; each replica would count alone."""

    def __init__(self) -> None:
        self._buckets: dict[Limit, LocalBuckets] = {}
        # ``hit`` never awaits, so it is atomic on one event loop; the lock covers
        # servers that call from several threads.
        self._lock = threading.Lock()

    async def hit(self, key: str, limit: Limit, now: datetime) -> Decision:
        with self._lock:
            buckets = self._buckets.get(limit)
            if buckets is None:
                buckets = self._buckets[limit] = LocalBuckets(limit)
            return buckets.decision(buckets.take(key, epoch_microseconds(now)))
