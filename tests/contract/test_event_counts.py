"""Every event a store hands out carries its registrations' counts, on every backend.

The counts are kept beside the stored document (``storage/events.py``): a read by id gives
them with the capacity (``get_json``), and wherever a store hands out a document it is the
event as served, the counts appended: a listing's page (a search too), the change log's
records of the event's own writes, the trash, an idempotency key's saved answer. Writes
return the counts at their commit, a capacity change's promotions included.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
import pytest

from eventsapi.domain.events import restored
from eventsapi.domain.query import EventFilter, EventQuery
from eventsapi.domain.registrations import Counts
from eventsapi.storage import Backend
from eventsapi.storage.events import Counted, with_counts
from eventsapi.storage.idempotency import IdempotencyKey, Replay
from eventsapi.storage.trash import TrashQuery
from tests.contract.test_event_store import event, next_version
from tests.contract.test_registrations import person, register_many
from tests.support import START

pytestmark = pytest.mark.anyio


def counts_of(document: bytes | None) -> tuple[Any, Any, Any]:
    found = msgspec.json.decode(document or b"{}")
    return found["registered"], found["waitlisted"], found["spots_left"]


def key(name: str) -> IdempotencyKey:
    return IdempotencyKey("u1", name, b"f" * 32, START, START + timedelta(days=1))


async def test_a_read_by_id_gives_the_counts_and_the_capacity(opened: Backend) -> None:
    await opened.create(event("e", capacity=2))
    await register_many(opened, "e", 3)

    found = await opened.get_json("e")

    assert found is not None
    document, stored_revision, registered, waitlisted, capacity = found
    assert stored_revision.startswith("1-")
    assert (registered, waitlisted, capacity) == (2, 1, 2)
    assert counts_of(with_counts(document, registered, waitlisted, capacity)) == (2, 1, 0)


async def test_listings_and_searches_serve_each_event_with_its_counts(opened: Backend) -> None:
    await opened.create(event("full", title="Rust meetup", capacity=1))
    await opened.create(event("open", title="Rust workshop", capacity=5))
    await opened.create(event("free", title="Rust talk", capacity=None))
    await register_many(opened, "full", 2)
    for n in range(10, 13):  # registration ids are unique across events
        await opened.register("free", person(n))
    expected = {"full": (1, 1, 0), "open": (0, 0, 5), "free": (3, 0, None)}

    for query in (
        EventQuery(),
        EventQuery(sort="title"),
        EventQuery(sort="-starts_at", limit=2),
        EventQuery(filter=EventFilter(terms=("rust",)), count=True),
    ):
        page = await opened.list_page(query)
        shown = {e.id: counts_of(d) for e, d in zip(page.events, page.documents, strict=True)}
        assert shown == {i: expected[i] for i in shown}, query
        assert len(shown) == min(query.limit, 3)


async def test_writes_return_the_counts_at_their_commit(opened: Backend) -> None:
    created = await opened.create(event("e", capacity=1))
    assert created == Counted(event("e", capacity=1), Counts(0, 0, 1))
    await register_many(opened, "e", 4)

    renamed = await opened.update("e", lambda e: next_version(e, title="Renamed"))
    assert renamed.counts == Counts(1, 3, 1)
    # Growing the capacity confirms two of the waitlist: the answer shows it.
    grown = await opened.update("e", lambda e: next_version(e, capacity=3))
    assert grown.counts == Counts(3, 1, 3)
    replaced, made = await opened.put("e", lambda e: next_version(e or grown.event, capacity=10))
    assert (replaced.counts, made) == (Counts(4, 0, 10), False)
    new, made = await opened.put("n", lambda _: event("n", capacity=7))
    assert (new.counts, made) == (Counts(0, 0, 7), True)
    assert await opened.registration_counts("e") == Counts(4, 0, 10)


async def test_the_log_records_each_write_of_the_event_with_its_counts(opened: Backend) -> None:
    await opened.create(event("e", capacity=1))
    await register_many(opened, "e", 3)
    await opened.update("e", lambda e: next_version(e, capacity=2))

    records = await opened.changes_after(0, 100)

    assert [(r.type, counts_of(r.document)) for r in records] == [
        ("event.created", (0, 0, 1)),
        ("registration.confirmed", (1, 0, 0)),
        ("registration.waitlisted", (1, 1, 0)),
        ("registration.waitlisted", (1, 2, 0)),
        # the update as it was written (the new capacity, nobody promoted yet), then the
        # promotion it made
        ("event.updated", (1, 2, 1)),
        ("registration.promoted", (2, 1, 0)),
    ]


async def test_the_trash_keeps_the_event_as_served_and_a_restore_counts_again(
    opened: Backend,
) -> None:
    await opened.create(event("e", capacity=2))
    await register_many(opened, "e", 3)
    await opened.delete("e")

    [item] = (await opened.trash_page(TrashQuery(owner=None, limit=10))).items
    assert counts_of(item.document) == (2, 1, 0)
    back = await opened.restore("e", lambda trashed: restored(trashed, now=START))
    assert back.counts == Counts(2, 1, 2)
    found = await opened.get_json("e")
    assert found is not None
    assert found[2:] == (2, 1, 2)
    restore_record = (await opened.changes_after(0, 100))[-1]
    assert (restore_record.type, counts_of(restore_record.document)) == (
        "event.restored",
        (2, 1, 0),
    )


async def test_an_idempotency_key_keeps_the_answer_with_its_counts(opened: Backend) -> None:
    await opened.create(event("e", capacity=5))
    await register_many(opened, "e", 2)
    updated = await opened.update("e", lambda e: next_version(e, title="Keyed"), once=key("k1"))

    with pytest.raises(Replay) as replayed:
        await opened.update("e", lambda e: next_version(e, title="Again"), once=key("k1"))

    assert updated.counts == Counts(2, 0, 5)
    assert replayed.value.document == with_counts(msgspec.json.encode(updated.event), 2, 0, 5)


async def test_an_import_keeps_the_counts_of_an_event_it_replaces(opened: Backend) -> None:
    await opened.create(event("e", capacity=5))
    await register_many(opened, "e", 2)

    await opened.import_events(
        [next_version(event("e", capacity=6), title="Imported")], on_conflict="replace"
    )

    found = await opened.get_json("e")
    assert found is not None
    assert found[2:] == (2, 0, 6)
    assert counts_of((await opened.changes_after(0, 100))[-1].document) == (2, 0, 4)
