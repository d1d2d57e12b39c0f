"""``eventsapi db``: schema migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from eventsapi import storage
from eventsapi.cli.copy import copy_command
from eventsapi.cli.options import (
    config_option,
    database_option,
    format_option,
    print_json,
    resolve,
)
from eventsapi.errors import EventsAPIError
from eventsapi.settings import Settings
from eventsapi.storage.migrations import Migration


@click.group()
def db() -> None:
    """Manage the database: schema migrations, and copying events between databases."""


def _migrations(settings: Settings, *, migrate: bool) -> list[Migration]:
    async def run() -> list[Migration]:
        store = storage.load(settings.database, settings)
        await store.open(migrate=migrate)
        try:
            return await store.migrations()
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except EventsAPIError as exc:
        raise click.ClickException(str(exc)) from None


@db.command()
@database_option
@config_option
def migrate(database: str | None, config: Path | None) -> None:
    """Apply pending schema migrations (serve also does this at start)."""
    settings = resolve(config, database=database)
    applied = _migrations(settings, migrate=True)
    click.echo(
        f"{storage.describe(settings.database)}: schema at version "
        f"{max((m.version for m in applied), default=0)}, nothing pending."
    )


@db.command()
@format_option
@database_option
@config_option
def status(output: str, database: str | None, config: Path | None) -> None:
    """List the schema migrations and when each was applied.

    With --format json: an array of {version, name, applied_at}; applied_at is null
    while a migration is pending."""
    settings = resolve(config, database=database)
    migrations = _migrations(settings, migrate=False)
    if output == "json":
        print_json(migrations)
        return
    width = max((len(migration.name) for migration in migrations), default=0)
    for migration in migrations:
        when = migration.applied_at or "pending"
        click.echo(f"{migration.version:04d}  {migration.name:<{width}}  {when}")


db.add_command(copy_command)
