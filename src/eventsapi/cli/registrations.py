"""``eventsapi registrations export``: an event's registrations for its organiser, as CSV
(for a spreadsheet) or JSON (for scripts).

As ``eventsapi users``, the command reads the store directly and needs no account: whoever
runs it on the machine has the database already. Registrations come in the order people
joined; cancelled ones only with ``--all`` (an organiser's list is of who comes). The file
is ``registrations_export.py``'s, which the owner's page in the web UI writes too (its
formula-injection quoting is said there).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import IO

import click

from eventsapi.cli.options import config_option, database_option, resolve
from eventsapi.cli.stores import opened_store
from eventsapi.errors import EventsAPIError, NotFound
from eventsapi.registrations_export import Export, export


def _output(path: Path | None) -> contextlib.AbstractContextManager[IO[bytes]]:
    """stdout, or ``path`` written to a file beside it and renamed at the end: never half
    a list under the name given, and the file as it was if the export fails."""
    opened: contextlib.AbstractContextManager[IO[bytes]]
    opened = click.open_file("-" if path is None else str(path), "wb", atomic=path is not None)
    return opened


@click.group("registrations")
def registrations_group() -> None:
    """An event's registrations, for its organiser."""


@registrations_group.command("export")
@click.argument("event_id", metavar="EVENT")
@click.option(
    "--format",
    "form",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="csv: a header row, then one registration a row (for spreadsheets); json: an array.",
)
@click.option(
    "--all",
    "everyone",
    is_flag=True,
    help="Also the cancelled registrations (by default: the confirmed and the waitlisted).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write to this file (replaced whole, or left as it was on failure), not stdout.",
)
@database_option
@config_option
def export_registrations(
    event_id: str,
    form: str,
    everyone: bool,
    output: Path | None,
    database: str | None,
    config: Path | None,
) -> None:
    """Export the registrations of EVENT (its id), in the order people joined.

    Columns (CSV) and members (JSON): id, status (confirmed, waitlisted, cancelled),
    position (on the waitlist, else empty), name, email, created_at, updated_at. In the
    CSV, a name or e-mail address that a spreadsheet would take for a formula starts
    with ' (the JSON has them as they are).
    """
    settings = resolve(config, database=database)

    async def run() -> None:
        async with opened_store(settings) as store:
            if await store.get(event_id) is None:
                raise NotFound(
                    f"No event with id {event_id!r} (an event in the trash must be restored "
                    "before its registrations are exported)."
                )
            with _output(output) as out:
                await export(store, event_id, Export(out, form), everyone=everyone)

    try:
        asyncio.run(run())
    except EventsAPIError as exc:
        raise click.ClickException(str(exc)) from None
