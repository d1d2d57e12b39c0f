"""Migration 0012 on a database that holds data from before it, on SQLite and PostgreSQL.

A database migrated up to 0011 (every migration before 0012) holds events (one with a
capacity, one with a NUL in its title, which PostgreSQL's jsonb would refuse),
registrations, and an event in the trash with registrations of its own. Once a store opens
it (applying 0012), reads find the capacity and the document's revision, and the trash
serves its event with its counts, as a store of this version would have written them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest

from eventsapi.domain.events import Event
from eventsapi.domain.query import utc_text
from eventsapi.storage import Backend, load, migrations
from eventsapi.storage.events import revision
from eventsapi.storage.postgres import migrations as postgres_migrations
from eventsapi.storage.sqlite import migrations as sqlite_migrations
from eventsapi.storage.trash import TrashQuery
from tests.contract.test_event_store import event
from tests.support import START, postgres_schema

pytestmark = pytest.mark.anyio

_BEFORE: int = 12
"""The migration under test: the database is made with every one before it."""

EVENTS = [
    event("full", capacity=3),
    event("nul", title="Tea\x00time", capacity=None),
]
TRASHED = event("gone", capacity=1)
# (event, status) of each registration
REGISTRATIONS = [
    ("full", "confirmed"),
    ("full", "confirmed"),
    ("full", "waitlisted"),
    ("full", "cancelled"),
    ("gone", "confirmed"),
    ("gone", "waitlisted"),
    ("gone", "waitlisted"),
]


def _rows(p: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements and parameters that write the old data (placeholder ``p``)."""
    found: list[tuple[str, tuple[Any, ...]]] = []
    for stored in EVENTS:
        found.append(
            (
                f"INSERT INTO events (id, version, title, status, created_at, updated_at, doc,"  # noqa: S608 - constants
                f" {'starts_at' if p == '?' else 'starts_key'}) VALUES"
                f" ({p}, 1, {p}, 'scheduled', {p}, {p}, {p}, {p})",
                (
                    stored.id,
                    stored.title.replace("\x00", "\x01\x01") if p != "?" else stored.title,
                    utc_text(stored.created_at),
                    utc_text(stored.updated_at),
                    msgspec.json.encode(stored),
                    None if p == "?" else "~",
                ),
            )
        )
    for n, (event_id, status) in enumerate(REGISTRATIONS):
        found.append(
            (
                "INSERT INTO registrations (id, event_id, name, email, email_key, status,"  # noqa: S608 - constants
                f" created_at, updated_at) VALUES ({p}, {p}, 'P', {p}, {p}, {p}, {p}, {p})",
                (f"r{n}", event_id, f"p{n}@x.org", f"p{n}@x.org", status, "t", "t"),
            )
        )
    found.append(
        (
            f"UPDATE events SET registered = 2, waitlisted = 1 WHERE id = {p}",  # noqa: S608 - constants
            ("full",),
        )
    )
    found.append(
        (
            f"INSERT INTO trash (id, owner, version, doc, deleted_at, deleted_by) VALUES"  # noqa: S608 - constants
            f" ({p}, NULL, 1, {p}, {p}, NULL)",
            (TRASHED.id, msgspec.json.encode(TRASHED), utc_text(START)),
        )
    )
    return found


@pytest.fixture
def sqlite_before(tmp_path: Path) -> str:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(sqlite_migrations._MIGRATIONS_TABLE)
        for script in migrations.scripts("sqlite"):
            if script.version < _BEFORE:
                for statement in sqlite_migrations._statements(script.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                    (script.version, script.name),
                )
        for sql, params in _rows("?"):
            conn.execute(sql, params)
    return str(path)


@pytest.fixture
def postgres_before() -> Iterator[str]:
    with postgres_schema() as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute(postgres_migrations._MIGRATIONS_TABLE)
        for script in migrations.scripts("postgres"):
            if script.version < _BEFORE:
                conn.execute(script.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (script.version, script.name),
                )
        for sql, params in _rows("%s"):
            conn.execute(sql.encode(), params)
        yield url


async def _check(store: Backend) -> None:
    await store.open()
    try:
        assert [m.applied_at is not None for m in await store.migrations()] == [True] * len(
            migrations.scripts("sqlite")
        )
        full = await store.get_json("full")
        assert full is not None
        assert full[1] == revision(1, full[0])  # what ETags name, as the stores write it
        assert full[2:] == (2, 1, 3)
        nul = await store.get_json("nul")
        assert nul is not None
        assert msgspec.json.decode(nul[0], type=Event).title == "Tea\x00time"
        assert nul[4] is None
        [trashed] = (await store.trash_page(TrashQuery(owner=None, limit=10))).items
        assert trashed.document == msgspec.json.encode(TRASHED)[:-1] + (
            b',"registered":1,"waitlisted":2,"spots_left":0}'
        )
        assert msgspec.json.decode(trashed.document, type=Event) == TRASHED
    finally:
        await store.close()


async def test_sqlite_0012_fills_the_capacity_and_counts_the_trash(sqlite_before: str) -> None:
    await _check(load(sqlite_before))


async def test_postgres_0012_fills_the_capacity_and_counts_the_trash(postgres_before: str) -> None:
    await _check(load(postgres_before))
