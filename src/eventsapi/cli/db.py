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
from eventsapi.storage.sqlite import SQLiteStore
from eventsapi.storage.sqlite.backup import BackupError, DatabaseInUse, backup, restore


@click.group()
def db() -> None:
    """Manage the database: schema migrations, backups, and copying events between databases."""


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


def _sqlite_path(settings: Settings, command: str) -> Path:
    """The SQLite file of ``settings``, or a usage error naming the tool for PostgreSQL."""
    store = storage.load(settings.database, settings)
    if isinstance(store, SQLiteStore):
        return store.path
    if store.name == "postgres":
        tool = "pg_dump" if command == "backup" else "pg_restore (or psql for a plain dump)"
        raise click.UsageError(
            f"db {command} works on a SQLite database; for PostgreSQL use {tool} "
            "(see docs/backups.md)."
        )
    raise click.UsageError(f"db {command} works on a SQLite database, not on {settings.database}.")


@db.command(name="backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@format_option
@database_option
@config_option
def backup_command(
    file: Path, force: bool, output: str, database: str | None, config: Path | None
) -> None:
    """Back up the SQLite database to FILE while the service runs and writes.

    The backup is one consistent snapshot (SQLite's backup API) holding every write
    committed before it began, with accounts, sessions, tokens, webhooks, SLI history and
    idempotency keys. It is checked with PRAGMA integrity_check and renamed to FILE only
    once whole. An existing FILE is replaced only with --force. PostgreSQL: use pg_dump.

    With --format json: {database, backup, bytes, schema_version, integrity, seconds}."""
    settings = resolve(config, database=database)
    path = _sqlite_path(settings, "backup")
    try:
        result = backup(path, file, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"Cannot back up to {file}: {exc}") from None
    if output == "json":
        print_json(result)
        return
    click.echo(
        f"Backed up {path.resolve()} to {file} ({result.bytes} bytes, schema version "
        f"{result.schema_version}, integrity ok) in {result.seconds:.3f} s."
    )


@db.command(name="restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@format_option
@database_option
@config_option
def restore_command(file: Path, output: str, database: str | None, config: Path | None) -> None:
    """Replace the SQLite database with the backup FILE; the service must be stopped.

    FILE must pass PRAGMA integrity_check and be an eventsapi database; a backup made by
    an older version is migrated. The database is replaced in one rename, its stale -wal
    and -shm files removed; while a server has it open, nothing is changed (exit status 3).
    PostgreSQL: use pg_restore.

    With --format json: {database, backup, schema_version, migrated, replaced}."""
    settings = resolve(config, database=database)
    path = _sqlite_path(settings, "restore")
    try:
        result = restore(file, path)
    except DatabaseInUse as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(3) from None
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"Cannot restore {path} from {file}: {exc}") from None
    if output == "json":
        print_json(result)
        return
    migrated = (
        f", then applied migrations {', '.join(f'{v:04d}' for v in result.migrated)}"
        if result.migrated
        else ""
    )
    click.echo(
        f"Restored {path.resolve()} from {file}{migrated}; schema version {result.schema_version}."
    )


db.add_command(copy_command)
