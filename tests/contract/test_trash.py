"""The trash's part of the storage contract, run against every backend.

A delete moves the event out of every read into the trash; a restore brings it back with
its id and a new version, in one transaction (a refused restore changes nothing); a purge
removes it for good, at once or after the retention; an id in the trash stays taken. Each
move is one change-log record.
"""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from eventsapi.domain.events import Event, restored
from eventsapi.domain.query import EventFilter, EventQuery
from eventsapi.domain.registrations import Counts
from eventsapi.errors import AlreadyExists, InTrash, NotFound
from eventsapi.storage import Backend, changes
from eventsapi.storage.events import with_counts
from eventsapi.storage.trash import TrashQuery
from tests.contract.test_event_store import all_ids, event
from tests.support import START

pytestmark = pytest.mark.anyio

LATER = START + timedelta(days=1)


def owned(owner: str) -> Event:
    return msgspec.structs.replace(event(f"{owner}-1"), owner=owner)


def back(trashed: Event) -> Event:
    return restored(trashed, now=LATER)


def refuse(_: Event) -> None:
    raise NotFound("No event with id 'x'.")


def refused(trashed: Event) -> Event:
    refuse(trashed)
    return trashed


async def trashed_ids(store: Backend, owner: str | None = None) -> list[str]:
    page = await store.trash_page(TrashQuery(owner=owner, limit=100))
    return [item.event_id for item in page.items]


async def change_types(store: Backend) -> list[tuple[str, str, int, bool]]:
    return [
        (r.type, r.event_id, r.version, r.document is not None)
        for r in await store.changes_after(0, 1000)
    ]


async def test_a_deleted_event_leaves_every_read_and_is_in_the_trash(opened: Backend) -> None:
    await opened.create(event("a", title="Gone"))
    await opened.create(event("b"))

    await opened.delete("a", actor="u1")

    assert await opened.get("a") is None
    assert await opened.get_json("a") is None
    assert await all_ids(opened) == ["b"]
    searched = await opened.list_page(EventQuery(filter=EventFilter(terms=("gone",)), count=True))
    assert (searched.documents, searched.total) == ([], 0)
    page = await opened.trash_page(TrashQuery(owner=None, limit=10))
    [item] = page.items
    assert (item.event_id, item.version, item.deleted_by) == ("a", 1, "u1")
    assert msgspec.json.decode(item.document, type=Event) == event("a", title="Gone")
    with pytest.raises(NotFound):
        await opened.delete("a")  # a second delete: it is no longer an event


async def test_restore_brings_the_event_back_with_a_new_version(opened: Backend) -> None:
    await opened.create(event("a"))
    await opened.create(event("b"))
    await opened.delete("a")

    answer = await opened.restore("a", back, actor="u1")
    back_again = answer.event

    assert back_again == msgspec.structs.replace(event("a"), version=2, updated_at=LATER)
    assert answer.counts == Counts(0, 0, back_again.capacity)
    assert await opened.get("a") == back_again
    assert sorted(await all_ids(opened)) == ["a", "b"]
    assert await trashed_ids(opened) == []
    assert await change_types(opened) == [
        ("event.created", "a", 1, True),
        ("event.created", "b", 1, True),
        ("event.deleted", "a", 1, False),
        ("event.restored", "a", 2, True),
    ]
    restored_record = (await opened.changes_after(0, 10))[-1]
    assert restored_record.actor == "u1"
    found = await opened.get_json("a")
    assert found is not None
    assert restored_record.document == with_counts(found[0], *found[2:])


async def test_a_refused_restore_changes_nothing(opened: Backend) -> None:
    await opened.create(event("a"))
    await opened.delete("a")
    before = await change_types(opened)

    with pytest.raises(NotFound):
        await opened.restore("a", refused)

    assert await opened.get("a") is None
    assert await trashed_ids(opened) == ["a"]
    assert await change_types(opened) == before


