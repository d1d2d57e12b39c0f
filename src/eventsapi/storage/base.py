"""The storage contract every backend implements.

A backend stores events and answers by id and in creation order (keyset pages).
Writes that depend on the current state (``update``, ``put``) take a pure
function from the domain and run it inside the backend's transaction, so the
read-modify-write is atomic whatever the backend. ``tests/contract`` is the
executable form of this contract and runs against every backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from eventsapi.domain.events import Event

_decode_event = msgspec.json.Decoder(Event).decode


@dataclass(frozen=True, slots=True)
class Page:
    """One page of events in creation order, as their JSON documents.

    ``next_after`` is the position to pass as ``after`` for the next page, or
    ``None`` when this page is the last. Documents stay encoded because the
    usual reader sends them on as they are.
    """

    documents: list[bytes] = field(default_factory=list)
    next_after: int | None = None

    @property
    def events(self) -> list[Event]:
        return [_decode_event(document) for document in self.documents]

    def to_json(self) -> bytes:
        """The page as a JSON array, without decoding a document."""
        return b"[" + b",".join(self.documents) + b"]"


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema migration, as listed by ``eventsapi db status``."""

    version: int
    name: str
    applied_at: str | None


Change = Callable[[Event], Event]
"""Turns the current event into its next version; may raise a domain error."""

Build = Callable[[Event | None], Event]
"""Builds the event to store from the current one, or from nothing (a create)."""


class EventStore(ABC):
    """Base class of storage backends. All methods are coroutines unless noted."""

    #: the backend's name, as ``storage.load`` knows it
    name: str = ""

    @abstractmethod
    async def open(self, *, migrate: bool = True) -> None:
        """Connect, and apply pending migrations unless told not to.

        Called once before any other method."""

    @abstractmethod
    async def close(self) -> None:
        """Finish writes in flight and release connections."""

    @abstractmethod
    async def check(self) -> None:
        """Return if the database answers; raise ``StorageUnavailable`` if not."""

    @abstractmethod
    async def get(self, event_id: str) -> Event | None:
        """The event with this id, or ``None``."""

    @abstractmethod
    async def get_json(self, event_id: str) -> tuple[bytes, int] | None:
        """The event as its JSON document (exactly what ``GET`` returns) and its version.

        Lets the hottest read skip decoding and re-encoding."""

    @abstractmethod
    async def list_page(self, *, after: int | None, limit: int) -> Page:
        """Up to ``limit`` events created after position ``after``, oldest first."""

    @abstractmethod
    async def create(self, event: Event) -> Event:
        """Store a new event; raise ``AlreadyExists`` if its id is taken."""

    @abstractmethod
    async def update(self, event_id: str, change: Change) -> Event:
        """Replace the event by ``change(current)``; raise ``NotFound`` if there is none."""

    @abstractmethod
    async def put(self, event_id: str, build: Build) -> tuple[Event, bool]:
        """Store ``build(current or None)``; return it and whether it was created."""

    @abstractmethod
    async def delete(self, event_id: str) -> None:
        """Remove the event; raise ``NotFound`` if there is none."""

    @abstractmethod
    async def instance_key(self) -> bytes:
        """A secret made once per database, shared by every replica (signs cursors)."""

    @abstractmethod
    async def migrations(self) -> list[Migration]:
        """Every migration this version knows, with when it was applied (or ``None``)."""
