"""PostgreSQL's change log: positions in commit order, so a reader never skips a record.

A sequence hands out numbers before commit: the first test shows a naive reader
(``WHERE seq > P`` on a ``bigserial``) missing a record for good when the transaction with
the smaller number commits later. The next ones show the store's way (a counter row,
``storage/postgres/changes.py``) making the later writer wait instead, giving numbers back
on rollback, and, under many concurrent writers on several stores, a polling reader seeing
every record exactly once, in order, whose replay is exactly the stored state.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import msgspec
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from eventsapi.domain.changes import ChangeRecord
from eventsapi.domain.events import Event
from eventsapi.storage.changes import written
from eventsapi.storage.postgres import PostgresStore
from eventsapi.storage.postgres import changes as changes_module
from eventsapi.storage.postgres.changes import CHANNEL, append
from tests.contract.test_event_store import event, next_version
from tests.support import postgres_admin, postgres_schema
from tests.waiting import wait_until_async

pytestmark = pytest.mark.anyio


@pytest.fixture
def url() -> Iterator[str]:
    with postgres_schema() as found:
        yield found


def test_a_naive_reader_of_a_sequence_misses_a_record_that_commits_later(url: str) -> None:
    with (
        psycopg.connect(url, autocommit=True) as reader,
        psycopg.connect(url) as first,
        psycopg.connect(url) as second,
    ):
        reader.execute("CREATE TABLE naive_log (seq bigserial PRIMARY KEY, note text NOT NULL)")
        first.execute("INSERT INTO naive_log (note) VALUES ('takes 1, commits last')")
        second.execute("INSERT INTO naive_log (note) VALUES ('takes 2, commits first')")
        second.commit()

        seen = reader.execute("SELECT seq FROM naive_log WHERE seq > 0 ORDER BY seq").fetchall()
        assert seen == [(2,)]
        position = seen[-1][0]
        first.commit()

        after = reader.execute(
            "SELECT seq FROM naive_log WHERE seq > %s ORDER BY seq", (position,)
        ).fetchall()
        every = reader.execute("SELECT seq FROM naive_log ORDER BY seq").fetchall()

    assert after == []  # the reader, past 2, never sees 1
    assert every == [(1,), (2,)]


async def waiting_on_a_lock(url: str) -> bool:
    """Whether a connection of this test's schema waits for a lock."""
    schema = conninfo_to_dict(url)["application_name"]
    with postgres_admin() as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = %s AND wait_event_type = 'Lock'",
            (schema,),
        ).fetchone()
    return row is not None and row[0] > 0


def summary(records: list[ChangeRecord]) -> list[tuple[int, str]]:
    return [(r.position, r.event_id) for r in records]


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
async def test_a_later_writer_waits_for_the_position_before_it(url: str, outcome: str) -> None:
    store = PostgresStore(url)
    await store.open()
    try:
        async with await psycopg.AsyncConnection.connect(url) as slow:
            # A write that has taken its position (its last statement) and not yet committed.
            slow_event = event("slow")
            await append(slow, written(slow_event, b"{}", created=True, actor=None))
            fast = asyncio.create_task(store.create(event("fast")))
            await wait_until_async(lambda: waiting_on_a_lock(url), "the second write to wait")

            assert await store.changes_after(0, 10) == []
            assert await store.change_horizon() == (0, 0)
            assert not fast.done()
            if outcome == "commit":
                await slow.commit()
            else:
                await slow.rollback()
            await fast

        expected = [(1, "slow"), (2, "fast")] if outcome == "commit" else [(1, "fast")]
        assert summary(await store.changes_after(0, 10)) == expected
        assert await store.change_horizon() == (0, len(expected))
    finally:
        await store.close()


async def test_each_commit_notifies_its_position(url: str) -> None:
    store = PostgresStore(url)
    await store.open()
    try:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as listener:
            await listener.execute(f"LISTEN {CHANNEL}")
            await store.create(event("e1"))
            await store.import_events([event("e2"), event("e3")])
            await store.delete("e1")

            payloads = []
            async for notice in listener.notifies(timeout=30, stop_after=3):
                payloads.append(notice.payload)
    finally:
        await store.close()

    assert payloads == ["1", "3", "4"]


