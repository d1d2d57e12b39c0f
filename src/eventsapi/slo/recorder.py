"""Counting requests on the hot path, cheaply, for the SLIs and for ``/metrics``.

Every answered request costs one dictionary lookup and three increments here
(:meth:`Recorder.record`); everything else (minute rows for the database, deltas for
Prometheus) is computed from the drained counts, once a second, off the request path.
Recording straight into ``prometheus_client`` costs ~11 microseconds a request in its
multiprocess mode (measured: histogram ~6.6, counter ~4.2), a fifth of a whole
``GET /events/{id}``; this costs about one.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable
from typing import Final

from eventsapi.domain.sli import LATENCY_BOUNDS_MS, SLIRow, from_epoch_minute

__all__ = ["UNMATCHED_ROUTE", "UNRECORDED_ROUTES", "Counted", "Recorder", "sli_rows"]

_BOUNDS_S: Final = tuple(bound / 1000 for bound in LATENCY_BOUNDS_MS)
_SLOTS: Final = 2 + len(_BOUNDS_S) + 1  # count, seconds, one slot per bucket and +Inf

UNRECORDED_ROUTES: Final = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes: machines asking every few seconds, not users. Counting them would
dilute every "all routes" SLO with requests that cannot fail the way users' do."""

UNMATCHED_ROUTE: Final = "(unmatched)"
"""The route of requests no route matched (404s): one label, never the raw path, whose
values are unbounded."""

Key = tuple[int, str, str, int]
"""``(epoch minute, route template, method, status)``."""

Counted = dict[Key, list[float]]
"""Drained counts: per key, ``[requests, seconds, bucket counts..., +Inf count]``, the
buckets *not* cumulative (``bucket[i]``: slower than bound ``i - 1``, at most bound ``i``)."""


_bisect: Final = bisect.bisect_left


class Recorder:
    """Counts requests by minute, route template, method and status, in this process."""

    __slots__ = ("_current", "_minute", "_minutes", "_wall")

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        # minute -> (route, method, status) -> slot; the current minute's dict is kept at
        # hand, so a request hashes a 3-tuple of cached-hash strings and an int, nothing more
        # (0.6 us a request here, against 1.1 us with the minute in the key).
        self._minutes: dict[int, dict[tuple[str, str, int], list[float]]] = {}
        self._minute = -1
        self._current: dict[tuple[str, str, int], list[float]] = {}

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request that took ``seconds``."""
        minute = int(self._wall() // 60)
        if minute != self._minute:
            self._minute = minute
            self._current = self._minutes.setdefault(minute, {})
        slot = self._current.get((route, method, status))
        if slot is None:
            slot = self._current[(route, method, status)] = [0] * _SLOTS
        slot[0] += 1
        slot[1] += seconds
        # bisect_left: a request of exactly a bound's duration is within it (le).
        slot[2 + _bisect(_BOUNDS_S, seconds)] += 1

    def drain(self) -> Counted:
        """The counts since the last drain; the recorder starts again from zero."""
        minutes, self._minutes = self._minutes, {}
        self._minute, self._current = -1, {}
        return {
            (minute, route, method, status): slot
            for minute, slots in minutes.items()
            for (route, method, status), slot in slots.items()
        }


def sli_rows(counted: Iterable[tuple[Key, list[float]]], errors: frozenset[int]) -> list[SLIRow]:
    """The drained counts as one row per minute, route and method (what the store adds)."""
    merged: dict[tuple[int, str, str], list[int]] = {}
    for (minute, route, method, status), slot in counted:
        row = merged.get((minute, route, method))
        if row is None:
            row = merged[(minute, route, method)] = [0] * (2 + len(_BOUNDS_S))
        count = int(slot[0])
        row[0] += count
        if status in errors:
            row[1] += count
        for index in range(len(_BOUNDS_S)):
            row[2 + index] += int(slot[2 + index])
    rows = []
    for (minute, route, method), row in sorted(merged.items()):
        within, running = [], 0
        for count in row[2:]:
            running += count
            within.append(running)
        rows.append(SLIRow(from_epoch_minute(minute), route, method, row[0], row[1], tuple(within)))
    return rows
