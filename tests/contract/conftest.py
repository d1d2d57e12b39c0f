"""Fixtures for the storage contract: an opened store of each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eventsapi.storage.base import EventStore


@pytest.fixture
async def opened(store: EventStore, anyio_backend: str) -> AsyncIterator[EventStore]:
    """The ``store`` fixture (each backend), opened; closed after the test."""
    await store.open()
    try:
        yield store
    finally:
        await store.close()
