"""The query contract (``list_page(EventQuery)``): filters, sorts, keyset pages, search.

Every backend must give the same events in the same order for the same query;
this suite runs on each (see ``tests.support.BACKENDS``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from eventsapi.domain.events import Event
from eventsapi.domain.query import SORTS, EventFilter, EventQuery, Position, SortName
from eventsapi.storage import Backend
from eventsapi.storage.sqlite import query as sqlite_query
from tests.support import START

pytestmark = pytest.mark.anyio

DAY = timedelta(days=1)
PLUS_FIVE = timezone(timedelta(hours=5))
MINUS_SEVEN = timezone(timedelta(hours=-7))


def event(event_id: str, **fields: object) -> Event:
    base = Event(
        id=event_id, title="Event " + event_id, created_at=START, updated_at=START, version=1
    )
    return msgspec.structs.replace(base, **fields)


CALENDAR = [
    event(
        "a",
        title="Go meetup",
        starts_at=START + 3 * DAY,
        tags=("go", "berlin"),
        location="Berlin",
        created_at=START + timedelta(seconds=5),
    ),
    event(
        "b",
        title="Rust workshop",
        starts_at=START + DAY,
        tags=("rust",),
        description="Hands-on ownership and borrowing",
        created_at=START + timedelta(seconds=1),
    ),
    event(
        "c",
        title="Café talk",
        starts_at=START + 2 * DAY,
        tags=("go",),
        status="cancelled",
        description="A talk about Go routers",
        created_at=START + timedelta(seconds=1),
    ),
    event(
        "d",
        title="Unscheduled idea",
        tags=("go", "berlin", "rust"),
        created_at=START + timedelta(seconds=3),
        updated_at=START + 9 * DAY,
    ),
    # e starts at the same instant as b, written with another offset.
    event(
        "e",
        title="Berlin go-to-market",
        starts_at=(START + DAY).astimezone(PLUS_FIVE),
        created_at=START + timedelta(seconds=2),
    ),
]


@pytest.fixture
async def calendar(opened: Backend) -> Backend:
    for item in CALENDAR:
        await opened.create(item)
    return opened


async def ids(store: Backend, **query: object) -> list[str]:
    page = await store.list_page(EventQuery(**query))  # type: ignore[arg-type]
    return [e.id for e in page.events]


async def test_without_a_sort_events_come_in_creation_order(calendar: Backend) -> None:
    assert await ids(calendar) == ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        # b and e start at the same instant: the id breaks the tie. d has no start: last.
        ("starts_at", ["b", "e", "c", "a", "d"]),
        ("-starts_at", ["d", "a", "c", "e", "b"]),
        ("created_at", ["b", "c", "e", "d", "a"]),
        ("-created_at", ["a", "d", "e", "c", "b"]),
        ("updated_at", ["a", "b", "c", "e", "d"]),
        ("title", ["e", "c", "a", "b", "d"]),
    ],
)
async def test_each_sort_orders_with_a_tie_break_on_id(
    calendar: Backend, sort: SortName, expected: list[str]
) -> None:
    assert await ids(calendar, sort=sort) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (EventFilter(status="cancelled"), ["c"]),
        (EventFilter(status="scheduled"), ["a", "b", "d", "e"]),
        (EventFilter(tags=("go",)), ["a", "c", "d"]),
        (EventFilter(tags=("go", "berlin")), ["a", "d"]),
        (EventFilter(tags=("go", "missing")), []),
        # starts_after is inclusive, starts_before exclusive; no start never matches.
        (EventFilter(starts_after=START + DAY), ["a", "b", "c", "e"]),
        (EventFilter(starts_after=START + 2 * DAY), ["a", "c"]),
        (EventFilter(starts_before=START + 2 * DAY), ["b", "e"]),
        (EventFilter(starts_after=START + DAY, starts_before=START + 3 * DAY), ["b", "c", "e"]),
        (EventFilter(starts_after=(START + 2 * DAY).astimezone(MINUS_SEVEN)), ["a", "c"]),
        (EventFilter(tags=("go",), status="scheduled", starts_after=START), ["a"]),
    ],
)
async def test_filters(calendar: Backend, where: EventFilter, expected: list[str]) -> None:
    assert await ids(calendar, filter=where) == expected


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        (("berlin",), ["a", "e"]),  # a title and a location
        (("cafe",), ["c"]),  # accents folded
        (("routers",), ["c"]),  # description
        (("go", "routers"), ["c"]),  # every word must occur
        (("borrowing",), ["b"]),
        (("nothing",), []),
    ],
)
async def test_search_finds_words_in_title_description_and_location(
    calendar: Backend, terms: tuple[str, ...], expected: list[str]
) -> None:
    found = await ids(calendar, filter=EventFilter(terms=terms), sort="created")

    assert sorted(found) == expected


async def test_search_ranks_a_title_match_above_a_description_match(opened: Backend) -> None:
    await opened.create(
        event("desc", title="Monthly social", description="We talk about kubernetes a bit")
    )
    await opened.create(event("title", title="Kubernetes day"))
    await opened.create(event("none", title="Knitting"))

    assert await ids(opened, filter=EventFilter(terms=("kubernetes",)), sort="relevance") == [
        "title",
        "desc",
    ]


async def test_search_and_tags_follow_updates_and_deletes(calendar: Backend) -> None:
    def rename(current: Event) -> Event:
        return msgspec.structs.replace(current, title="Zig night", tags=("zig",), version=2)

    await calendar.update("b", rename)
    await calendar.delete("a")

    assert await ids(calendar, filter=EventFilter(terms=("zig",))) == ["b"]
    assert await ids(calendar, filter=EventFilter(terms=("rust",))) == []
    assert await ids(calendar, filter=EventFilter(tags=("zig",))) == ["b"]
    assert await ids(calendar, filter=EventFilter(tags=("rust",))) == ["d"]
    assert await ids(calendar, filter=EventFilter(terms=("berlin",))) == ["e"]


async def test_each_sort_and_the_status_filter_follow_updates(calendar: Backend) -> None:
    # The SQL backends' updates set a sort column only when it changed: every kind of
    # change, and none, must still leave each order right.
    def retitle(current: Event) -> Event:
        return msgspec.structs.replace(current, title="Aardvark day", version=2)

    def move(current: Event) -> Event:
        return msgspec.structs.replace(current, starts_at=START + 9 * DAY, version=2)

    def cancel(current: Event) -> Event:
        return msgspec.structs.replace(
            current, status="cancelled", updated_at=START + 20 * DAY, version=2
        )

    def describe(current: Event) -> Event:
        return msgspec.structs.replace(current, description="Bring a laptop", version=2)

    await calendar.update("d", retitle)
    await calendar.update("b", move)
    await calendar.update("e", cancel)
    await calendar.update("a", describe)

    assert await ids(calendar, sort="title") == ["d", "e", "c", "a", "b"]
    assert await ids(calendar, sort="starts_at") == ["e", "c", "a", "b", "d"]
    assert await ids(calendar, sort="updated_at") == ["a", "b", "c", "d", "e"]
    assert await ids(calendar, sort="created_at") == ["b", "c", "e", "d", "a"]
    cancelled = EventFilter(status="cancelled")
    assert await ids(calendar, filter=cancelled, sort="starts_at") == ["e", "c"]


async def test_count_is_every_match_on_every_page(calendar: Backend) -> None:
    page = await calendar.list_page(
        EventQuery(filter=EventFilter(tags=("go",)), limit=1, count=True)
    )

    assert page.total == 3
    assert len(page.documents) == 1
    assert (await calendar.list_page(EventQuery(limit=1))).total is None


async def walk(store: Backend, query: EventQuery) -> tuple[list[list[str]], list[list[str]]]:
    """Pages following ``next`` to the end, then ``prev`` back to the start."""
    forward: list[list[str]] = []
    after: Position | None = None
    while True:
        page = await store.list_page(msgspec.structs.replace(query, after=after))
        forward.append([e.id for e in page.events])
        if page.next is None:
            break
        after = page.next
    backward: list[list[str]] = [forward[-1]]
    before = (await store.list_page(msgspec.structs.replace(query, after=after))).prev
    while before is not None:
        page = await store.list_page(msgspec.structs.replace(query, before=before))
        backward.insert(0, [e.id for e in page.events])
        before = page.prev
    return forward, backward


@pytest.mark.parametrize("sort", ["created", *SORTS])
@pytest.mark.parametrize("limit", [1, 2, 3])
async def test_next_and_prev_pages_cover_every_event_once_in_order(
    opened: Backend, sort: SortName, limit: int
) -> None:
    for n in range(7):
        # Two events per start instant and per title, so ties must break on the id.
        await opened.create(
            event(
                f"id{(n * 5) % 7}",
                title=f"Title {n // 2}",
                starts_at=None if n == 6 else START + (n // 2) * DAY,
                created_at=START + timedelta(seconds=n // 2),
                updated_at=START + timedelta(seconds=n // 2),
            )
        )
    everything = await ids(opened, sort=sort, limit=100)

    forward, backward = await walk(opened, EventQuery(sort=sort, limit=limit))

    assert [i for page in forward for i in page] == everything
    assert all(len(page) == limit for page in forward[:-1])
    # Coming back gives the same pages (the first may be short when the count
    # does not divide: it is whatever lies before the second page).
    assert [i for page in backward for i in page] == everything
    assert backward[1:] == forward[1:]


async def test_search_pages_in_rank_order(opened: Backend) -> None:
    for n in range(6):
        await opened.create(event(f"e{n}", title="Go " * (n % 3 + 1) + "night"))
    everything = await ids(opened, filter=EventFilter(terms=("go",)), sort="relevance", limit=100)

    forward, _ = await walk(
        opened, EventQuery(filter=EventFilter(terms=("go",)), sort="relevance", limit=4)
    )

    assert sorted(everything) == [f"e{n}" for n in range(6)]
    assert [i for page in forward for i in page] == everything


async def test_a_deleted_cursor_event_does_not_lose_its_neighbours(opened: Backend) -> None:
    for n in range(4):
        await opened.create(event(f"e{n}", starts_at=datetime(2030, 1, n + 1, tzinfo=UTC)))
    first = await opened.list_page(EventQuery(sort="starts_at", limit=2))
    await opened.delete("e1")  # the event the cursor points at

    rest = await opened.list_page(EventQuery(sort="starts_at", limit=2, after=first.next))

    assert [e.id for e in rest.events] == ["e2", "e3"]


@pytest.mark.parametrize("rare_below", [0, 10**6], ids=["walk-the-sort-index", "tag-index-first"])
@pytest.mark.parametrize("sort", ["created", *SORTS])
async def test_tag_filters_give_the_same_pages_whichever_way_sqlite_reads_them(
    calendar: Backend, monkeypatch: pytest.MonkeyPatch, rare_below: int, sort: SortName
) -> None:
    # SQLite reads a rare tag's events from the tag index, and walks the sort
    # order checking common ones; both must give the same pages.
    monkeypatch.setattr(sqlite_query, "RARE_TAG_EVENTS", rare_below)
    everything = await ids(calendar, filter=EventFilter(tags=("go",)), sort=sort)

    forward, backward = await walk(
        calendar, EventQuery(filter=EventFilter(tags=("go",)), sort=sort, limit=1)
    )

    assert len(everything) == 3
    assert (
        [i for page in forward for i in page]
        == everything
        == [i for page in backward for i in page]
    )


async def test_control_characters_in_titles_sort_by_code_point(opened: Backend) -> None:
    # JSON strings can hold NUL, which PostgreSQL text cannot: every backend must
    # still store these titles and sort them by code point.
    titles = ["a\x00b", "a\x01", "a", "a\x00", "a\x02", "a\x01\x01", "\x00"]
    for n, title in enumerate(titles):
        await opened.create(event(f"e{n}", title=title, tags=("x\x00y",)))
    by_title = [f"e{n}" for n in sorted(range(len(titles)), key=lambda n: titles[n])]

    assert await ids(opened, sort="title") == by_title
    forward, backward = await walk(opened, EventQuery(sort="title", limit=2))
    assert [i for page in forward for i in page] == by_title
    assert [i for page in backward for i in page] == by_title
    found = await opened.get("e0")
    assert found is not None
    assert (found.title, found.tags) == ("a\x00b", ("x\x00y",))
