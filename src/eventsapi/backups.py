"""Scheduled backups of the SQLite database in the server (``backup_dir``).

Every worker process runs the loop; a lock file in the folder and the age of the newest
backup there decide which one takes a backup, so N workers (or a restarted server) take
one backup per period, not N. The first is taken at start if the newest is older than the
period. Each backup is ``db backup``'s (checked with ``PRAGMA integrity_check``, renamed
into place once whole); then the oldest beyond ``backup_keep`` are deleted. A failure is
logged as an error and tried again at the next check: it never stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from eventsapi.settings import Settings
from eventsapi.storage.sqlite.backup import BackupResult, backup

logger = logging.getLogger("eventsapi")

NAME: Final = re.compile(r"^eventsapi-\d{8}T\d{6}\.\d{6}Z\.db$")
"""The name of a scheduled backup: its UTC time, so names sort in time order."""
LOCK_NAME: Final = ".eventsapi-backup.lock"
LONGEST_WAIT: Final = 60.0
"""Seconds between checks at most, so that a worker notices soon when another stopped."""


def backup_name(now: datetime) -> str:
    return f"eventsapi-{now.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}.db"


def scheduled_backups(folder: Path) -> list[Path]:
    """The scheduled backups in ``folder``, oldest first (other files are not ours)."""
    return sorted(path for path in folder.iterdir() if NAME.match(path.name))


def back_up_if_due(database: Path, folder: Path, *, every: float, keep: int) -> BackupResult | None:
    """A backup of ``database`` in ``folder`` if the newest there is older than ``every``
    seconds, then the oldest beyond ``keep`` deleted; ``None`` if none was due or another
    process is taking one."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK_NAME).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        existing = scheduled_backups(folder)
        if existing and time.time() - existing[-1].stat().st_mtime < every:
            return None
        result = backup(database, folder / backup_name(datetime.now(UTC)))
        for old in scheduled_backups(folder)[:-keep]:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
        return result


async def run_scheduled_backups(settings: Settings, database: Path) -> None:
    """Back up ``database`` into ``backup_dir`` every ``backup_every_hours``, forever."""
    folder = Path(settings.backup_dir)
    every = settings.backup_every_hours * 3600
    while True:
        try:
            result = await asyncio.to_thread(
                back_up_if_due, database, folder, every=every, keep=settings.backup_keep
            )
        except Exception as exc:  # noqa: BLE001 - any failure must leave the server serving
            logger.error(  # noqa: TRY400 - one line, not a traceback, in the log
                "BACKUP FAILED: the scheduled backup of %s into %s failed: %s "
                "(tried again in %.0f s)",
                database,
                folder,
                exc,
                min(every, LONGEST_WAIT),
            )
        else:
            if result is not None:
                logger.info(
                    "Backed up %s to %s (%d bytes, integrity ok) in %.3f s.",
                    database,
                    result.backup,
                    result.bytes,
                    result.seconds,
                )
        await asyncio.sleep(min(every, LONGEST_WAIT))
