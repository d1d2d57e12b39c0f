"""Helpers for tests: a controllable clock and store construction by backend name."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import TupleRow

from eventsapi.storage import Backend
from eventsapi.storage.memory import MemoryStore
from eventsapi.storage.postgres import PostgresStore
from eventsapi.storage.sqlite import SQLiteStore

BACKENDS = ["memory", "sqlite", "postgres"]
START = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)

POSTGRES_URL = os.environ.get(
    "EVENTSAPI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
"""The PostgreSQL server the tests use; each test gets a schema of its own there."""


class FakeClock:
    """A clock that stands still until told to move; pass ``clock.now`` as a ``Clock``."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 1.0) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now


def postgres_admin() -> psycopg.Connection[TupleRow]:
    """A connection to the test server, or a test failure (never a skip) saying why not:
    CI must run the PostgreSQL tests, so a server that is down is an error to fix."""
    try:
        return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({str(exc).strip()}); start it "
            "(pg_ctlcluster 15 main start) or set EVENTSAPI_TEST_POSTGRES_URL.",
            pytrace=False,
        )


def with_schema(url: str, schema: str) -> str:
    """``url`` with the search_path set to ``schema`` and an application_name naming it."""
    options = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={options}&application_name={schema}"


@contextlib.contextmanager
def postgres_schema(*, owner: str | None = None) -> Iterator[str]:
    """A new, empty schema on the test server, dropped with everything in it at the end.

    Yields a URL whose connections work in that schema (and are named after it in
    ``pg_stat_activity``), so tests running at once never share tables or locks.
    ``owner``: the role that owns the schema (the URL then connects as that role).
    """
    schema = f"eventsapi_test_{secrets.token_hex(6)}"
    with postgres_admin() as admin:
        create = sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema))
        if owner is not None:
            create += sql.SQL(" AUTHORIZATION {}").format(sql.Identifier(owner))
        admin.execute(create)
    url = with_schema(POSTGRES_URL, schema)
    if owner is not None:
        url = make_conninfo(url, user=owner)  # key=value form: PostgresStore takes either
    try:
        yield url
    finally:
        with postgres_admin() as admin:
            # Connections a test left open (and their locks) must not stop the drop.
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (schema,),
            )
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@contextlib.contextmanager
def postgres_role() -> Iterator[str]:
    """A login role of its own, whose connections a test can refuse (``set_connection_limit``)
    as a server that is down would; dropped at the end."""
    name = f"eventsapi_test_role_{secrets.token_hex(4)}"
    with postgres_admin() as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with postgres_admin() as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (name,),
            )
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def set_connection_limit(role: str, limit: int) -> None:
    """Let ``role`` open ``limit`` connections (-1: any number); at 0, end those it has."""
    with postgres_admin() as admin:
        admin.execute(
            sql.SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(
                sql.Identifier(role), sql.Literal(limit)
            )
        )
        if limit == 0:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            )


def make_store(backend: str, directory: Path, *, postgres_url: str | None = None) -> Backend:
    """A new, unopened store of ``backend`` keeping its files in ``directory``.

    PostgreSQL needs ``postgres_url``, a database of its own (see ``postgres_schema``).
    """
    if backend == "memory":
        return MemoryStore()
    if backend == "sqlite":
        return SQLiteStore(directory / "events.db")
    if backend == "postgres":
        if postgres_url is None:
            raise ValueError("the postgres backend needs postgres_url (see postgres_schema)")
        return PostgresStore(postgres_url)
    raise ValueError(f"unknown backend {backend!r}")
