"""An in-memory backend: a real implementation of the contract, for tests and demos.

Everything is lost when the process exits, and it cannot be shared between
worker processes; ``eventsapi serve`` says so when it is chosen.
"""

from __future__ import annotations

import bisect
import dataclasses
import secrets
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from datetime import datetime

import msgspec

from eventsapi.domain.events import Event
from eventsapi.domain.query import EventQuery, Position, matches, relevance, sort_position
from eventsapi.errors import AlreadyExists, NotFound
from eventsapi.slo.records import (
    AlertTransition,
    MinuteTotals,
    SLIRow,
    epoch_minute,
    from_epoch_minute,
)
from eventsapi.slo.spec import Routes, selects
from eventsapi.storage import sli_tables
from eventsapi.storage.base import (
    Build,
    Change,
    EventStore,
    Guard,
    IdempotencyKey,
    ImportResult,
    Migration,
    OnConflict,
    Page,
    SavedKey,
    answer_reuse,
    page_of,
)
from eventsapi.storage.memory_accounts import MemoryAccounts

_encode = msgspec.json.Encoder().encode


class MemoryStore(MemoryAccounts, EventStore):
    """Events in a dict, positions in a sorted list; accounts in ``MemoryAccounts``. Every
    method runs without awaiting, so each is atomic on the event loop."""

    name = "memory"

    def __init__(self) -> None:
        super().__init__()
        self._events: dict[str, tuple[int, Event]] = {}
        self._positions: list[int] = []
        self._ids_by_position: dict[int, str] = {}
        self._last_position = 0
        self._key = secrets.token_bytes(32)
        self._saved: dict[tuple[str, str], tuple[datetime, SavedKey]] = {}
        self._sli: dict[sli_tables.SLIKey, list[int]] = {}
        self._transitions: dict[tuple[str, str, int], AlertTransition] = {}

    async def open(self, *, migrate: bool = True) -> None:
        return None

    async def close(self) -> None:
        return None

    async def check(self) -> None:
        return None

    async def get(self, event_id: str) -> Event | None:
        found = self._events.get(event_id)
        return found[1] if found else None

    async def get_json(self, event_id: str) -> tuple[bytes, int] | None:
        found = self._events.get(event_id)
        return (_encode(found[1]), found[1].version) if found else None

    async def list_page(self, query: EventQuery) -> Page:
        found: list[tuple[Position, Event]] = []
        for position in self._positions:
            event = self._events[self._ids_by_position[position]][1]
            if matches(event, query.filter):
                rank = relevance(event, query.filter.terms) if query.filter.terms else 0.0
                found.append((sort_position(event, query.sort, seq=position, rank=rank), event))
        found.sort(key=lambda item: item[0], reverse=query.descending)
        if query.after is not None:
            found = [item for item in found if self._beyond(item[0], query.after, query)]
        if query.before is not None:
            found = [item for item in found if self._beyond(query.before, item[0], query)]
            found = found[-query.limit - 1 :]
            more = len(found) > query.limit
            window = found[-query.limit :] if more else found
        else:
            more = len(found) > query.limit
            window = found[: query.limit]
        return page_of(
            [_encode(event) for _, event in window],
            [position for position, _ in window],
            query,
            more=more,
            total=self._count(query) if query.count else None,
        )

    @staticmethod
    def _beyond(position: Position, mark: Position, query: EventQuery) -> bool:
        """Whether ``position`` comes after ``mark`` in the query's order."""
        return position < mark if query.descending else position > mark

    def _count(self, query: EventQuery) -> int:
        found = sum(1 for _, event in self._events.values() if matches(event, query.filter))
        ceiling = query.count_ceiling
        return found if ceiling is None else min(found, ceiling + 1)

    def _claim(self, once: IdempotencyKey | None) -> None:
        if once is None:
            return
        saved = self._saved_key(once.scope, once.key, once.now)
        if saved is None:
            return
        answer_reuse(saved, once.key, once.fingerprint)

    def _save(self, once: IdempotencyKey | None, event: Event) -> None:
        if once is not None:
            saved = SavedKey(once.fingerprint, once.respond(event))
            self._saved[(once.scope, once.key)] = (once.expires_at, saved)

    def _saved_key(self, scope: str, key: str, now: datetime) -> SavedKey | None:
        found = self._saved.get((scope, key))
        return found[1] if found is not None and found[0] > now else None

    async def create(self, event: Event, *, once: IdempotencyKey | None = None) -> Event:
        self._claim(once)
        if event.id in self._events:
            raise AlreadyExists(f"An event with id {event.id!r} already exists.")
        self._save(once, event)
        self._insert(event)
        return event

    async def update(
        self, event_id: str, change: Change, *, once: IdempotencyKey | None = None
    ) -> Event:
        self._claim(once)
        found = self._events.get(event_id)
        if found is None:
            raise NotFound(f"No event with id {event_id!r}.")
        position, current = found
        updated = change(current)
        self._save(once, updated)
        self._events[event_id] = (position, updated)
        return updated

    async def put(self, event_id: str, build: Build) -> tuple[Event, bool]:
        found = self._events.get(event_id)
        if found is None:
            event = build(None)
            self._insert(event)
            return event, True
        position, current = found
        event = build(current)
        self._events[event_id] = (position, event)
        return event, False

    async def delete(self, event_id: str, *, guard: Guard | None = None) -> None:
        found = self._events.get(event_id)
        if found is None:
            raise NotFound(f"No event with id {event_id!r}.")
        if guard is not None:
            guard(found[1])
        del self._events[event_id]
        position = found[0]
        del self._positions[bisect.bisect_left(self._positions, position)]
        del self._ids_by_position[position]

    async def saved_key(self, scope: str, key: str, now: datetime) -> SavedKey | None:
        return self._saved_key(scope, key, now)

    async def prune_keys(self, now: datetime) -> int:
        expired = [name for name, (expires_at, _) in self._saved.items() if expires_at <= now]
        for name in expired:
            del self._saved[name]
        return len(expired)

    async def instance_key(self) -> bytes:
        return self._key

    async def migrations(self) -> list[Migration]:
        return []

    def _insert(self, event: Event) -> None:
        self._last_position += 1
        self._events[event.id] = (self._last_position, event)
        self._positions.append(self._last_position)
        self._ids_by_position[self._last_position] = event.id

    async def import_events(
        self,
        events: Iterable[Event],
        *,
        on_conflict: OnConflict = "error",
        keep: Callable[[ImportResult], bool] | None = None,
    ) -> ImportResult:
        # Staged, then applied without awaiting: all or nothing on the event loop.
        added: dict[str, Event] = {}
        replacing: dict[str, Event] = {}
        conflicts: list[str] = []
        replaced = 0
        for event in events:
            if event.id not in self._events and event.id not in added:
                added[event.id] = event
            elif on_conflict == "replace":
                (added if event.id in added else replacing)[event.id] = event
                replaced += 1
            else:
                conflicts.append(event.id)
        result = ImportResult(
            imported=len(added),
            replaced=replaced,
            skipped=len(conflicts) if on_conflict == "skip" else 0,
            conflicts=tuple(conflicts),
        )
        stored = not (on_conflict == "error" and conflicts) and (keep is None or keep(result))
        if stored:
            for event_id, event in replacing.items():
                self._events[event_id] = (self._events[event_id][0], event)
            for event in added.values():
                self._insert(event)
        return dataclasses.replace(result, committed=stored)

    async def export_documents(
        self, *, batch_size: int = 1000
    ) -> AsyncGenerator[list[bytes], None]:
        # Events are immutable: holding the ones there now is a consistent snapshot.
        snapshot = [self._events[self._ids_by_position[p]][1] for p in self._positions]
        for start in range(0, len(snapshot), batch_size):
            yield [_encode(event) for event in snapshot[start : start + batch_size]]

    async def record_sli(self, rows: Sequence[SLIRow]) -> None:
        # merged() checks every row before the first is added: all or nothing.
        for key, counts in sli_tables.merged(rows).items():
            stored = self._sli.setdefault(key, [0] * len(counts))
            for index, count in enumerate(counts):
                stored[index] += count

    async def sli_minutes(
        self, start: datetime, end: datetime, routes: Routes = "all"
    ) -> list[MinuteTotals]:
        first, stop = sli_tables.minute_at_or_after(start), sli_tables.minute_at_or_after(end)
        summed: dict[int, list[int]] = {}
        for (minute, route, method), counts in self._sli.items():
            if first <= minute < stop and selects(routes, route, method):
                total = summed.setdefault(minute, [0] * len(counts))
                for index, count in enumerate(counts):
                    total[index] += count
        return [sli_tables.minute_totals([minute, *summed[minute]]) for minute in sorted(summed)]

    async def prune_sli(self, before: datetime) -> int:
        stop = sli_tables.minute_at_or_after(before)
        old = [key for key in self._sli if key[0] < stop]
        for key in old:
            del self._sli[key]
        return len(old)

    async def add_alert_transition(self, transition: AlertTransition) -> bool:
        at = epoch_minute(transition.at)
        key = (transition.slo, transition.rule, at)
        if key in self._transitions:
            return False
        # As the SQL backends keep it: the minute, in UTC.
        self._transitions[key] = dataclasses.replace(transition, at=from_epoch_minute(at))
        return True

    async def alert_transitions(
        self, since: datetime, *, limit: int = 100
    ) -> list[AlertTransition]:
        sli_tables.check_limit(limit)
        first = sli_tables.minute_at_or_after(since)
        found = sorted(
            (key for key in self._transitions if key[2] >= first),
            key=lambda key: (-key[2], key[0], key[1]),
        )
        return [self._transitions[key] for key in found[:limit]]
