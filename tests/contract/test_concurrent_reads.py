"""Many creates and reads by id at once, on every backend (issue 18).

On PostgreSQL the reads by id that arrive together are answered by one statement
(``storage/postgres/batch.py``) and a create without a key is one statement: each caller
must still get its own answer, as if it had been alone, and what each reader may see.
"""

from __future__ import annotations

import asyncio

import pytest
from msgspec.json import decode

from eventsapi.domain.events import Event
from eventsapi.domain.visibility import ANONYMOUS, EVERYTHING, Reader
from eventsapi.errors import AlreadyExists
from eventsapi.storage import Backend
from tests.contract.test_event_store import event

pytestmark = pytest.mark.anyio

AT_ONCE = 64
OWNER = "01OWNER00000000000000000000"


async def test_creates_at_once_each_stored_and_read_back_distinctly(opened: Backend) -> None:
    ids = [f"c{n:03d}" for n in range(AT_ONCE)]

    created = await asyncio.gather(*(opened.create(event(i, f"Title {i}")) for i in ids))
    found = await asyncio.gather(*(opened.get(i) for i in ids))
    rows = await asyncio.gather(*(opened.get_json(i) for i in ids))

    assert [c.event.id for c in created] == ids
    assert found == [event(i, f"Title {i}") for i in ids]
    assert [None if row is None else decode(row[0], type=Event).id for row in rows] == ids
    changes = await opened.changes_after(0, 1000)
    assert sorted(c.event_id for c in changes if c.type == "event.created") == ids


async def test_reads_at_once_of_present_missing_and_repeated_ids(opened: Backend) -> None:
    for n in range(8):
        await opened.create(event(f"r{n}", f"Title {n}"))
    asked = [f"r{n % 10}" for n in range(AT_ONCE)]  # r8 and r9 are missing; each id 6-7 times

    found = await asyncio.gather(*(opened.get(i) for i in asked))

    assert [None if e is None else e.id for e in found] == [
        None if i in ("r8", "r9") else i for i in asked
    ]
    assert all(e is None or e.title == f"Title {e.id[1:]}" for e in found)


async def test_reads_at_once_by_readers_who_see_different_events(opened: Backend) -> None:
    await opened.create(event("open", owner=OWNER))
    await opened.create(event("mine", owner=OWNER, visibility="private"))
    readers: list[Reader] = [ANONYMOUS, Reader(account=OWNER), Reader(account="x"), EVERYTHING]
    # Every reader asks for both events, in turns: each batch mixes readers and ids.
    asks = [(readers[n % 4], ("open", "mine")[n // 4 % 2]) for n in range(AT_ONCE)]

    found = await asyncio.gather(*(opened.get(i, reader=r) for r, i in asks))

    expected = [i if i == "open" or r.everything or r.account == OWNER else None for r, i in asks]
    assert [None if e is None else e.id for e in found] == expected


async def test_creates_at_once_of_one_id_store_one(opened: Backend) -> None:
    outcomes = await asyncio.gather(
        *(opened.create(event("same", f"Try {n}")) for n in range(16)), return_exceptions=True
    )

    stored = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(stored) == 1
    assert all(isinstance(o, AlreadyExists) for o in outcomes if o not in stored)
    assert await opened.get("same") == stored[0].event
