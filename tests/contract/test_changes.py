"""The change log's part of the storage contract, run against every backend.

Every write to an event appends one record in its own transaction: a write that fails
appends nothing, positions only grow with no gap, imports append too, and pruning keeps a
durable horizon that says which positions are gone. (PostgreSQL's commit-order problem
and the proof that readers never skip a record: ``test_postgres_changes.py``.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from eventsapi.domain.changes import ChangeRecord
from eventsapi.domain.events import Event
from eventsapi.errors import AlreadyExists, NotFound, PreconditionFailed
from eventsapi.storage import Backend
from eventsapi.storage.events import with_counts
from eventsapi.storage.idempotency import IdempotencyKey, Replay
from tests.contract.test_event_store import event, next_version
from tests.support import START

pytestmark = pytest.mark.anyio


async def every_change(store: Backend) -> list[ChangeRecord]:
    return await store.changes_after(0, 10_000)


def summary(records: list[ChangeRecord]) -> list[tuple[int, str, str, int]]:
    return [(r.position, r.type, r.event_id, r.version) for r in records]


def refuse(_: Event) -> None:
    raise PreconditionFailed("The event changed since it was read.")


def key(name: str) -> IdempotencyKey:
    return IdempotencyKey(
        scope="u1",
        key=name,
        fingerprint=b"f" * 32,
        now=START,
        expires_at=START + timedelta(days=1),
    )


async def test_an_empty_log_has_nothing_after_zero(opened: Backend) -> None:
    assert await every_change(opened) == []
    assert await opened.change_horizon() == (0, 0)


async def test_the_settled_position_counts_every_committed_change(opened: Backend) -> None:
    # Where "from now on" starts (a new webhook endpoint): no change committed before it may
    # come after it, even one that no reader has numbered yet (PostgreSQL).
    assert await opened.settled_position() == 0
    for name in ("s1", "s2", "s3"):
        await opened.create(event(name))
    assert await opened.settled_position() == 3
    assert await opened.changes_after(3, 10) == []
    assert (await opened.change_horizon())[1] == 3


async def test_each_write_appends_its_record_with_the_served_document(opened: Backend) -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)  # times are kept to the millisecond
    await opened.create(event("e1"), actor="u1")
    await opened.update("e1", lambda e: next_version(e, title="Renamed"), actor="u2")
    await opened.put("e2", lambda _: event("e2"))
    await opened.put("e2", lambda current: next_version(current or event("e2")), actor="u3")
    await opened.delete("e2", actor="u4")
    after = datetime.now(UTC)

    records = await every_change(opened)

    assert summary(records) == [
        (1, "event.created", "e1", 1),
        (2, "event.updated", "e1", 2),
        (3, "event.created", "e2", 1),
        (4, "event.updated", "e2", 2),
        (5, "event.deleted", "e2", 2),
    ]
    assert [r.actor for r in records] == ["u1", "u2", None, "u3", "u4"]
    stored = await opened.get_json("e1")
    assert stored is not None
    assert records[1].document == with_counts(stored[0], *stored[2:])
    assert msgspec.json.decode(records[0].document or b"", type=Event) == event("e1")
    first = msgspec.json.decode(records[0].document or b"")
    assert (first["registered"], first["waitlisted"], first["spots_left"]) == (0, 0, 10)
    assert msgspec.json.decode(records[3].document or b"", type=Event).version == 2
    assert records[4].document is None
    assert all(before <= r.at <= after and r.at.utcoffset() == timedelta(0) for r in records)
    assert await opened.change_horizon() == (0, 5)


async def test_a_delete_records_the_version_it_deleted(opened: Backend) -> None:
    await opened.create(event("e1"))
    for _ in range(3):
        await opened.update("e1", next_version)

    await opened.delete("e1", guard=lambda current: None)

    last = (await every_change(opened))[-1]
    assert (last.type, last.event_id, last.version, last.document) == (
        "event.deleted",
        "e1",
        4,
        None,
    )


async def test_a_write_that_fails_appends_nothing(opened: Backend) -> None:
    await opened.create(event("e1"))

    def failing_change(_: Event) -> Event:
        raise PreconditionFailed("The event changed since it was read.")

    def failing_build(_: Event | None) -> Event:
        raise PreconditionFailed("The event changed since it was read.")

    failures: list[tuple[type[Exception], Callable[[], object]]] = [
        (AlreadyExists, lambda: opened.create(event("e1"))),
        (NotFound, lambda: opened.update("missing", next_version)),
        (PreconditionFailed, lambda: opened.update("e1", failing_change)),
        (PreconditionFailed, lambda: opened.put("e1", failing_build)),
        (PreconditionFailed, lambda: opened.put("new", failing_build)),
        (PreconditionFailed, lambda: opened.delete("e1", guard=refuse)),
        (NotFound, lambda: opened.delete("missing")),
        (NotFound, lambda: opened.delete("missing", guard=refuse)),
    ]
    for error, write in failures:
        with pytest.raises(error):
            await write()  # type: ignore[misc]

    assert summary(await every_change(opened)) == [(1, "event.created", "e1", 1)]
    assert await opened.change_horizon() == (0, 1)


async def test_failed_writes_leave_no_gap_in_the_positions(opened: Backend) -> None:
    for number in range(6):
        await opened.create(event(f"e{number}"))
        with pytest.raises(AlreadyExists):
            await opened.create(event(f"e{number}"))
        with pytest.raises(PreconditionFailed):
            await opened.delete(f"e{number}", guard=refuse)

    positions = [r.position for r in await every_change(opened)]

    assert positions == [1, 2, 3, 4, 5, 6]


async def test_a_replayed_idempotency_key_appends_nothing(opened: Backend) -> None:
    await opened.create(event("e1"), once=key("k1"))
    with pytest.raises(Replay):
        await opened.create(event("e2"), once=key("k1"))

    assert summary(await every_change(opened)) == [(1, "event.created", "e1", 1)]


async def test_reading_after_a_position_pages_in_ascending_order(opened: Backend) -> None:
    for number in range(7):
        await opened.create(event(f"e{number}"))

    pages = []
    position = 0
    while page := await opened.changes_after(position, 3):
        pages.append([r.position for r in page])
        position = page[-1].position

    assert pages == [[1, 2, 3], [4, 5, 6], [7]]
    assert await opened.changes_after(7, 3) == []
    assert await opened.changes_after(1_000, 3) == []


async def test_an_import_appends_a_record_per_event_stored(opened: Backend) -> None:
    await opened.create(event("kept"))
    await opened.create(event("replaced"))

    await opened.import_events(
        [event("a"), next_version(event("replaced"), title="Imported")], on_conflict="replace"
    )
    await opened.import_events([event("kept"), event("b")], on_conflict="skip", actor="u1")

    records = (await every_change(opened))[2:]
    assert summary(records) == [
        (3, "event.created", "a", 1),
        (4, "event.updated", "replaced", 2),
        (5, "event.created", "b", 1),
    ]
    assert [r.actor for r in records] == [None, None, "u1"]
    stored = await opened.get_json("replaced")
    assert stored is not None
    assert records[1].document == with_counts(stored[0], *stored[2:])


async def test_an_import_that_is_not_kept_appends_nothing(opened: Backend) -> None:
    await opened.create(event("taken"))

    with_conflict = await opened.import_events([event("a"), event("taken")])
    dry_run = await opened.import_events([event("b")], keep=lambda result: False)

    assert not with_conflict.committed
    assert not dry_run.committed
    assert summary(await every_change(opened)) == [(1, "event.created", "taken", 1)]


async def a_millisecond_after(instant: datetime) -> None:
    """Return once the wall clock is a millisecond past ``instant`` (records keep times to
    the millisecond: so that the next one is strictly later)."""
    left = instant + timedelta(milliseconds=1) - datetime.now(UTC)
    if left > timedelta(0):
        await asyncio.sleep(left.total_seconds() + 0.001)  # the margin: the loop's clock
    assert datetime.now(UTC) >= instant + timedelta(milliseconds=1)


async def test_pruning_forgets_old_records_and_keeps_the_horizon(opened: Backend) -> None:
    for number in range(3):
        await opened.create(event(f"e{number}"))
        await a_millisecond_after((await every_change(opened))[-1].at)
    records = await every_change(opened)

    assert await opened.prune_changes(records[0].at) == 0
    assert await opened.prune_changes(records[1].at + timedelta(microseconds=1)) == 2
    assert await opened.change_horizon() == (2, 3)
    assert [r.position for r in await every_change(opened)] == [3]

    assert await opened.prune_changes(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert await every_change(opened) == []
    assert await opened.change_horizon() == (3, 3)

    await opened.create(event("after"))
    assert summary(await every_change(opened)) == [(4, "event.created", "after", 1)]
    assert await opened.change_horizon() == (3, 4)
    assert await opened.prune_changes(records[0].at) == 0
    assert await opened.change_horizon() == (3, 4)


async def test_the_horizon_survives_a_restart(new_store: Callable[[], Backend]) -> None:
    store = new_store()
    await store.open()
    try:
        await store.create(event("e1"))
        await store.create(event("e2"))
        await store.prune_changes(datetime.now(UTC) + timedelta(seconds=1))
    finally:
        await store.close()

    reopened = new_store()
    await reopened.open()
    try:
        assert await reopened.change_horizon() == (2, 2)
        await reopened.create(event("e3"))
        assert [r.position for r in await every_change(reopened)] == [3]
    finally:
        await reopened.close()


async def test_replicas_share_one_log(new_store: Callable[[], Backend]) -> None:
    first, second = new_store(), new_store()
    await first.open()
    await second.open()
    try:
        await first.create(event("e1"))
        await second.update("e1", next_version)
        await first.delete("e1")

        for reader in (first, second):
            assert summary(await every_change(reader)) == [
                (1, "event.created", "e1", 1),
                (2, "event.updated", "e1", 2),
                (3, "event.deleted", "e1", 2),
            ]
            assert await reader.change_horizon() == (0, 3)
    finally:
        await first.close()
        await second.close()
