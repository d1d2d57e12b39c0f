"""``eventsapi db migrate`` and ``eventsapi db status``, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from eventsapi.cli import main
from eventsapi.storage.migrations import scripts
from tests.support import postgres_schema

APPLIED = re.compile(r"^(\d{4})  (\S+) +(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)$")
PENDING = re.compile(r"^(\d{4})  (\S+) +pending$")


def test_status_of_a_new_database_lists_every_migration_as_pending(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(main, ["db", "status", "--database", str(tmp_path / "new.db")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    known = scripts("sqlite")
    assert len(lines) == len(known) >= 1
    for line, script in zip(lines, known, strict=True):
        match = PENDING.match(line)
        assert match, line
        assert (int(match[1]), match[2]) == (script.version, script.name)


def test_migrate_applies_every_migration_once(runner: CliRunner, tmp_path: Path) -> None:
    database = tmp_path / "events.db"
    latest = max(script.version for script in scripts("sqlite"))
    result = runner.invoke(main, ["db", "migrate", "--database", str(database)])
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"SQLite file {database.resolve()}: schema at version {latest}, nothing pending.\n"
    )
    status = runner.invoke(main, ["db", "status", "--database", str(database)])
    assert status.exit_code == 0, status.output
    first = status.output.splitlines()
    assert all(APPLIED.match(line) for line in first), status.output
    assert len(first) == len(scripts("sqlite"))

    again = runner.invoke(main, ["db", "migrate", "--database", str(database)])
    assert again.exit_code == 0, again.output
    assert again.output == result.output
    status_again = runner.invoke(main, ["db", "status", "--database", str(database)])
    assert status_again.output.splitlines() == first  # same applied_at: not applied twice
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert [row[0] for row in rows] == [script.version for script in scripts("sqlite")]
    assert {"events", "meta", "schema_migrations"} <= tables


def test_database_from_environment_and_default_file(runner: CliRunner, tmp_path: Path) -> None:
    from_env = tmp_path / "env.db"
    result = runner.invoke(main, ["db", "migrate"], env={"EVENTSAPI_DATABASE": str(from_env)})
    assert result.exit_code == 0, result.output
    assert from_env.exists()
    # With no setting, the database is ./eventsapi.db (the runner works in tmp_path).
    default = runner.invoke(main, ["db", "migrate"])
    assert default.exit_code == 0, default.output
    assert (tmp_path / "eventsapi.db").exists()
    assert str((tmp_path / "eventsapi.db").resolve()) in default.output


def test_database_folder_that_does_not_exist(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "events.db"
    for command in ("migrate", "status"):
        result = runner.invoke(main, ["db", command, "--database", str(missing)])
        assert result.exit_code == 1, result.output
        assert result.output == f"Error: The folder for the database does not exist: {missing}\n"
    assert not missing.parent.exists()


def test_unknown_database_url_scheme(runner: CliRunner) -> None:
    result = runner.invoke(main, ["db", "migrate", "--database", "mysql://db/events"])
    assert result.exit_code == 1, result.output
    assert result.output == "Error: Unknown database URL scheme: 'mysql'\n"


def test_migrate_and_status_on_postgres(runner: CliRunner) -> None:
    known = scripts("postgres")
    with postgres_schema() as url:
        pending = runner.invoke(main, ["db", "status", "--database", url])
        assert pending.exit_code == 0, pending.output
        assert [PENDING.match(line) is not None for line in pending.output.splitlines()] == [
            True
        ] * len(known)

        result = runner.invoke(main, ["db", "migrate"], env={"EVENTSAPI_DATABASE": url})
        assert result.exit_code == 0, result.output
        assert result.output == (
            f"PostgreSQL database test on 127.0.0.1:5432 as postgres: schema at version "
            f"{known[-1].version}, nothing pending.\n"
        )
        status = runner.invoke(main, ["db", "status", "--database", url])
        assert status.exit_code == 0, status.output
        first = status.output.splitlines()
        matches = [APPLIED.match(line) for line in first]
        assert [(int(m[1]), m[2]) for m in matches if m] == [(s.version, s.name) for s in known]

        again = runner.invoke(main, ["db", "migrate", "--database", url])
        assert again.output == result.output
        status_again = runner.invoke(main, ["db", "status", "--database", url])
        assert status_again.output.splitlines() == first  # same applied_at: not applied twice


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_unreachable_postgres_is_one_clear_error(runner: CliRunner, scheme: str) -> None:
    # Port 1: nothing listens there, so the connection is refused at once.
    url = f"{scheme}://postgres@127.0.0.1:1/test"
    for command in ("migrate", "status"):
        result = runner.invoke(main, ["db", command, "--database", url])
        assert result.exit_code == 1, result.output
        assert result.output.startswith(
            "Error: Cannot connect to the PostgreSQL database test on 127.0.0.1:1 as postgres: "
        ), result.output
        assert len(result.output.splitlines()) == 1
