"""``LocalBuckets``: the in-process GCRA of ``ratelimit.py`` at the price of one request.

``MemoryRateLimiter.hit`` takes a ``datetime`` and returns a ``Decision``; converting the
time and building the object cost about 45,000 instructions (some 15 us on this machine),
as much as half of a whole ``GET /events/{id}`` in the app. The API's rate limits run in
front of every request (``api/ratelimits.py``), so their in-process mode uses this instead:
one table per limit, integer microseconds in, one integer out, no object built.

It decides exactly as ``MemoryRateLimiter`` (and so as the Redis script) does, which
``tests/api/test_rate_limits.py`` checks on random request sequences.
"""

from __future__ import annotations

from eventsapi.auth.ratelimit import Limit

__all__ = ["LocalBuckets"]


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

    def remaining(self, level: int) -> int:
        """Requests allowed right now after one that left the bucket at ``level``."""
        return (self.capacity_us - level) // self.interval_us

    def _sweep(self, now_us: int) -> None:
        for key in [key for key, tat in self._tats.items() if tat <= now_us]:
            del self._tats[key]
        self._sweep_at = max(self._MIN_SWEEP, 2 * len(self._tats))
