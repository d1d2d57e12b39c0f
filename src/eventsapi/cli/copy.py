"""``eventsapi db copy``: every event from one database to another, verified.

The move from one SQLite file to PostgreSQL (or back, or between any two
backends). The source is read from one snapshot into a temporary NDJSON file,
which the target imports in one transaction, all or nothing (the same path as
``export | import``, so a copy is as lossless as they are). Then both databases
are read again and compared: the same number of events and the same SHA-256
over every event document in creation order, or the command fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, get_args

import click
import msgspec

from eventsapi import storage
from eventsapi.cli.options import resolve
from eventsapi.cli.stores import Store
from eventsapi.domain.events import Event
from eventsapi.domain.visibility import EVERYTHING
from eventsapi.errors import EventsAPIError
from eventsapi.settings import Settings
from eventsapi.storage.transfer import OnConflict

_decode_event = msgspec.json.Decoder(Event).decode


class Fingerprint(msgspec.Struct, frozen=True):
    """What two databases must agree on after a copy."""

    events: int
    sha256: str


async def _fingerprint(store: Store, spool: IO[bytes] | None = None) -> Fingerprint:
    """Count and hash every document in creation order (and write them to ``spool``)."""
    digest = hashlib.sha256()
    events = 0
    async with contextlib.aclosing(store.export_documents()) as batches:
        async for batch in batches:
            for document in batch:
                digest.update(document + b"\n")
                if spool is not None:
                    spool.write(document + b"\n")
            events += len(batch)
    return Fingerprint(events, digest.hexdigest())


def _documents(spool: IO[bytes]) -> Iterator[Event]:
    spool.seek(0)
    for line in spool:
        yield _decode_event(line)


class Copied(msgspec.Struct, frozen=True):
    source: Fingerprint
    target: Fingerprint
    verified: int
    """Copied events found in the target byte for byte (skipped conflicts aside)."""
    skipped: int
    target_was_empty: bool


async def _verify(target: Store, spool: IO[bytes], skipped: frozenset[str]) -> int:
    """How many spooled documents the target holds byte for byte; fails on any other."""
    verified = 0
    spool.seek(0)
    for line in spool:
        document = line.rstrip(b"\n")
        event_id = _decode_event(document).id
        if event_id in skipped:
            continue
        found = await target.get_json(event_id, reader=EVERYTHING)
        if found is None or found[0] != document:
            raise click.ClickException(
                f"Verification failed: event {event_id!r} is not in the target as it is in "
                "the source."
            )
        verified += 1
    return verified


async def copy_events(
    source: Settings, target: Settings, spool: IO[bytes], *, on_conflict: OnConflict
) -> Copied:
    """Copy every event of ``source`` into ``target``, then check the target holds them."""
    reading = storage.load(source.database, source)
    writing = storage.load(target.database, target)
    await reading.open()
    try:
        await writing.open()
        try:
            before = await _fingerprint(writing)
            copied = await _fingerprint(reading, spool)
            result = await writing.import_events(_documents(spool), on_conflict=on_conflict)
            if not result.committed:
                taken = ", ".join(result.conflicts[:5])
                raise click.ClickException(
                    f"{len(result.conflicts)} of the events are already in the target "
                    f"(e.g. {taken}); nothing was copied. Use --on-conflict skip or replace."
                )
            skipped = frozenset(result.conflicts) if on_conflict == "skip" else frozenset()
            verified = await _verify(writing, spool, skipped)
            return Copied(
                copied, await _fingerprint(writing), verified, len(skipped), before.events == 0
            )
        finally:
            await writing.close()
    finally:
        await reading.close()


@click.command("copy")
@click.option("--from", "source", required=True, metavar="PATH|URL", help="Database to read.")
@click.option("--to", "target", required=True, metavar="PATH|URL", help="Database to fill.")
@click.option(
    "--on-conflict",
    type=click.Choice(get_args(OnConflict)),
    default="error",
    show_default=True,
    help="When an id is in both: stop and copy nothing, keep the target's, or replace it.",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML settings file (pool sizes, timeouts). [env: EVENTSAPI_CONFIG]",
)
def copy_command(source: str, target: str, on_conflict: OnConflict, config: Path | None) -> None:
    """Copy every event from one database to another, and verify the copy.

    For example from the SQLite file to PostgreSQL:

        eventsapi db copy --from eventsapi.db --to postgresql://app@db/events

    Ids, times and versions are kept. The target is migrated first; the copy is
    one transaction there, all or nothing. Afterwards both databases are read
    again: the same number of events and the same checksum of every event, or
    the command fails. Idempotency keys are not copied (they live a day), and
    paging cursors issued by the source do not work on the target.
    """
    if source == target:
        raise click.UsageError("--from and --to are the same database.")
    source_settings = resolve(config, database=source)
    target_settings = resolve(config, database=target)
    with tempfile.TemporaryFile() as spool:
        try:
            done = asyncio.run(
                copy_events(source_settings, target_settings, spool, on_conflict=on_conflict)
            )
        except EventsAPIError as exc:
            raise click.ClickException(str(exc)) from None
    described = f"{storage.describe(source)} to {storage.describe(target)}"
    if done.target_was_empty and done.target != done.source:
        raise click.ClickException(
            f"The copy from {described} does not match: {done.source.events} events "
            f"(sha256 {done.source.sha256[:16]}) read, {done.target.events} events "
            f"(sha256 {done.target.sha256[:16]}) in the target."
        )
    summary = f"Copied {done.verified} events from {described}"
    if done.skipped:
        summary += f" ({done.skipped} already there, kept)"
    if done.target_was_empty:
        summary += (
            f"; verified: {done.target.events} events and sha256 "
            f"{done.target.sha256[:16]}... on both sides."
        )
    else:
        summary += f"; verified event by event; the target now holds {done.target.events}."
    click.echo(summary)
