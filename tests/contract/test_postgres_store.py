"""What the PostgreSQL backend promises beyond the shared contract.

Migrations recorded in the database and applied once however many replicas
start together; replicas (stores on one database) that race on one row or one
idempotency key; and failures of the connection or the server: each is
``StorageUnavailable`` (503), never a 500, and the store recovers by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import msgspec
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from eventsapi.domain.events import Event
from eventsapi.domain.query import EventFilter, EventQuery
from eventsapi.errors import ConfigurationError, PreconditionFailed, StorageUnavailable
from eventsapi.storage import load, migrations
from eventsapi.storage.events import Change, Counted, with_counts
from eventsapi.storage.idempotency import IdempotencyKey, Replay
from eventsapi.storage.postgres import PostgresStore
from eventsapi.storage.postgres.connection import Connection
from tests.contract.test_event_store import event, next_version
from tests.support import (
    START,
    postgres_admin,
    postgres_role,
    postgres_schema,
    set_connection_limit,
)
from tests.waiting import wait_until, wait_until_async

pytestmark = pytest.mark.anyio


@pytest.fixture
def url() -> Iterator[str]:
    with postgres_schema() as found:
        yield found


@contextlib.asynccontextmanager
async def opened(url: str, **options: Any) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(url, **options)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def schema_of(url: str) -> str:
    """The test's schema, which also names its connections (``tests.support.with_schema``)."""
    return str(conninfo_to_dict(url)["application_name"])


def terminate_connections(url: str) -> int:
    """End every server process of the store's connections, as a server restart would."""
    with postgres_admin() as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s",
            (schema_of(url),),
        ).fetchone()
    assert ended is not None
    return int(ended[0])


def server_processes(url: str) -> set[int]:
    """The server processes of the store's connections, as the server lists them."""
    with postgres_admin() as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (schema_of(url),)
        ).fetchall()
    return {row[0] for row in rows}


async def serving_process(store: PostgresStore) -> int:
    """The server process of the connection that a read of ``store`` is given."""

    async def work(conn: Connection) -> int:
        row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
        assert row is not None
        return int(row[0])

    return await store._read(work)


def key(name: str) -> IdempotencyKey:
    return IdempotencyKey("", name, b"fingerprint", START, START + timedelta(hours=24))


async def test_migrations_are_recorded_with_when_they_were_applied(url: str) -> None:
    async with opened(url) as store:
        listed = await store.migrations()

    known = migrations.scripts("postgres")
    assert [(m.version, m.name) for m in listed] == [(s.version, s.name) for s in known]
    sqlite = migrations.scripts("sqlite")
    assert [(m.version, m.name) for m in listed] == [(s.version, s.name) for s in sqlite]
    for migration in listed:
        assert migration.applied_at is not None
        assert migration.applied_at.startswith("20")
        assert migration.applied_at.endswith("Z")


