"""SQLite connections, and what every part of the SQLite store needs of the store itself."""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def connect(path: Path, *, busy_timeout_ms: int, read_only: bool = False) -> sqlite3.Connection:
    """A connection with the pragmas every connection of ours needs."""
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, cached_statements=64
    )
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    if read_only:
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    return conn


class Connections(ABC):
    """The store's connections, as its parts (events, keys, import and export, SLIs) use them."""

    path: Path
    _busy_timeout_ms: int

    @abstractmethod
    def _read(self) -> sqlite3.Connection:
        """The shared read-only connection, for reads that take microseconds (on the loop)."""

    @abstractmethod
    async def _read_off_loop(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """A read that may be dear, in a reader thread, within the time budget."""

    @abstractmethod
    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """A write job of the writer thread (see ``writer.Job``)."""
