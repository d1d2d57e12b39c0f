"""Online backups of the SQLite database, checking them, and restoring one.

A backup is SQLite's backup API (``sqlite3.Connection.backup``) copying every page in
one step, so inside one read transaction: a consistent snapshot holding every write
committed before it began, taken while the server goes on writing (in WAL mode a
reader never blocks the writer). It is written to a temporary file next to the
target, turned into a single file (rollback journal, no ``-wal`` beside it), checked
with ``PRAGMA integrity_check``, synced, and only then renamed to its name: a crash
leaves either no backup or a whole one, never half a file under the name.

A running server is told apart from a stopped one by SQLite's own locks: every
connection of a server holds a shared lock on the database file for as long as it
is open in WAL mode, so leaving WAL mode (``PRAGMA journal_mode = DELETE``, which
needs the file to itself) fails at once with a busy timeout of 0 while any server
process has it open. ``BEGIN EXCLUSIVE`` would not do: in WAL mode it excludes other
writers only, and an idle server holds no write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import msgspec

from eventsapi.errors import EventsAPIError
from eventsapi.storage import migrations
from eventsapi.storage.sqlite.connection import connect
from eventsapi.storage.sqlite.migrations import apply_migrations

SIDE_FILES: Final = ("-wal", "-shm", "-journal")
"""What SQLite may keep beside a database file; stale ones must not outlive a restore."""


class BackupError(EventsAPIError):
    """A backup or a restore that cannot be done; nothing was changed."""


class DatabaseInUse(BackupError):
    """A restore over a database that a running server has open."""


class Checked(msgspec.Struct, frozen=True):
    """A database file found whole and eventsapi's."""

    path: str
    bytes: int
    schema_version: int
    integrity: str


class BackupResult(msgspec.Struct, frozen=True):
    database: str
    backup: str
    bytes: int
    schema_version: int
    integrity: str
    seconds: float


class RestoreResult(msgspec.Struct, frozen=True):
    database: str
    backup: str
    schema_version: int
    migrated: list[int]
    """Migrations applied to the restored copy (the backup was made by an older version)."""
    replaced: bool
    """Whether there was a database at ``database`` before."""


def _open_existing(path: Path, mode: str = "ro") -> sqlite3.Connection:
    """A connection to an existing file that never creates one (read-only: a backup being
    checked is left as it is)."""
    if not path.is_file():
        raise BackupError(f"There is no file at {path}.")
    try:
        uri = f"{path.resolve().as_uri()}?mode={mode}"
        return sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise BackupError(f"Cannot open {path}: {exc}") from exc


def check(path: Path) -> Checked:
    """``path`` is a whole SQLite database of eventsapi (``integrity_check`` passes, its
    migrations table names migrations this version knows), or a ``BackupError``."""
    conn = _open_existing(path)
    try:
        try:
            found = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorname", "") == "SQLITE_NOTADB":
                raise BackupError(f"{path} is not a SQLite database ({exc}).") from exc
            raise BackupError(f"{path} fails SQLite's integrity check: {exc}") from exc
        if found != ["ok"]:
            raise BackupError(
                f"{path} fails SQLite's integrity check: " + "; ".join(map(str, found[:5]))
            )
        return Checked(str(path), path.stat().st_size, _schema_version(conn, path), "ok")
    finally:
        conn.close()


