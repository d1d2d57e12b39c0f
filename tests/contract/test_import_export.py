"""The bulk part of the storage contract: ``import_events`` and ``export_documents``.

Runs against every backend (``tests.support.BACKENDS``), as ``test_event_store.py`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import msgspec
import pytest

from eventsapi.domain.events import Event
from eventsapi.errors import AlreadyExists
from eventsapi.storage import Backend
from eventsapi.storage.events import Counted, revision
from eventsapi.storage.sqlite import SQLiteStore
from eventsapi.storage.transfer import ImportResult
from tests.contract.test_event_store import event, next_version

pytestmark = pytest.mark.anyio


class Interrupted(Exception):
    """Raised by an input that fails half way."""


async def exported(store: Backend, *, batch_size: int = 1000) -> list[bytes]:
    documents: list[bytes] = []
    batches = store.export_documents(batch_size=batch_size)
    async with contextlib.aclosing(batches):
        async for batch in batches:
            assert 0 < len(batch) <= batch_size
            documents += batch
    return documents


async def stored(store: Backend) -> list[Event]:
    """Every event, oldest first, as the export sees them."""
    return [msgspec.json.decode(document, type=Event) for document in await exported(store)]


async def stored_ids(store: Backend) -> list[str]:
    return [e.id for e in await stored(store)]


async def test_import_into_an_empty_store_keeps_every_member_and_the_order(
    opened: Backend,
) -> None:
    events = [next_version(event("b"), title="Second version"), event("a"), event("c")]

    result = await opened.import_events(events)

    assert result == ImportResult(imported=3)
    assert await stored(opened) == events
    assert await opened.get("b") == events[0]
    found = await opened.get_json("b")
    document = msgspec.json.encode(events[0])
    assert found == (document, revision(2, document), 0, 0, events[0].capacity)


async def test_imported_events_come_after_the_stored_ones(opened: Backend) -> None:
    await opened.create(event("old"))

    result = await opened.import_events(iter([event("new1"), event("new2")]))

    assert result.imported == 2
    assert await stored_ids(opened) == ["old", "new1", "new2"]
    await opened.create(event("later"))
    assert await stored_ids(opened) == ["old", "new1", "new2", "later"]


async def test_events_are_read_one_at_a_time(opened: Backend) -> None:
    read: list[str] = []

    def lazily() -> Iterator[Event]:
        for n in range(5):
            read.append(f"e{n}")
            yield event(f"e{n}")

    result = await opened.import_events(lazily())

    assert result.imported == 5
    assert read == ["e0", "e1", "e2", "e3", "e4"]


async def test_an_empty_import_stores_nothing(opened: Backend) -> None:
    assert await opened.import_events([]) == ImportResult()
    assert await exported(opened) == []


async def test_a_taken_id_fails_the_whole_import_by_default(opened: Backend) -> None:
    await opened.create(event("taken", title="Stored"))
    await opened.create(event("also", title="Stored"))

    result = await opened.import_events(
        [event("free1"), event("taken", title="Imported"), event("free2"), event("also")]
    )

    assert result == ImportResult(imported=2, conflicts=("taken", "also"), committed=False)
    assert await stored_ids(opened) == ["taken", "also"]
    assert await opened.get("taken") == event("taken", title="Stored")


async def test_skip_keeps_the_stored_event_and_imports_the_others(opened: Backend) -> None:
    await opened.create(event("taken", title="Stored"))

    result = await opened.import_events(
        [event("free"), event("taken", title="Imported")], on_conflict="skip"
    )

    assert result == ImportResult(imported=1, skipped=1, conflicts=("taken",))
    assert await stored_ids(opened) == ["taken", "free"]
    assert await opened.get("taken") == event("taken", title="Stored")


async def test_replace_puts_the_imported_event_in_the_stored_ones_place(
    opened: Backend,
) -> None:
    for event_id in ("a", "b", "c"):
        await opened.create(event(event_id, title="Stored"))
    replacement = next_version(event("b"), title="Imported", tags=())

    result = await opened.import_events([replacement, event("d")], on_conflict="replace")

    assert result == ImportResult(imported=1, replaced=1)
    assert await stored_ids(opened) == ["a", "b", "c", "d"]
    assert await opened.get("b") == replacement
    document = msgspec.json.encode(replacement)
    assert await opened.get_json("b") == (
        document,
        revision(2, document),
        0,
        0,
        replacement.capacity,
    )


@pytest.mark.parametrize(
    ("on_conflict", "expected", "title"),
    [
        ("error", ImportResult(imported=1, conflicts=("twice",), committed=False), None),
        ("skip", ImportResult(imported=1, skipped=1, conflicts=("twice",)), "First"),
        ("replace", ImportResult(imported=1, replaced=1), "Second"),
    ],
)
async def test_an_id_twice_in_the_import_is_a_conflict_with_the_first(
    opened: Backend, on_conflict: str, expected: ImportResult, title: str | None
) -> None:
    events = [event("twice", title="First"), event("twice", title="Second")]

    result = await opened.import_events(events, on_conflict=on_conflict)  # type: ignore[arg-type]

    assert result == expected
    found = await opened.get("twice")
    assert (found.title if found else None) == title
    assert await stored_ids(opened) == ([] if title is None else ["twice"])


@pytest.mark.parametrize("on_conflict", ["error", "skip", "replace"])
async def test_keep_decides_at_the_end_and_sees_the_result(
    opened: Backend, on_conflict: str
) -> None:
    await opened.create(event("taken", title="Stored"))
    seen: list[ImportResult] = []

    def keep(result: ImportResult) -> bool:
        seen.append(result)
        return False

    result = await opened.import_events(
        [event("new"), event("taken", title="Imported")],
        on_conflict=on_conflict,  # type: ignore[arg-type]
        keep=keep,
    )

    assert not result.committed
    assert (result.imported, result.replaced) == (1, 1 if on_conflict == "replace" else 0)
    # keep sees the result it decides on (not yet marked uncommitted); no conflict with "error"
    assert seen == (
        [] if on_conflict == "error" else [msgspec.structs.replace(result, committed=True)]
    )
    assert await stored_ids(opened) == ["taken"]
    assert await opened.get("taken") == event("taken", title="Stored")


async def test_keep_that_says_yes_commits(opened: Backend) -> None:
    result = await opened.import_events([event("a")], keep=lambda result: result.imported == 1)

    assert result.committed
    assert await stored_ids(opened) == ["a"]


async def test_an_input_that_fails_half_way_stores_nothing(opened: Backend) -> None:
    await opened.create(event("before"))

    def failing() -> Iterable[Event]:
        yield event("a")
        yield next_version(event("before"), title="Replaced")
        raise Interrupted

    with pytest.raises(Interrupted):
        await opened.import_events(failing(), on_conflict="replace")

    assert await stored(opened) == [event("before")]
    # The store goes on working.
    await opened.create(event("after"))
    assert await stored_ids(opened) == ["before", "after"]


async def test_export_is_every_document_oldest_first_in_batches(opened: Backend) -> None:
    for n in range(7):
        await opened.create(event(f"e{n}"))
    await opened.update("e3", lambda current: next_version(current, title="Changed"))
    await opened.delete("e5")

    documents = await exported(opened, batch_size=3)

    expected = []
    for event_id in ("e0", "e1", "e2", "e3", "e4", "e6"):
        found = await opened.get_json(event_id)
        assert found is not None
        expected.append(found[0])
    assert documents == expected
    batches = opened.export_documents(batch_size=3)
    async with contextlib.aclosing(batches):
        sizes = [len(batch) async for batch in batches]
    assert sizes == [3, 3]


async def test_export_of_an_empty_store_yields_nothing(opened: Backend) -> None:
    batches = opened.export_documents()
    async with contextlib.aclosing(batches):
        assert [batch async for batch in batches] == []


async def test_export_reads_one_snapshot_while_writes_go_on(opened: Backend) -> None:
    for n in range(5):
        await opened.create(event(f"e{n}"))
    before = await exported(opened)

    documents: list[bytes] = []
    batches = opened.export_documents(batch_size=2)
    async with contextlib.aclosing(batches):
        async for batch in batches:
            if not documents:
                await opened.create(event("later"))
                await opened.update("e3", lambda current: next_version(current, title="New"))
                await opened.delete("e4")
            documents += batch

    assert documents == before
    assert await stored_ids(opened) == ["e0", "e1", "e2", "e3", "later"]


async def test_an_export_closed_early_releases_its_snapshot(opened: Backend) -> None:
    for n in range(5):
        await opened.create(event(f"e{n}"))

    batches = opened.export_documents(batch_size=2)
    async with contextlib.aclosing(batches):
        first = await anext(batches)
    assert len(first) == 2

    await opened.create(event("after"))
    assert (await stored_ids(opened))[-1] == "after"


async def test_export_then_import_into_an_empty_store_is_lossless(
    opened: Backend, tmp_path: Path
) -> None:
    await opened.create(event("a"))
    await opened.create(next_version(event("b"), title="Two", status="cancelled"))
    source = await exported(opened)
    target = SQLiteStore(tmp_path / "target.db")
    await target.open()
    try:
        decoded = (msgspec.json.decode(document, type=Event) for document in source)
        assert (await target.import_events(decoded)).imported == 2
        assert await exported(target) == source
    finally:
        await target.close()


async def test_a_failed_sqlite_import_does_not_undo_the_writes_grouped_with_it(
    tmp_path: Path, anyio_backend: str
) -> None:
    store = SQLiteStore(tmp_path / "grouped.db")
    await store.open()
    try:
        await store.create(event("taken"))

        results = await asyncio.gather(
            store.create(event("c1")),
            store.import_events([event("i1"), event("taken")]),
            store.create(event("c2")),
            store.create(event("taken")),
            return_exceptions=True,
        )

        assert results[0] == Counted.fresh(event("c1"))
        assert isinstance(results[1], ImportResult)
        assert not results[1].committed
        assert results[2] == Counted.fresh(event("c2"))
        assert isinstance(results[3], AlreadyExists)
        assert await stored_ids(store) == ["taken", "c1", "c2"]
    finally:
        await store.close()
