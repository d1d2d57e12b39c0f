"""``eventsapi db copy``: SQLite to PostgreSQL and back, verified by counts and checksums."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from eventsapi.cli import main
from tests.support import postgres_schema

EVENTS = [
    {"id": "a", "title": "Go meetup", "tags": ["go"], "starts_at": "2030-01-01T18:00:00+01:00"},
    {"id": "b", "title": "Café talk", "description": "Accents survive: é ü ß"},
    {"id": "c", "title": "Rust night", "capacity": 40, "status": "cancelled"},
]


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


@pytest.fixture
def source(runner: CliRunner, tmp_path: Path) -> str:
    database = str(tmp_path / "source.db")
    data = tmp_path / "events.json"
    data.write_text(json.dumps(EVENTS))
    assert run(runner, "import", str(data), "--database", database).exit_code == 0
    return database


def export(runner: CliRunner, database: str) -> str:
    result = run(runner, "export", "--database", database)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_sqlite_to_postgres_and_back_is_lossless(
    runner: CliRunner, source: str, postgres_url: str, tmp_path: Path
) -> None:
    back = str(tmp_path / "back.db")

    there = run(runner, "db", "copy", "--from", source, "--to", postgres_url)
    again = run(runner, "db", "copy", "--from", postgres_url, "--to", back)

    assert there.exit_code == 0, there.output
    assert "Copied 3 events" in there.stdout
    assert "verified: 3 events and sha256" in there.stdout
    assert again.exit_code == 0, again.output
    original = export(runner, source)
    assert export(runner, postgres_url) == original
    assert export(runner, back) == original


def test_a_copy_onto_existing_ids_copies_nothing_unless_told(
    runner: CliRunner, source: str, tmp_path: Path
) -> None:
    target = str(tmp_path / "target.db")
    assert run(runner, "db", "copy", "--from", source, "--to", target).exit_code == 0

    refused = run(runner, "db", "copy", "--from", source, "--to", target)
    skipped = run(runner, "db", "copy", "--from", source, "--to", target, "--on-conflict", "skip")

    assert refused.exit_code == 1
    assert "3 of the events are already in the target" in refused.output
    assert skipped.exit_code == 0
    assert "3 already there, kept" in skipped.stdout
    assert export(runner, target) == export(runner, source)


def test_copying_into_a_database_with_other_events_verifies_event_by_event(
    runner: CliRunner, source: str, tmp_path: Path
) -> None:
    target = str(tmp_path / "target.db")
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"id": "z", "title": "Already there"}]))
    assert run(runner, "import", str(other), "--database", target).exit_code == 0

    result = run(runner, "db", "copy", "--from", source, "--to", target)

    assert result.exit_code == 0, result.output
    assert "verified event by event; the target now holds 4" in result.stdout


def test_the_same_database_twice_is_a_usage_error(runner: CliRunner, source: str) -> None:
    result = run(runner, "db", "copy", "--from", source, "--to", source)

    assert result.exit_code == 2
    assert "the same database" in result.output
