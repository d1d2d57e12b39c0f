"""What the SQLite backend promises beyond the shared contract.

Durability (a write that returned is committed and survives a reopen), group
commit (concurrent writes share transactions; one failing job does not roll
back the others), versioned migrations, and the pragmas that make commits durable.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import msgspec
import pytest

from eventsapi.domain.events import Event
from eventsapi.domain.query import EventFilter, EventQuery
from eventsapi.errors import AlreadyExists, ConfigurationError, FieldError, ValidationFailed
from eventsapi.storage import migrations
from eventsapi.storage.events import Counted
from eventsapi.storage.sqlite import SQLiteStore, connection, writer
from eventsapi.storage.sqlite import migrations as sqlite_migrations
from tests.contract.test_event_store import all_ids, event, next_version

pytestmark = pytest.mark.anyio


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
async def db(path: Path, anyio_backend: str) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(path)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def reopened(path: Path) -> SQLiteStore:
    store = SQLiteStore(path)
    await store.open()
    return store


async def test_writes_survive_close_and_reopen(db: SQLiteStore, path: Path) -> None:
    await db.create(event("a"))
    await db.create(event("b"))
    await db.update("a", lambda current: next_version(current, title="Changed"))
    await db.delete("b")
    await db.put("c", lambda current: event("c"))
    key = await db.instance_key()
    await db.close()

    again = await reopened(path)
    try:
        assert await all_ids(again) == ["a", "c"]
        found = await again.get("a")
        assert found is not None
        assert (found.title, found.version) == ("Changed", 2)
        assert await again.instance_key() == key
    finally:
        await again.close()


async def test_concurrent_creates_are_grouped_and_all_committed(
    db: SQLiteStore, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch_sizes: list[int] = []
    commit = writer.Writer._commit

    def counting_commit(writer: Any, batch: list[Any]) -> list[tuple[bool, Any]]:
        batch_sizes.append(len(batch))
        return commit(writer, batch)

    monkeypatch.setattr(writer.Writer, "_commit", counting_commit)
    ids = [f"c{n:03d}" for n in range(200)]

    created = await asyncio.gather(*(db.create(event(i)) for i in ids))

    assert [written.event.id for written in created] == ids
    assert sum(batch_sizes) == 200
    assert len(batch_sizes) < 200, "concurrent writes should share transactions"
    await db.close()
    again = await reopened(path)
    try:
        assert sorted(await all_ids(again)) == ids
    finally:
        await again.close()


async def test_a_failing_job_does_not_roll_back_the_rest_of_its_batch(
    db: SQLiteStore, path: Path
) -> None:
    await db.create(event("taken"))
    await db.create(event("edit"))

    def invalid_change(current: Event) -> Event:
        raise ValidationFailed([FieldError("title", "required")])

    results = await asyncio.gather(
        db.create(event("a")),
        db.create(event("taken", title="Intruder")),
        db.update("edit", invalid_change),
        db.create(event("b")),
        db.update("edit", lambda current: next_version(current, title="Edited")),
        db.create(event("c")),
        return_exceptions=True,
    )

    assert isinstance(results[1], AlreadyExists)
    assert isinstance(results[2], ValidationFailed)
    assert [r.event.id for r in results if isinstance(r, Counted)] == ["a", "b", "edit", "c"]
    await db.close()
    again = await reopened(path)
    try:
        assert await all_ids(again) == ["taken", "edit", "a", "b", "c"]
        taken = await again.get("taken")
        edited = await again.get("edit")
        assert taken is not None
        assert taken.title == "Launch"
        assert edited is not None
        assert (edited.title, edited.version) == ("Edited", 2)
    finally:
        await again.close()


async def test_migrations_are_listed_with_when_they_were_applied(db: SQLiteStore) -> None:
    listed = await db.migrations()

    known = migrations.scripts("sqlite")
    assert [(m.version, m.name) for m in listed] == [(s.version, s.name) for s in known]
    assert listed[0].version == 1
    for migration in listed:
        assert migration.applied_at is not None
        assert migration.applied_at.startswith("20")


async def test_reopening_does_not_apply_migrations_again(db: SQLiteStore, path: Path) -> None:
    await db.create(event("kept"))
    before = await db.migrations()
    await db.close()

    again = await reopened(path)
    try:
        assert await again.migrations() == before
        assert await all_ids(again) == ["kept"]
    finally:
        await again.close()
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        assert await sqlite_migrations.apply_migrations(conn) == []
        rows = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert rows == (len(migrations.scripts("sqlite")),)


async def test_open_without_migrate_leaves_a_new_database_unmigrated(path: Path) -> None:
    store = SQLiteStore(path)
    await store.open(migrate=False)
    try:
        listed = await store.migrations()
    finally:
        await store.close()

    assert listed
    assert all(m.applied_at is None for m in listed)


async def test_writer_commits_in_wal_mode_with_synchronous_full(
    db: SQLiteStore, path: Path
) -> None:
    def pragmas(conn: sqlite3.Connection) -> tuple[Any, Any]:
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = conn.execute("PRAGMA synchronous").fetchone()[0]
        return journal, synchronous

    journal, synchronous = await db._write(pragmas)

    assert str(journal).lower() == "wal"
    assert synchronous == 2  # FULL
    with closing(sqlite3.connect(path)) as other:
        persisted = other.execute("PRAGMA journal_mode").fetchone()[0]
    assert str(persisted).lower() == "wal"


async def test_open_in_a_missing_folder_is_a_configuration_error(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "no" / "such" / "events.db")

    with pytest.raises(ConfigurationError):
        await store.open()


async def test_migration_0002_indexes_the_events_a_0001_database_already_holds(
    path: Path,
) -> None:
    # A database as version 0.1.0 left it: only migration 0001, events stored.
    first = migrations.scripts("sqlite")[0]
    with closing(connection.connect(path, busy_timeout_ms=1000)) as conn:
        conn.execute(sqlite_migrations._MIGRATIONS_TABLE)
        for statement in sqlite_migrations._statements(first.sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (1, first.name))
        old = event("old", "Café crème", tags=("paris", "coffee"), location="Lyon")
        conn.execute(
            "INSERT INTO events (version, title, status, starts_at, created_at, updated_at,"
            " doc, id) VALUES (1, ?, 'scheduled', NULL, ?, ?, ?, ?)",
            (
                old.title,
                old.created_at.isoformat(),
                old.updated_at.isoformat(),
                msgspec.json.encode(old),
                old.id,
            ),
        )
    store = SQLiteStore(path)
    await store.open()
    try:
        by_tag = await store.list_page(EventQuery(filter=EventFilter(tags=("coffee",))))
        by_word = await store.list_page(EventQuery(filter=EventFilter(terms=("lyon",))))
        await store.update("old", lambda e: next_version(e, tags=("tea",), location="Nice"))
        after_tag = await store.list_page(EventQuery(filter=EventFilter(tags=("tea",))))
        after_word = await store.list_page(EventQuery(filter=EventFilter(terms=("lyon",))))
    finally:
        await store.close()

    assert [e.id for e in by_tag.events] == ["old"]
    assert [e.id for e in by_word.events] == ["old"]
    assert [e.id for e in after_tag.events] == ["old"]
    assert after_word.events == []


def test_a_process_that_never_closes_its_store_still_exits(path: Path) -> None:
    """The writer thread must not keep the interpreter alive: a command that fails before
    it closes the store would otherwise hang instead of exiting with its error."""
    script = (
        "import asyncio, sys\n"
        "from eventsapi import storage\n"
        "from eventsapi.settings import Settings\n"
        "async def main():\n"
        "    settings = Settings(database=sys.argv[1])\n"
        "    store = storage.load(settings.database, settings)\n"
        "    await store.open()\n"
        "    await store.check()\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert path.exists()


async def test_a_write_whose_caller_gave_up_does_not_hold_up_the_rest_of_its_group(
    db: SQLiteStore,
) -> None:
    """A caller that goes away (its request cancelled) leaves its write to the group; the
    other writes of the group are still answered."""
    writes = [asyncio.ensure_future(db.create(event(f"e{n}"))) for n in range(40)]
    await asyncio.sleep(0)  # every write is queued for the writer
    for write in writes[::2]:
        write.cancel()

    answered = await asyncio.wait_for(asyncio.gather(*writes[1::2]), timeout=30)

    assert [created.event.id for created in answered] == [f"e{n}" for n in range(1, 40, 2)]
    assert set(await all_ids(db)) >= {f"e{n}" for n in range(1, 40, 2)}
