"""From stored per-minute totals to one SLO's buckets (pure).

An availability SLO's bad requests are the errors; a latency SLO's are the requests slower
than its threshold, ``total - within[bound of the threshold]``.
"""

from __future__ import annotations

from collections.abc import Iterable

from eventsapi.domain.sli import MinuteTotals, bound_index
from eventsapi.slo.spec import SLIKind, SLOSpec
from eventsapi.slo.windows import MinuteBucket

__all__ = ["slo_buckets"]


def slo_buckets(slo: SLOSpec, minutes: Iterable[MinuteTotals]) -> list[MinuteBucket]:
    """One :class:`MinuteBucket` per minute, ``bad`` counted as ``slo``'s kind says.

    ``minutes`` must already be restricted to ``slo.routes`` (``SLIStore.sli_minutes``).
    """
    if slo.kind is SLIKind.AVAILABILITY:
        return [MinuteBucket(m.minute, m.total, m.errors) for m in minutes]
    index = bound_index(slo.threshold_ms or 0)  # SLOSpec guarantees a latency SLO has one
    return [MinuteBucket(m.minute, m.total, m.total - m.within[index]) for m in minutes]
