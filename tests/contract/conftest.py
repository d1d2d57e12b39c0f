"""Fixtures for the storage contract.

- ``opened``: the ``store`` fixture (each backend), opened.
- ``new_store``: makes stores on one SQLite or PostgreSQL database, as replicas do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from eventsapi.storage import Backend
from eventsapi.storage.postgres import PostgresStore
from eventsapi.storage.sqlite import SQLiteStore
from tests.support import postgres_schema


@pytest.fixture
async def opened(store: Backend, anyio_backend: str) -> AsyncIterator[Backend]:
    """The ``store`` fixture (each backend), opened; closed after the test."""
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Backend]]:
    """Makes stores on one database: each is a process (a replica) of its own."""
    if request.param == "sqlite":
        yield lambda: SQLiteStore(tmp_path / "events.db")
        return
    with postgres_schema() as url:
        yield lambda: PostgresStore(url)
