"""Fixtures of the account service's unit tests: a memory store, and the service on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eventsapi.auth.passwords import Hasher
from eventsapi.auth.service import AccountService
from eventsapi.storage.memory import MemoryStore
from tests.support import FakeClock


@pytest.fixture
async def memory(anyio_backend: str) -> AsyncIterator[MemoryStore]:
    store = MemoryStore()
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def service(memory: MemoryStore, clock: FakeClock) -> AccountService:
    return AccountService(memory, clock.now, hasher=Hasher.for_tests())
