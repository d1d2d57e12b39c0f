"""Time as a dependency, so tests can control it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""A function returning the current time as an aware UTC datetime."""


def system_clock() -> datetime:
    """The wall clock, in UTC, truncated to milliseconds (what we store and show)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