def _schema_version(conn: sqlite3.Connection, path: Path) -> int:
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    versions = (
        {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        if has_table
        else set()
    )
    known = {script.version for script in migrations.scripts("sqlite")}
    if 1 not in versions:
        raise BackupError(f"{path} is a SQLite database, but not one of eventsapi's.")
    if not versions <= known:
        newer = ", ".join(f"{v:04d}" for v in sorted(versions - known))
        raise BackupError(
            f"{path} was made by a newer eventsapi (it has migration {newer}, which this "
            "version does not know); restore it with that version."
        )
    return int(max(versions))


def _not_the_database(path: Path, database: Path) -> None:
    """Refuse ``path`` if it is the database or one of its side files: replacing those
    under a server corrupts the database."""
    for suffix in ("", *SIDE_FILES):
        side = Path(f"{database}{suffix}")
        if path.resolve() == side.resolve() or (
            path.exists() and side.exists() and path.samefile(side)
        ):
            raise BackupError(f"{path} is the database itself ({side}); name another file.")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temporary(target: Path, purpose: str) -> Path:
    return target.with_name(f".{target.name}.{purpose}-{os.getpid()}-{time.monotonic_ns()}")


def _remove(path: Path) -> None:
    for suffix in ("", *SIDE_FILES):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def _copy(source: sqlite3.Connection, temporary: Path) -> None:
    """Every page of ``source`` into the new file ``temporary``, as one file (no WAL)."""
    target = sqlite3.connect(temporary, isolation_level=None)
    try:
        source.backup(target)  # pages=-1: all in one step, one read transaction
        target.execute("PRAGMA journal_mode = DELETE")
    finally:
        target.close()


def backup(database: Path, target: Path, *, force: bool = False) -> BackupResult:
    """A checked copy of ``database`` at ``target``, taken while a server may write to it."""
    started = time.monotonic()
    _not_the_database(target, database)
    if target.exists() and not target.is_file():
        raise BackupError(f"{target} is not a file.")
    if target.exists() and not force:
        raise BackupError(f"{target} exists; pass --force to replace it.")
    if not target.parent.is_dir():
        raise BackupError(f"The folder for the backup does not exist: {target.parent}")
    if not database.is_file():
        raise BackupError(f"There is no database at {database.resolve()}.")
    temporary = _temporary(target, "backup")
    try:
        source = connect(database, busy_timeout_ms=5000, read_only=True)
        try:
            _copy(source, temporary)
        except sqlite3.Error as exc:
            raise BackupError(f"Cannot back up {database}: {exc}") from exc
        finally:
            source.close()
        checked = check(temporary)
        _fsync(temporary)
        os.replace(temporary, target)
        _fsync(target.parent)
    finally:
        _remove(temporary)
    return BackupResult(
        str(database),
        str(target),
        checked.bytes,
        checked.schema_version,
        checked.integrity,
        round(time.monotonic() - started, 3),
    )


_SQLITE_LOCK_BYTES: Final = (0x4000_0002, 510)
"""Where SQLite's unix VFS takes its shared locks: (start, length) of its shared range."""


@contextlib.contextmanager
def _exclusively(database: Path) -> Iterator[None]:
    """Hold ``database`` so that no server has it open, or raise ``DatabaseInUse``."""
    conn = _open_existing(database, "rw")
    try:
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            # Leaving WAL mode needs the file to itself: it fails while a server has it open;
            # in rollback mode, BEGIN EXCLUSIVE then holds it so until the rename is done.
            conn.execute("PRAGMA journal_mode = DELETE").fetchall()
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.DatabaseError as exc:
            name = getattr(exc, "sqlite_errorname", "")
            if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                raise _in_use(database) from None
            if name == "SQLITE_NOTADB":
                raise BackupError(
                    f"{database} is not a SQLite database ({exc}); refusing to replace it "
                    "(delete it first if it is a database damaged beyond recognition)."
                ) from exc
            # Damaged: SQLite cannot say, so ask the file for the locks SQLite would take.
            with _locked_file(database):
                yield
            return
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def _in_use(database: Path) -> DatabaseInUse:
    return DatabaseInUse(
        f"{database} is in use (a server has it open): stop the service, then restore."
    )


@contextlib.contextmanager
def _locked_file(database: Path) -> Iterator[None]:
    """SQLite's exclusive lock on ``database``, taken as SQLite takes it (POSIX locks on its
    shared range), or ``DatabaseInUse``."""
    start, length = _SQLITE_LOCK_BYTES
    with database.open("rb+") as file:
        try:
            fcntl.lockf(file, fcntl.LOCK_EX | fcntl.LOCK_NB, length, start, os.SEEK_SET)
        except OSError:
            raise _in_use(database) from None
        yield


def restore(source: Path, database: Path) -> RestoreResult:
    """Replace ``database`` with the backup ``source``, migrated to this version's schema.

    The backup is checked, copied next to the database, migrated and checked again before
    the copy is renamed over the database, while no server has it open (else
    ``DatabaseInUse``); the database's stale ``-wal``/``-shm`` files go first, since SQLite
    would otherwise replay an old log over the restored pages.
    """
    _not_the_database(source, database)
    check(source)
    if not database.parent.is_dir():
        raise BackupError(f"The folder for the database does not exist: {database.parent}")
    temporary = _temporary(database, "restore")
    try:
        conn = _open_existing(source)
        try:
            _copy(conn, temporary)
        except sqlite3.Error as exc:
            raise BackupError(f"Cannot read {source}: {exc}") from exc
        finally:
            conn.close()
        migrated = _migrate(temporary)
        checked = check(temporary)
        _fsync(temporary)
        replaced = database.exists()
        with _exclusively(database) if replaced else contextlib.nullcontext():
            for suffix in SIDE_FILES:
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{database}{suffix}").unlink()
            os.replace(temporary, database)
            _fsync(database.parent)
    finally:
        _remove(temporary)
    return RestoreResult(str(database), str(source), checked.schema_version, migrated, replaced)


def _migrate(path: Path) -> list[int]:
    conn = connect(path, busy_timeout_ms=5000)
    try:
        applied = asyncio.run(apply_migrations(conn))
        conn.execute("PRAGMA journal_mode = DELETE")
    except (sqlite3.Error, EventsAPIError) as exc:
        raise BackupError(f"Cannot migrate the backup to this version's schema: {exc}") from exc
    finally:
        conn.close()
    return applied
