"""Who may see an event (issue 16): the storage filter, on every backend.

Every read that answers a reader finds only what the reader may see (``domain/visibility.py``):
by id, a listing's pages, its search and its count, so an invisible event is a missing one.
Each change-log record says who may be told of it. The HTTP routes built on these are
``tests/api/test_visibility.py``.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import timedelta

import msgspec
import pytest

from eventsapi.domain.events import Event, restored
from eventsapi.domain.query import EventFilter, EventQuery, SortName
from eventsapi.domain.registrations import Applicant, applicant
from eventsapi.domain.visibility import (
    ANONYMOUS,
    EVERYTHING,
    NOT_REGISTERED,
    VISIBILITIES,
    Reader,
    Registrant,
    Visibility,
)
from eventsapi.storage import Backend
from tests.contract.test_event_store import event, next_version
from tests.support import START

pytestmark = pytest.mark.anyio

OWNER = "01OWNER00000000000000000000"
REGISTRANT = "01REGISTRANT000000000000000"
CANCELLED = "01CANCELLED0000000000000000"
OTHER = "01OTHER00000000000000000000"

READERS: dict[str, Reader] = {
    "anonymous": ANONYMOUS,
    "other": Reader(account=OTHER),
    "owner": Reader(account=OWNER),
    "registrant": Reader(account=REGISTRANT),
    "cancelled": Reader(account=CANCELLED),
    "everything": EVERYTHING,
}
SEES: dict[Visibility, set[str]] = {
    "public": set(READERS),
    "members": set(READERS) - {"anonymous"},
    "private": {"owner", "registrant", "everything"},
}


def someone(n: int, account: str) -> Applicant:
    return applicant(
        registration_id=f"r{n:025d}",
        name=f"Person {n}",
        email=f"person{n}@example.org",
        account=account,
        token_hash=hashlib.sha256(f"token {n}".encode()).hexdigest(),
        at=START + timedelta(seconds=n),
    )


async def three_events(store: Backend) -> None:
    """``public``, ``members`` and ``private``, all Alice's; each has a registrant and one
    who cancelled. Titles and tags alike, so that one search and one tag find all three."""
    for n, visibility in enumerate(VISIBILITIES):
        made = event(visibility, "Board games", owner=OWNER, tags=("games",))
        await store.create(made)
        await store.register(visibility, someone(2 * n, REGISTRANT))
        gone = await store.register(visibility, someone(2 * n + 1, CANCELLED))
        await store.cancel_registration(visibility, gone.id, at=START)
        await store.update(visibility, functools.partial(next_version, visibility=visibility))


@pytest.mark.parametrize("who", READERS)
async def test_a_read_by_id_finds_only_what_the_reader_may_see(opened: Backend, who: str) -> None:
    await three_events(opened)
    reader = READERS[who]
    for visibility, seen_by in SEES.items():
        found = await opened.get(visibility, reader=reader)
        as_json = await opened.get_json(visibility, reader=reader)
        if who in seen_by:
            assert found is not None
            assert found.id == visibility
            assert as_json is not None
            assert as_json[0] == msgspec.json.encode(found)
            # Its counts with it, the same whoever reads.
            assert as_json == await opened.get_json(visibility, reader=EVERYTHING)
        else:
            assert found is None, f"{who} sees the {visibility} event"
            assert as_json is None


@pytest.mark.parametrize("who", READERS)
async def test_listings_searches_and_counts_hold_only_what_the_reader_may_see(
    opened: Backend, who: str
) -> None:
    await three_events(opened)
    reader = READERS[who]
    expected = sorted(v for v, seen_by in SEES.items() if who in seen_by)
    for where in (EventFilter(), EventFilter(terms=("board",)), EventFilter(tags=("games",))):
        sorts: tuple[SortName, ...] = ("created", "title", "-starts_at")
        for sort in sorts:
            query = EventQuery(filter=where, sort=sort, count=True, limit=1, reader=reader)
            ids: list[str] = []
            while True:
                page = await opened.list_page(query)
                ids += [e.id for e in page.events]
                assert page.total == len(expected), (where, sort)
                if page.next is None:
                    break
                query = msgspec.structs.replace(query, after=page.next)
            assert sorted(ids) == expected, (where, sort)


async def test_a_listing_reads_as_anonymous_unless_told_otherwise(opened: Backend) -> None:
    await three_events(opened)
    page = await opened.list_page(EventQuery(count=True))
    assert [e.id for e in page.events] == ["public"]
    assert page.total == 1
    assert await opened.get("members") is None


async def test_registrants_says_who_registered_and_who_still_is(opened: Backend) -> None:
    await three_events(opened)
    ids = ["public", "private", "missing"]
    assert await opened.registrants(REGISTRANT, ids) == {
        "public": Registrant(active=True, ever=True),
        "private": Registrant(active=True, ever=True),
        "missing": NOT_REGISTERED,
    }
    assert (await opened.registrants(CANCELLED, ids))["private"] == Registrant(
        active=False, ever=True
    )
    assert await opened.registrants(OTHER, ids) == dict.fromkeys(ids, NOT_REGISTERED)
    assert await opened.registrants(OTHER, []) == {}


async def test_each_change_record_says_who_may_be_told_of_it(opened: Backend) -> None:
    start = await opened.settled_position()
    await opened.create(event("e", owner=OWNER, visibility="private"))
    await opened.update("e", lambda e: next_version(e, title="Renamed"))
    await opened.update("e", lambda e: next_version(e, visibility="members"))
    await opened.register("e", someone(1, REGISTRANT))
    await opened.delete("e")
    await opened.restore("e", lambda trashed: restored(trashed, now=START))
    await opened.delete("e")
    await opened.purge("e")
    records = await opened.changes_after(start, 100)
    assert [(r.type, r.visibility, r.previous_visibility, r.owner) for r in records] == [
        ("event.created", "private", None, OWNER),
        ("event.updated", "private", None, OWNER),
        ("event.updated", "members", "private", OWNER),
        ("registration.confirmed", "members", None, OWNER),
        ("event.deleted", "members", None, OWNER),
        ("event.restored", "members", None, OWNER),
        ("event.deleted", "members", None, OWNER),
        ("event.purged", "members", None, OWNER),
    ]


async def test_a_put_and_an_import_that_change_visibility_say_so(opened: Backend) -> None:
    await opened.create(event("p"))
    start = await opened.settled_position()
    await opened.put("p", lambda current: next_version(_some(current), visibility="private"))
    replacement = event("p", version=9, visibility="members")
    await opened.import_events([replacement], on_conflict="replace")
    records = await opened.changes_after(start, 10)
    assert [(r.visibility, r.previous_visibility) for r in records] == [
        ("private", "public"),
        ("members", "private"),
    ]


def _some(current: Event | None) -> Event:
    assert current is not None
    return current


async def test_the_purge_of_expired_trash_says_who_could_see_it(opened: Backend) -> None:
    await opened.create(event("old", owner=OWNER, visibility="private"))
    await opened.delete("old")
    start = await opened.settled_position()
    assert await opened.purge_trash(START + timedelta(days=365 * 100)) == 1
    [record] = await opened.changes_after(start, 10)
    assert (record.type, record.visibility, record.owner) == ("event.purged", "private", OWNER)
