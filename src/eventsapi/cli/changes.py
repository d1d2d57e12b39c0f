"""``eventsapi changes``: the change log, read from the database, one JSON change a line.

For the operator: every change after a sync token (``--since``, as ``GET /events`` and
``GET /changes`` hand them out) or from the oldest change kept (``--from-start``), and with
``--follow`` the new ones as they are made (polling). Each line is the change as
``GET /changes`` shows it, with the acting user's id (``actor``) and the token to resume
from after it (``token``).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from pathlib import Path
from typing import Final

import click
import msgspec

from eventsapi.api.sync_tokens import decode_sync_token, encode_sync_token
from eventsapi.cli.options import config_option, database_option, resolve
from eventsapi.cli.stores import Store, opened_store
from eventsapi.domain.changes import ChangeRecord, ChangeType
from eventsapi.errors import EventsAPIError, SyncTokenExpired

BATCH: Final = 1000


class ChangeLine(msgspec.Struct, kw_only=True):
    """One line of ``eventsapi changes --format json``."""

    token: str
    type: ChangeType
    id: str
    version: int
    at: datetime
    actor: str | None
    event: msgspec.Raw | None


_encode = msgspec.json.Encoder().encode


def _line(record: ChangeRecord, key: bytes, form: str) -> str:
    token = encode_sync_token(key, record.position)
    if form == "text":
        columns = (record.at.isoformat(), f"{record.type:<13}", record.event_id)
        return "  ".join((*columns, f"v{record.version}", record.actor or "-", token))
    document = None if record.document is None else msgspec.Raw(record.document)
    return _encode(
        ChangeLine(
            token=token,
            type=record.type,
            id=record.event_id,
            version=record.version,
            at=record.at,
            actor=record.actor,
            event=document,
        )
    ).decode()


async def _start(store: Store, key: bytes, since: str | None) -> int:
    """The position to read after: the token's, checked against what the log keeps."""
    pruned_through, last = await store.change_horizon()
    if since is None:
        return pruned_through
    position = decode_sync_token(key, since)
    if position < pruned_through:
        raise SyncTokenExpired(
            "The changes after this sync token are no longer kept; use --from-start."
        )
    if position > last:
        raise SyncTokenExpired("This sync token is ahead of the change log.")
    return position


async def _print_changes(
    store: Store, since: str | None, *, follow: bool, interval: float, form: str
) -> None:
    key = await store.instance_key()
    position = await _start(store, key, since)
    while True:
        records = await store.changes_after(position, BATCH)
        for record in records:
            click.echo(_line(record, key, form))
        if records:
            position = records[-1].position
        # A follower slower than pruning would skip what was pruned: say so instead.
        pruned_through, _ = await store.change_horizon()
        if position < pruned_through:
            raise SyncTokenExpired("Changes were pruned before they were read; start again.")
        if len(records) == BATCH:
            continue
        if not follow:
            return
        await asyncio.sleep(interval)


@click.command("changes")
@click.option("--since", metavar="TOKEN", help="Print the changes after this sync token.")
@click.option("--from-start", is_flag=True, help="Print every change the log keeps, oldest first.")
@click.option("--follow", "-f", is_flag=True, help="Then wait for new changes and print them.")
@click.option(
    "--interval",
    type=click.FloatRange(0.05, 3600),
    default=1.0,
    show_default=True,
    help="With --follow: seconds between looks at the log.",
)
@click.option(
    "--format",
    "form",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="json: one change a line, as GET /changes shows it, with `actor` and `token`.",
)
@database_option
@config_option
def changes_command(
    since: str | None,
    from_start: bool,
    follow: bool,
    interval: float,
    form: str,
    database: str | None,
    config: Path | None,
) -> None:
    """Print the change log: what changed to events, oldest first.

    Each change carries the sync token to resume after it (`--since TOKEN`). Ctrl+C ends
    --follow.
    """
    if (since is None) == (not from_start):
        raise click.UsageError("Give one of --since TOKEN and --from-start.")
    settings = resolve(config, database=database)

    async def run() -> None:
        async with opened_store(settings) as store:
            await _print_changes(store, since, follow=follow, interval=interval, form=form)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run())
    except EventsAPIError as exc:
        raise click.ClickException(str(exc)) from None
