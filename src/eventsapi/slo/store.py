"""What the SLO engine needs of a store: per-minute request counts and alert transitions.

The SLO engine owns this protocol; every backend (``storage/``) satisfies it, checked by mypy
in ``tests/contract``. The types are the domain's (``domain/sli.py``), so storage never
imports ``slo/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from eventsapi.domain.sli import AlertTransition, MinuteTotals, Routes, SLIRow

__all__ = ["SLIStore"]


class SLIStore(Protocol):
    """Service level indicators (issue 5): per-minute request counts, added up across workers
    and replicas, and the alert transitions they lead to. All coroutines."""

    async def record_sli(self, rows: Sequence[SLIRow]) -> None:
        """Add each row's counts to what is stored for its minute, route and method.

        Atomic per call, and additive: two workers recording the same minute, route and
        method concurrently end with the sum (an upsert that adds, never a read-modify-write
        in Python). A row with a minute, route and method not stored yet is created.
        """

    async def sli_minutes(
        self, start: datetime, end: datetime, routes: Routes = "all"
    ) -> list[MinuteTotals]:
        """Per-minute sums over the routes selected, for minutes ``start <= m < end``.

        Oldest first; minutes without a stored row are left out. ``routes`` is ``"all"`` or
        route templates with their methods (a template with no methods: every method).
        """

    async def prune_sli(self, before: datetime) -> int:
        """Forget the minutes before ``before``; return how many rows went."""

    async def add_alert_transition(self, transition: AlertTransition) -> bool:
        """Store ``transition`` unless one with its ``(slo, rule, at)`` is stored already.

        True when this call stored it (the caller then notifies), false when another worker
        or replica was first.
        """

    async def alert_transitions(
        self, since: datetime, *, limit: int = 100
    ) -> list[AlertTransition]:
        """Transitions at or after ``since``, newest first (ties: slo, then rule), at most
        ``limit``."""