WRITERS = 24
WRITES_PER_WRITER = 20


async def write_a_while(store: PostgresStore, writer: int, rng: random.Random) -> int:
    """Creates, updates and deletes of the writer's own events; how many were made."""
    made = 0
    mine: list[str] = []
    for number in range(WRITES_PER_WRITER):
        choice = rng.random()
        if not mine or choice < 0.4:
            event_id = f"w{writer}-{number}"
            await store.create(event(event_id), actor=f"u{writer}")
            mine.append(event_id)
        elif choice < 0.85:
            await store.update(rng.choice(mine), next_version, actor=f"u{writer}")
        else:
            victim = mine.pop(rng.randrange(len(mine)))
            await store.delete(victim, actor=f"u{writer}")
        made += 1
        await asyncio.sleep(0)
    return made


async def concurrent_round(url: str, seed: int) -> tuple[int, list[ChangeRecord], bool]:
    """``WRITERS`` writers on four stores while a reader polls ``changes_after``: how many
    writes were made, the records the reader saw, and whether their replay is exactly the
    stored state."""
    stores = [PostgresStore(url, pool_max_size=6) for _ in range(4)]
    reader = PostgresStore(url, pool_max_size=2)
    for store in [*stores, reader]:
        await store.open()
    try:
        rng = random.Random(seed)  # noqa: S311 - a test's choice of writes
        writers = asyncio.gather(
            *(
                write_a_while(stores[writer % len(stores)], writer, random.Random(rng.random()))  # noqa: S311
                for writer in range(WRITERS)
            )
        )
        seen: list[ChangeRecord] = []
        position = 0
        read_while_writing = 0
        while True:
            done = writers.done()
            batch = await reader.changes_after(position, 17)
            read_while_writing += bool(batch) and not done
            seen += batch
            position = seen[-1].position if seen else 0
            if done and not batch:
                break
        made = sum(await writers)
        assert read_while_writing > 1

        state: dict[str, bytes] = {}
        for record in seen:
            if record.document is None:
                state.pop(record.event_id, None)
            else:
                state[record.event_id] = record.document
        async with await psycopg.AsyncConnection.connect(url) as conn:
            cursor = await conn.execute("SELECT id, doc FROM events")
            stored = {row[0]: bytes(row[1]) for row in await cursor.fetchall()}
    finally:
        for store in [*stores, reader]:
            await store.close()
    return made, seen, state == stored


async def test_a_polling_reader_sees_every_record_once_in_order_under_concurrency(
    url: str,
) -> None:
    made, seen, replay_is_the_state = await concurrent_round(url, seed=15)

    assert made == WRITERS * WRITES_PER_WRITER
    assert [r.position for r in seen] == list(range(1, made + 1))
    assert replay_is_the_state
    for record in seen:
        if record.document is not None:
            document = msgspec.json.decode(record.document, type=Event)
            assert (document.id, document.version) == (record.event_id, record.version)


async def test_the_same_reader_misses_records_when_positions_come_from_a_sequence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The test above, with the counter swapped for a sequence: the reader skips records."""
    naive = changes_module.APPEND.replace(
        "UPDATE change_counter SET position = position + 1 RETURNING position",
        "SELECT nextval('naive_positions') AS position",
    )
    assert naive != changes_module.APPEND
    monkeypatch.setattr(changes_module, "APPEND", naive)
    rounds = []
    for seed in range(5):  # a miss needs an unlucky interleaving; it comes in the first, mostly
        with postgres_schema() as url:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute("CREATE SEQUENCE naive_positions")
            made, seen, replay_is_the_state = await concurrent_round(url, seed)
        rounds.append((made, len(seen), replay_is_the_state))
        if len(seen) < made:
            break

    made, seen_count, replay_is_the_state = rounds[-1]
    assert seen_count < made, rounds
    assert not replay_is_the_state
