"""An in-memory backend: a real implementation of the contract, for tests and demos.

Everything is lost when the process exits, and it cannot be shared between
worker processes; ``eventsapi serve`` says so when it is chosen.
"""

from __future__ import annotations

import secrets

from eventsapi.storage.memory.accounts import MemoryAccounts
from eventsapi.storage.memory.registrations import MemoryRegistrations
from eventsapi.storage.memory.sli import MemorySLI
from eventsapi.storage.memory.transfer import MemoryTransfer
from eventsapi.storage.memory.webhooks import MemoryWebhooks
from eventsapi.storage.migrations import Migration


class MemoryStore(MemoryTransfer, MemorySLI, MemoryAccounts, MemoryWebhooks, MemoryRegistrations):
    """Events in a dict, positions in a sorted list, a part per concern. Every method runs
    without awaiting, so each is atomic on the event loop."""

    name = "memory"

    def __init__(self) -> None:
        super().__init__()
        self._key = secrets.token_bytes(32)

    async def open(self, *, migrate: bool = True) -> None:
        return None

    async def close(self) -> None:
        return None

    async def check(self) -> None:
        return None

    async def instance_key(self) -> bytes:
        return self._key

    async def snapshot(self) -> int | None:
        return None  # nothing to save: every read is a dict's

    async def migrations(self) -> list[Migration]:
        return []