async def test_stores_opening_together_apply_each_migration_once(url: str) -> None:
    stores = [PostgresStore(url) for _ in range(4)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
        keys = {await store.instance_key() for store in stores}
        listed = [await store.migrations() for store in stores]
    finally:
        await asyncio.gather(*(store.close() for store in stores))

    assert len(keys) == 1
    assert len(next(iter(keys))) == 32
    assert all(found == listed[0] for found in listed)
    with psycopg.connect(url, autocommit=True) as conn:
        versions = conn.execute("SELECT version FROM schema_migrations ORDER BY version")
        assert [row[0] for row in versions] == [s.version for s in migrations.scripts("postgres")]
        meta = conn.execute("SELECT key FROM meta ORDER BY key").fetchall()
    assert meta == [("changes_pruned_through",), ("instance_key",)]


async def test_reopening_applies_nothing_again_and_keeps_the_data(url: str) -> None:
    async with opened(url) as store:
        await store.create(event("kept"))
        before = await store.migrations()
        instance_key = await store.instance_key()
    async with opened(url) as again:
        assert await again.migrations() == before
        assert await again.instance_key() == instance_key
        assert await again.get("kept") == event("kept")


async def test_open_without_migrate_leaves_a_new_schema_unmigrated(url: str) -> None:
    store = PostgresStore(url)
    await store.open(migrate=False)
    try:
        listed = await store.migrations()
    finally:
        await store.close()

    assert listed
    assert all(m.applied_at is None for m in listed)
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
    assert found == (None,)


async def test_load_picks_postgres_for_both_url_schemes() -> None:
    for scheme in ("postgresql", "postgres"):
        store = load(f"{scheme}://postgres@127.0.0.1:5432/test")
        assert isinstance(store, PostgresStore)


async def test_a_search_path_without_a_schema_is_a_configuration_error() -> None:
    missing = f"eventsapi_test_missing_{secrets.token_hex(4)}"
    store = PostgresStore(
        f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{missing}"
    )

    with pytest.raises(ConfigurationError, match="search_path"):
        await store.open()


async def test_an_unreachable_server_at_open_is_storage_unavailable() -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:1/test")

    with pytest.raises(StorageUnavailable, match="Cannot connect to the PostgreSQL database"):
        await store.open()


async def test_documents_are_stored_as_the_bytes_encoded(url: str) -> None:
    created = event("e1", title="Zürich ✓", tags=("b", "a"))
    async with opened(url) as store:
        await store.create(created)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT doc, starts_key, tags FROM events").fetchone()
    assert row == (msgspec.json.encode(created), "~", ["b", "a"])


async def test_tags_holding_nul_are_found(url: str) -> None:
    # PostgreSQL text cannot hold NUL: tags are stored escaped (postgres_query.text).
    async with opened(url) as store:
        for n, tags in enumerate([("a\x00",), ("a",), ("a\x01\x01", "b"), ("a\x00", "b")]):
            await store.create(event(f"e{n}", tags=tags))

        async def tagged(*tags: str) -> list[str]:
            page = await store.list_page(EventQuery(filter=EventFilter(tags=tags)))
            return [e.id for e in page.events]

        assert await tagged("a\x00") == ["e0", "e3"]
        assert await tagged("a") == ["e1"]
        assert await tagged("a\x01\x01") == ["e2"]
        assert await tagged("a\x00", "b") == ["e3"]


# -- replicas: several stores on one database ------------------------------------------


async def test_the_same_new_idempotency_key_on_two_replicas_creates_one_event(url: str) -> None:
    async with opened(url) as one, opened(url) as two:
        for n in range(10):
            results = await asyncio.gather(
                one.create(event(f"one{n}"), once=key(f"k{n}")),
                two.create(event(f"two{n}"), once=key(f"k{n}")),
                return_exceptions=True,
            )
            created = [r for r in results if isinstance(r, Counted)]
            replayed = [r for r in results if isinstance(r, Replay)]
            assert (len(created), len(replayed)) == (1, 1), results
            found = await one.get_json(created[0].event.id)
            assert found is not None
            # the key keeps the event as it was served (with its counts)
            assert replayed[0].document == with_counts(found[0], *found[2:])

        page = await one.list_page(EventQuery(limit=100))
    assert len(page.documents) == 10


async def test_conditional_updates_racing_on_two_replicas_let_exactly_one_win(url: str) -> None:
    def if_version(expected: int, title: str) -> Change:
        def change(current: Event) -> Event:
            if current.version != expected:
                raise PreconditionFailed("changed meanwhile")
            return next_version(current, title=title)

        return change

    async with opened(url) as one, opened(url) as two:
        await one.create(event("contested"))
        results = await asyncio.gather(
            *(
                (one if n % 2 else two).update("contested", if_version(1, f"Title {n}"))
                for n in range(20)
            ),
            return_exceptions=True,
        )
        winners = [r for r in results if isinstance(r, Counted)]
        assert len(winners) == 1
        assert all(isinstance(r, PreconditionFailed) for r in results if r not in winners)
        assert await two.get("contested") == winners[0].event


async def test_puts_racing_to_create_one_id_all_succeed_in_turn(url: str) -> None:
    def build(current: Event | None) -> Event:
        return event("raced") if current is None else next_version(current)

    async with opened(url) as one, opened(url) as two:
        results = await asyncio.gather(
            *((one if n % 2 else two).put("raced", build) for n in range(10))
        )
        assert sorted(created for _, created in results) == [False] * 9 + [True]
        found = await one.get("raced")
    assert found is not None
    assert found.version == 10


# -- failures: each is StorageUnavailable, and the store recovers ----------------------


async def test_a_lost_connection_fails_a_write_with_storage_unavailable_then_recovers(
    url: str,
) -> None:
    async with opened(url, pool_min_size=1, pool_max_size=1) as store:
        await store.create(event("a"))
        assert terminate_connections(url) == 1

        with pytest.raises(StorageUnavailable):
            await store.create(event("b"))  # not retried: a write may have committed

        await store.create(event("c"))
        await store.check()
        assert await store.get("b") is None
        assert await store.get("c") == event("c")


async def test_a_read_on_a_lost_connection_is_tried_again_on_a_new_one(url: str) -> None:
    async with opened(url, pool_min_size=2, pool_max_size=2) as store:
        await store.create(event("a"))
        await asyncio.gather(store.get("a"), store.get("a"))  # both connections made
        assert terminate_connections(url) == 2

        assert await store.get("a") == event("a")
        assert await store.get_json("a") is not None


async def test_no_connection_within_pool_timeout_is_storage_unavailable(url: str) -> None:
    async with opened(url, pool_min_size=1, pool_max_size=1, pool_timeout=0.3) as store:
        for n in range(3):
            await store.create(event(f"e{n}"))
        batches = store.export_documents(batch_size=1)
        async with contextlib.aclosing(batches):
            assert len(await anext(batches)) == 1  # the export holds the only connection
            # the pool's own timeout answers, not a hang nor another error
            with pytest.raises(StorageUnavailable, match="couldn't get a connection after"):
                await store.get("e0")
            with pytest.raises(StorageUnavailable, match="couldn't get a connection after"):
                await store.check()
        assert await store.get("e0") == event("e0")


async def test_a_statement_over_statement_timeout_is_storage_unavailable(url: str) -> None:
    async with opened(url, statement_timeout=0.2) as store:
        await store.create(event("locked"))
        with psycopg.connect(url) as other:  # not autocommit: holds the row lock
            other.execute("SELECT 1 FROM events WHERE id = 'locked' FOR UPDATE")
            with pytest.raises(StorageUnavailable, match="statement timeout"):
                await store.update("locked", next_version)
            # the lock was never let go: the update ended by the timeout, not by waiting
            assert other.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
            other.rollback()
        updated = await store.update("locked", next_version)
    assert updated.event.version == 2


@pytest.fixture
def role() -> Iterator[str]:
    with postgres_role() as name:
        yield name


async def test_a_server_refusing_connections_gives_storage_unavailable_until_it_is_back(
    role: str,
) -> None:
    with postgres_schema(owner=role) as url:
        async with opened(url, pool_min_size=2, pool_max_size=4, pool_timeout=0.5) as store:
            await store.create(event("kept"))

            set_connection_limit(role, 0)  # as if the server were down
            for attempt in range(2):
                with pytest.raises(StorageUnavailable):
                    await store.get("kept")
                with pytest.raises(StorageUnavailable):
                    await store.create(event(f"lost{attempt}"))
                with pytest.raises(StorageUnavailable):
                    await store.check()

            set_connection_limit(role, -1)  # back

            async def reconnected() -> bool:
                try:
                    await store.check()
                except StorageUnavailable:
                    return False
                return True

            await wait_until_async(reconnected, "the pool to connect again by itself")
            assert await store.get("kept") == event("kept")
            await store.create(event("after"))
            assert await store.get("after") == event("after")


# -- connections held in front of the pool age as the pool's own -------------------------


async def test_a_connection_past_the_pools_max_lifetime_is_not_used_again(url: str) -> None:
    lifetime = 1.0
    async with opened(url, pool_min_size=1, pool_max_size=1, pool_max_lifetime=lifetime) as store:
        first = await serving_process(store)
        assert await serving_process(store) == first  # held for the next request

        await asyncio.sleep(lifetime + 0.2)
        assert await serving_process(store) != first
        # closed by the pool, not left open beside its replacement
        wait_until(lambda: first not in server_processes(url), "the old connection to close")
        assert len(server_processes(url)) == 1


async def test_connections_unused_for_max_idle_go_back_and_the_pool_shrinks(url: str) -> None:
    async with opened(url, pool_min_size=1, pool_max_size=3, pool_max_idle=0.3) as store:
        for n in range(3):
            await store.create(event(f"e{n}"))
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(3):  # each export holds a connection until it is closed
                batches = await stack.enter_async_context(
                    contextlib.aclosing(store.export_documents(batch_size=1))
                )
                assert len(await anext(batches)) == 1
            assert len(server_processes(url)) == 3

        # all three come back idle and sound: the pool shrinks to its minimum as it would
        # if they had gone back to it
        await wait_until_async(
            lambda: len(server_processes(url)) == 1, "the pool to shrink to one connection"
        )
        assert await store.get("e0") == event("e0")
        assert len(server_processes(url)) == 1
