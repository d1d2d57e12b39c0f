"""Versioned schema migrations, shipped as ``NNNN_name.sql`` files per backend, and their runner.

The runner (``run``) is written once: each script is applied in a transaction of its own that
first takes the backend's lock (SQLite's write lock, a PostgreSQL advisory lock), then reads
whether the version is applied, then applies it and records it (``Statements``), so workers
and replicas that start together apply each migration once. A backend gives its transactions
(``sqlite/migrations.py``, ``postgres/migrations.py``).
"""

# The one fragment joined into SQL here is the placeholder, a constant of the caller;
# values are always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from importlib import resources
from typing import Protocol

import msgspec

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class Migration(msgspec.Struct, frozen=True):
    """One schema migration, as listed by ``eventsapi db status``."""

    version: int
    name: str
    applied_at: str | None


class Statements(msgspec.Struct, frozen=True):
    """The SQL of the runner's table for one placeholder style (``?`` or ``%s``)."""

    applied: str
    """Parameter: the version; a row when it is applied."""
    record: str
    """Parameters: the version and its name."""


def statements(p: str) -> Statements:
    return Statements(
        applied=f"SELECT 1 FROM schema_migrations WHERE version = {p}",
        record=f"INSERT INTO schema_migrations (version, name) VALUES ({p}, {p})",
    )


class Transaction(Protocol):
    """One script's transaction, begun with the backend's lock held until it ends."""

    async def applied(self, version: int) -> bool:
        """Whether ``version`` is recorded as applied (``Statements.applied``)."""

    async def apply(self, script: MigrationScript) -> None:
        """Run ``script`` and record its version (``Statements.record``)."""


async def run(
    backend: str, transaction: Callable[[], AbstractAsyncContextManager[Transaction]]
) -> list[int]:
    """Apply the pending migrations of ``backend``, each in a ``transaction()`` of its own
    (committed when the block ends, rolled back if it raises); return the versions applied."""
    applied_now = []
    for script in scripts(backend):
        async with transaction() as locked:
            if not await locked.applied(script.version):
                await locked.apply(script)
                applied_now.append(script.version)
    return applied_now


def status(backend: str, applied: dict[int, str]) -> list[Migration]:
    """Every migration of ``backend``, with when it was applied (from ``applied``) or ``None``."""
    return [
        Migration(script.version, script.name, applied.get(script.version))
        for script in scripts(backend)
    ]


class MigrationScript(msgspec.Struct, frozen=True):
    version: int
    name: str
    sql: str


def scripts(backend: str) -> list[MigrationScript]:
    """The migrations of ``backend`` in the order they apply."""
    found = []
    for entry in resources.files(__package__).joinpath(backend).iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(
                MigrationScript(int(match[1]), match[2], entry.read_text(encoding="utf-8"))
            )
    return sorted(found, key=lambda script: script.version)
