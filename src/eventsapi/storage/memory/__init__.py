"""The memory backend: one module per concern, composed in ``store.MemoryStore``."""

from eventsapi.storage.memory.store import MemoryStore

__all__ = ["MemoryStore"]
