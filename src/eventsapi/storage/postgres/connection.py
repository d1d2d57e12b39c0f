"""PostgreSQL connections: errors that mean "unavailable", and what every part of the store
needs of the store itself."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from eventsapi.errors import ConfigurationError, StorageUnavailable

T = TypeVar("T")
Connection = psycopg.AsyncConnection[TupleRow]

UNAVAILABLE: Final = (psycopg.OperationalError, psycopg.InterfaceError)
"""Errors of the connection or the server (psycopg_pool's timeouts included), not of the SQL."""

CHECK_TIMEOUT: Final = 2.0
"""Seconds ``check()`` (``/readyz``) waits for the database at most."""

RECONNECT_TIMEOUT: Final = 5.0
"""Seconds the pool retries a lost connection, waiting longer each time, before it gives
up; the next request that needs a connection then starts again with no wait. This
bounds how long after the server is back the pool may still be waiting to retry."""


class BrokenConnection(StorageUnavailable):
    """The connection broke (the server went away): the pool discards it."""


def reason(exc: BaseException) -> str:
    """The error's message on one line (libpq's run over several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def unavailable(exc: BaseException) -> StorageUnavailable:
    return StorageUnavailable(f"The database is unavailable: {reason(exc)}")


def describe(url: str) -> str:
    """The database for logs and messages: host, port, name and user, never a password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "PostgreSQL (an invalid URL)"
    host = parts.get("host") or "the default host"
    port = f":{parts['port']}" if parts.get("port") else ""
    database = parts.get("dbname") or "the default database"
    user = f" as {parts['user']}" if parts.get("user") else ""
    return f"PostgreSQL database {database} on {host}{port}{user}"


def lock_key(*parts: str) -> str:
    """Text for ``hashtextextended``: the parts length-prefixed, so no two lists give one text."""
    return "eventsapi " + " ".join(f"{len(part)}:{part}" for part in parts)


async def current_schema(conn: Connection) -> str:
    row = await (await conn.execute("SELECT current_schema()")).fetchone()
    if row is None or row[0] is None:
        raise ConfigurationError(
            "The PostgreSQL search_path names no schema that exists; create it, or "
            "connect with options=-csearch_path=<schema> for an existing one."
        )
    schema: str = row[0]
    return schema


class Connections(ABC):
    """The store's connections, as its parts (events, keys, import and export, SLIs) use them."""

    _schema: str

    @abstractmethod
    def _connection(
        self, *, wait: float | None = None
    ) -> contextlib.AbstractAsyncContextManager[Connection]:
        """A connection of the pool; failures become ``StorageUnavailable``."""

    @abstractmethod
    async def _read(
        self, work: Callable[[Connection], Awaitable[T]], *, wait: float | None = None
    ) -> T:
        """Run a read; again on another connection while the one given was broken."""

    @abstractmethod
    async def _write(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Run a write in one transaction (rolled back if ``work`` raises)."""