async def test_a_restore_over_a_live_id_changes_nothing(opened: Backend) -> None:
    # Only an import can make a trashed id live (creates refuse it): the restore then fails.
    await opened.create(event("a", title="Old"))
    await opened.delete("a")
    await opened.import_events([event("a", title="Imported")])
    before = await change_types(opened)

    with pytest.raises(AlreadyExists):
        await opened.restore("a", back)

    assert (await opened.get("a") or event("x")).title == "Imported"
    assert await trashed_ids(opened) == ["a"]
    assert await change_types(opened) == before


async def test_restore_and_purge_of_what_is_not_in_the_trash_are_not_found(
    opened: Backend,
) -> None:
    await opened.create(event("live"))
    for event_id in ("never", "live"):
        with pytest.raises(NotFound):
            await opened.restore(event_id, back)
        with pytest.raises(NotFound):
            await opened.purge(event_id)
    assert await opened.get("live") == event("live")


async def test_purge_removes_it_for_good_and_frees_the_id(opened: Backend) -> None:
    await opened.create(event("a"))
    await opened.delete("a")

    await opened.purge("a", actor="u1")

    assert await trashed_ids(opened) == []
    with pytest.raises(NotFound):
        await opened.restore("a", back)
    assert (await change_types(opened))[-1] == ("event.purged", "a", 1, False)
    await opened.create(event("a", title="New"))
    assert (await opened.get("a") or event("x")).title == "New"


async def test_a_refused_purge_changes_nothing(opened: Backend) -> None:
    await opened.create(event("a"))
    await opened.delete("a")
    before = await change_types(opened)

    with pytest.raises(NotFound):
        await opened.purge("a", guard=refuse)

    assert await trashed_ids(opened) == ["a"]
    assert await change_types(opened) == before


async def test_an_id_in_the_trash_is_taken_for_creates_and_puts(opened: Backend) -> None:
    await opened.create(event("a"))
    await opened.delete("a")
    before = await change_types(opened)

    with pytest.raises(InTrash):
        await opened.create(event("a", title="Another"))
    with pytest.raises(InTrash):
        await opened.put("a", lambda current: event("a", title="Another"))

    assert await opened.get("a") is None
    assert await trashed_ids(opened) == ["a"]
    assert await change_types(opened) == before


async def test_the_owner_sees_only_their_own_trash(opened: Backend) -> None:
    for owner in ("ann", "bob"):
        await opened.create(owned(owner))
        await opened.delete(f"{owner}-1")
    await opened.create(event("anonymous"))
    await opened.delete("anonymous")

    assert await trashed_ids(opened, "ann") == ["ann-1"]
    assert await trashed_ids(opened, "bob") == ["bob-1"]
    assert sorted(await trashed_ids(opened)) == ["ann-1", "anonymous", "bob-1"]


async def test_the_trash_pages_newest_first_without_gaps(opened: Backend) -> None:
    ids = [f"e{n:02}" for n in range(7)]
    for event_id in ids:
        await opened.create(event(event_id))
        await opened.delete(event_id)

    seen: list[str] = []
    query = TrashQuery(owner=None, limit=3)
    while True:
        page = await opened.trash_page(query)
        seen += [item.event_id for item in page.items]
        if page.next is None:
            break
        query = TrashQuery(owner=None, limit=3, after=page.next)

    assert sorted(seen) == ids  # each once: a repeat would make the list longer
    times = [item.deleted_at for item in (await opened.trash_page(TrashQuery(None, 100))).items]
    assert times == sorted(times, reverse=True)


async def test_retention_purges_what_was_deleted_before_the_cut(opened: Backend) -> None:
    await opened.create(event("old"))
    await opened.delete("old")
    cut = changes.now() + timedelta(milliseconds=5)
    while changes.now() <= cut:  # the next delete is recorded after the cut
        pass
    await opened.create(event("new"))
    await opened.delete("new")

    assert await opened.purge_trash(cut) == 1

    assert await trashed_ids(opened) == ["new"]
    assert (await change_types(opened))[-1] == ("event.purged", "old", 1, False)
    assert await opened.purge_trash(cut) == 0
