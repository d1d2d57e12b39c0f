"""Helpers for tests: a controllable clock and store construction by backend name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from eventsapi.storage.base import EventStore
from eventsapi.storage.memory import MemoryStore
from eventsapi.storage.sqlite import SQLiteStore

BACKENDS = ["memory", "sqlite"]
START = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


class FakeClock:
    """A clock that stands still until told to move; pass ``clock.now`` as a ``Clock``."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 1.0) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now


def make_store(backend: str, directory: Path) -> EventStore:
    """A new, unopened store of ``backend`` keeping its files in ``directory``."""
    if backend == "memory":
        return MemoryStore()
    if backend == "sqlite":
        return SQLiteStore(directory / "events.db")
    raise ValueError(f"unknown backend {backend!r}")
