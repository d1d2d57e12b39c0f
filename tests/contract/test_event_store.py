"""The API's store protocol (``api/store.py``), run against every backend.

A new backend passes when it is added to ``tests.support.BACKENDS`` and this suite is
green. Promises of one backend only are in ``test_sqlite_store.py`` (durability, group
commit, migrations, pragmas) and ``test_postgres_store.py`` (migrations, replicas,
connection failures).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import msgspec
import pytest

from eventsapi.domain.events import Event
from eventsapi.domain.query import EventQuery, Position
from eventsapi.domain.registrations import Counts
from eventsapi.errors import AlreadyExists, FieldError, NotFound, ValidationFailed
from eventsapi.storage import Backend
from eventsapi.storage.events import Counted
from tests.support import START

pytestmark = pytest.mark.anyio


def event(event_id: str, title: str = "Launch", **changes: object) -> Event:
    """A version-1 event as the domain would build it."""
    base = Event(
        id=event_id,
        title=title,
        description="About " + title,
        tags=("a", "b"),
        capacity=10,
        created_at=START,
        updated_at=START,
        version=1,
    )
    return msgspec.structs.replace(base, **changes)


def next_version(current: Event, **changes: object) -> Event:
    return msgspec.structs.replace(
        current,
        updated_at=current.updated_at + timedelta(seconds=1),
        version=current.version + 1,
        **changes,
    )


async def all_ids(store: Backend, *, limit: int = 500) -> list[str]:
    """Every stored id in list order, walking pages of ``limit``."""
    ids: list[str] = []
    after: Position | None = None
    while True:
        page = await store.list_page(EventQuery(after=after, limit=limit))
        ids += [e.id for e in page.events]
        if page.next is None:
            return ids
        after = page.next


async def test_create_returns_the_event_and_get_finds_it(opened: Backend) -> None:
    created = await opened.create(event("e1"))

    assert created == Counted(event("e1"), Counts(0, 0, 10))
    assert await opened.get("e1") == event("e1")


async def test_every_member_round_trips(opened: Backend) -> None:
    full = event(
        "full",
        description="x" * 10_000,
        starts_at=START + timedelta(days=1),
        ends_at=START + timedelta(days=1, hours=2),
        timezone="Europe/Berlin",
        location="Main hall",
        tags=("one", "two"),
        capacity=0,
        status="cancelled",
    )
    await opened.create(full)

    found = await opened.get("full")

    assert found == full
    assert found is not None
    assert found.starts_at == full.starts_at
    assert found.capacity == 0


async def test_get_missing_is_none(opened: Backend) -> None:
    assert await opened.get("nope") is None


async def test_get_json_is_the_stored_document_its_version_counts_and_capacity(
    opened: Backend,
) -> None:
    await opened.create(event("j"))
    await opened.update("j", lambda current: next_version(current, title="Twice"))

    found = await opened.get_json("j")

    assert found is not None
    document, stored_revision, registered, waitlisted, capacity = found
    assert document == msgspec.json.encode(await opened.get("j"))
    assert stored_revision == "2-" + hashlib.sha256(document).hexdigest()[:16]
    assert (registered, waitlisted, capacity) == (0, 0, 10)
    await opened.update("j", lambda current: next_version(current, capacity=None))
    without = await opened.get_json("j")
    assert without is not None
    assert without[4] is None
    assert await opened.get_json("missing") is None


async def test_a_page_as_json_is_the_array_of_its_events(opened: Backend) -> None:
    for event_id in ("a", "b"):
        await opened.create(event(event_id))

    page = await opened.list_page(EventQuery(limit=10))

    assert msgspec.json.decode(page.to_json(), type=list[Event]) == [event("a"), event("b")]


async def test_create_with_taken_id_raises_already_exists(opened: Backend) -> None:
    await opened.create(event("dup", title="First"))

    with pytest.raises(AlreadyExists, match=r"^An event with id 'dup' already exists\.$"):
        await opened.create(event("dup", title="Second"))

    assert await opened.get("dup") == event("dup", title="First")
    assert await all_ids(opened) == ["dup"]


async def test_update_stores_what_the_change_returns(opened: Backend) -> None:
    await opened.create(event("u"))
    seen: list[Event] = []

    def change(current: Event) -> Event:
        seen.append(current)
        return next_version(current, title="Renamed")

    updated = (await opened.update("u", change)).event

    assert seen == [event("u")]
    assert updated.title == "Renamed"
    assert updated.version == 2
    assert await opened.get("u") == updated


async def test_update_missing_raises_not_found_without_calling_change(
    opened: Backend,
) -> None:
    calls: list[Event] = []

    def change(current: Event) -> Event:
        calls.append(current)
        return current

    with pytest.raises(NotFound, match=r"^No event with id 'missing'\.$"):
        await opened.update("missing", change)
    assert calls == []
    assert await opened.get("missing") is None


async def test_a_change_that_raises_leaves_the_event_unchanged(opened: Backend) -> None:
    await opened.create(event("keep"))

    def change(current: Event) -> Event:
        raise ValidationFailed([FieldError("title", "required")])

    with pytest.raises(ValidationFailed):
        await opened.update("keep", change)

    assert await opened.get("keep") == event("keep")


async def test_a_build_that_raises_stores_nothing(opened: Backend) -> None:
    await opened.create(event("keep"))

    def build(current: Event | None) -> Event:
        raise ValidationFailed([FieldError("id", "does not match the id in the URL")])

    with pytest.raises(ValidationFailed):
        await opened.put("keep", build)
    with pytest.raises(ValidationFailed):
        await opened.put("new", build)

    assert await opened.get("keep") == event("keep")
    assert await opened.get("new") is None
    assert await all_ids(opened) == ["keep"]


async def test_put_missing_creates_from_nothing(opened: Backend) -> None:
    given: list[Event | None] = []

    def build(current: Event | None) -> Event:
        given.append(current)
        return event("p")

    stored, created = await opened.put("p", build)

    assert given == [None]
    assert created is True
    assert stored == Counted(event("p"), Counts(0, 0, 10))
    assert await opened.get("p") == event("p")


async def test_put_existing_replaces_from_current(opened: Backend) -> None:
    await opened.create(event("p"))
    given: list[Event | None] = []

    def build(current: Event | None) -> Event:
        given.append(current)
        assert current is not None
        return next_version(current, title="Replaced", tags=())

    written, created = await opened.put("p", build)
    stored = written.event

    assert given == [event("p")]
    assert created is False
    assert stored.title == "Replaced"
    assert stored.version == 2
    assert await opened.get("p") == stored
    assert await all_ids(opened) == ["p"]


async def test_delete_removes_the_event(opened: Backend) -> None:
    await opened.create(event("a"))
    await opened.create(event("b"))

    await opened.delete("a")

    assert await opened.get("a") is None
    assert await opened.get("b") == event("b")
    assert await all_ids(opened) == ["b"]


async def test_delete_missing_raises_not_found(opened: Backend) -> None:
    await opened.create(event("a"))
    await opened.delete("a")

    with pytest.raises(NotFound, match=r"^No event with id 'a'\.$"):
        await opened.delete("a")
    with pytest.raises(NotFound, match=r"^No event with id 'never'\.$"):
        await opened.delete("never")
    with pytest.raises(NotFound, match=r"^No event with id 'never'\.$"):  # a guard's too
        await opened.delete("never", guard=lambda current: None)


async def test_a_purged_id_can_be_created_again_at_the_end(opened: Backend) -> None:
    for event_id in ("a", "b"):
        await opened.create(event(event_id))
    await opened.delete("a")
    await opened.purge("a")

    await opened.create(event("a", title="Again"))

    assert await all_ids(opened) == ["b", "a"]
    assert await opened.get("a") == event("a", title="Again")


async def test_empty_store_lists_an_empty_last_page(opened: Backend) -> None:
    page = await opened.list_page(EventQuery(limit=10))

    assert page.events == []
    assert page.next is None


async def test_list_is_in_creation_order_not_id_order(opened: Backend) -> None:
    ids = ["m", "z", "a", "01", "b"]
    for event_id in ids:
        await opened.create(event(event_id))

    page = await opened.list_page(EventQuery(limit=50))

    assert [e.id for e in page.events] == ids
    assert page.next is None


async def test_put_replace_and_update_keep_the_position(opened: Backend) -> None:
    for event_id in ("a", "b", "c"):
        await opened.create(event(event_id))

    await opened.put("a", lambda current: event("a", title="New a", version=2))
    await opened.update("b", lambda current: next_version(current, title="New b"))
    _, created = await opened.put("d", lambda current: event("d"))

    assert created is True
    page = await opened.list_page(EventQuery(limit=50))
    assert [(e.id, e.title) for e in page.events] == [
        ("a", "New a"),
        ("b", "New b"),
        ("c", "Launch"),
        ("d", "Launch"),
    ]


@pytest.mark.parametrize(("count", "limit"), [(1, 1), (5, 5), (10, 5), (23, 5), (7, 500)])
async def test_keyset_pages_cover_every_event_exactly_once(
    opened: Backend, count: int, limit: int
) -> None:
    ids = [f"e{n:03d}" for n in range(count)]
    for event_id in ids:
        await opened.create(event(event_id))

    pages: list[list[str]] = []
    after: Position | None = None
    while True:
        page = await opened.list_page(EventQuery(after=after, limit=limit))
        pages.append([e.id for e in page.events])
        if page.next is None:
            break
        after = page.next

    assert [i for page_ids in pages for i in page_ids] == ids
    assert all(len(page_ids) == limit for page_ids in pages[:-1])
    assert 1 <= len(pages[-1]) <= limit
    assert len(pages) == -(-count // limit)


async def test_pages_stay_exact_when_events_change_between_pages(opened: Backend) -> None:
    for n in range(6):
        await opened.create(event(f"e{n}"))
    first = await opened.list_page(EventQuery(limit=3))
    assert first.next is not None

    # Between pages: an already-seen event is deleted, a later one too, one is added.
    await opened.delete("e1")
    await opened.delete("e4")
    await opened.create(event("late"))
    rest = await opened.list_page(EventQuery(after=first.next, limit=3))

    assert [e.id for e in first.events] == ["e0", "e1", "e2"]
    assert [e.id for e in rest.events] == ["e3", "e5", "late"]
    assert rest.next is None


async def test_instance_key_is_a_stable_secret(opened: Backend) -> None:
    first = await opened.instance_key()

    assert isinstance(first, bytes)
    assert len(first) >= 16
    await opened.create(event("x"))
    assert await opened.instance_key() == first


async def test_check_passes_on_an_open_store(opened: Backend) -> None:
    await opened.check()


async def test_migrations_are_all_applied_after_open(opened: Backend) -> None:
    for migration in await opened.migrations():
        assert migration.applied_at is not None, migration
