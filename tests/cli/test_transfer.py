"""``eventsapi export`` and ``eventsapi import``, end to end through the command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner, Result
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.cli import main
from eventsapi.cli import transfer as transfer_cli
from eventsapi.domain.events import Event
from eventsapi.domain.transfer import to_ndjson
from eventsapi.settings import Settings
from eventsapi.storage.sqlite import SQLiteStore

ULID_LIKE = r"^[0-9A-HJKMNP-TV-Z]{26}$"

DB_JSON = {
    "events": [
        {"id": 1, "title": "json-server", "description": "A full fake REST API"},
        {"id": 2, "title": "Second", "tags": ["demo"]},
        {"title": "No id"},
    ],
    "comments": [{"id": 1, "body": "some comment", "postId": 1}],
    "profile": {"name": "typicode"},
}
TUTORIAL = [
    {
        "ID": "1",
        "Title": "Introduction to Golang",
        "Description": "Come join us for a chance to learn how golang works and get to "
        "eventually try it out",
    },
    {"ID": "2", "Title": "Understanding API", "Description": "How two programs talk"},
]


def run(runner: CliRunner, *args: str, stdin: bytes | None = None) -> Result:
    return runner.invoke(main, list(args), input=stdin)


def stored(database: Path) -> list[Event]:
    """Every event in the database, oldest first, read through the store."""

    async def read() -> list[Event]:
        store = SQLiteStore(database)
        await store.open()
        try:
            events: list[Event] = []
            async for batch in store.export_documents():
                events += [msgspec.json.decode(document, type=Event) for document in batch]
            return events
        finally:
            await store.close()

    return asyncio.run(read())


def write(path: Path, content: Any) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return path


def ndjson(*rows: Any) -> bytes:
    return b"".join(
        (row if isinstance(row, bytes) else json.dumps(row).encode()) + b"\n" for row in rows
    )


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
def populated(runner: CliRunner, tmp_path: Path) -> Path:
    """A database made through the API: every member set, events changed and deleted."""
    path = tmp_path / "source.db"
    with TestClient(create_app(Settings(database=str(path)))) as client:
        for body in (
            {"id": "a", "title": "First", "tags": ["x", "y"], "capacity": 10},
            {
                "id": "b",
                "title": "Berlin",
                "description": "Line one\nline two \u2028 and \u00e9\u00e8 \U0001f600",
                "starts_at": "2025-07-01T18:00:00+02:00",
                "ends_at": "2025-07-01T20:30:00.250+02:00",
                "timezone": "Europe/Berlin",
                "location": "Main hall",
                "status": "cancelled",
            },
            {"title": "Made with a new id"},
            {"id": "gone", "title": "Deleted"},
        ):
            assert client.post("/events", json=body).status_code == 201
        changed = client.patch("/events/a", json={"title": "First, changed"})
        assert changed.status_code == 200
        assert client.delete("/events/gone").status_code == 204
    return path


def test_import_a_json_server_db(runner: CliRunner, tmp_path: Path, database: Path) -> None:
    source = write(tmp_path / "db.json", DB_JSON)

    result = run(runner, "import", str(source), "--database", str(database))

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Imported 3, replaced 0, skipped 0, invalid 0 (3 rows of a json-server db.json) "
        f"into SQLite file {database.resolve()}.\n"
    )
    assert result.stderr == (
        "Note: ignored the db.json's other members: comments, profile (only events are read).\n"
    )
    with TestClient(create_app(Settings(database=str(database)))) as client:
        listed = client.get("/events").json()
        assert [e["id"] for e in listed[:2]] == ["1", "2"]
        assert listed[0]["title"] == "json-server"
        assert listed[0]["description"] == "A full fake REST API"
        assert listed[1]["tags"] == ["demo"]
        assert listed[2]["title"] == "No id"
        assert listed[2]["id"] not in ("1", "2", "")
        one = client.get("/events/1").json()
        assert one["version"] == 1
        assert one["created_at"] == one["updated_at"]


def test_import_the_go_tutorials_json(runner: CliRunner, tmp_path: Path, database: Path) -> None:
    source = write(tmp_path / "events.json", TUTORIAL)

    result = run(runner, "import", str(source), "--database", str(database))

    assert result.exit_code == 0, result.output
    assert "(2 rows of the Go tutorial's JSON)" in result.stdout
    events = stored(database)
    assert [(e.id, e.title, e.description) for e in events] == [
        (row["ID"], row["Title"], row["Description"]) for row in TUTORIAL
    ]
    assert all(e.version == 1 for e in events)


def test_export_is_what_get_returns_but_the_counts_and_round_trips_byte_for_byte(
    runner: CliRunner, tmp_path: Path, populated: Path
) -> None:
    exported = run(runner, "export", "--database", str(populated))
    assert exported.exit_code == 0, exported.output
    assert (
        exported.stderr
        == f"Exported 3 events from SQLite file {populated.resolve()} to standard output.\n"
    )
    lines = exported.stdout_bytes.splitlines(keepends=True)
    assert len(lines) == 3
    with TestClient(create_app(Settings(database=str(populated)))) as client:
        for line in lines:
            event_id = json.loads(line)["id"]
            shown = client.get(f"/events/{event_id}").content
            # GET's document, byte for byte, but for the registrations' counts it ends with
            document = line.removesuffix(b"\n")
            assert shown.startswith(document[:-1] + b',"registered":')
            assert list(json.loads(shown))[-3:] == ["registered", "waitlisted", "spots_left"]
            assert shown.count(b",") == document.count(b",") + 3
    assert json.loads(lines[0])["version"] == 2

    dump = write(tmp_path / "dump.ndjson", exported.stdout_bytes)
    fresh = tmp_path / "fresh.db"
    imported = run(runner, "import", str(dump), "--database", str(fresh))
    assert imported.exit_code == 0, imported.output
    assert imported.stdout.startswith(
        "Imported 3, replaced 0, skipped 0, invalid 0 (3 rows of NDJSON)"
    )
    again = run(
        runner, "export", "--database", str(fresh), "--output", str(tmp_path / "again.ndjson")
    )
    assert again.exit_code == 0, again.output
    assert (tmp_path / "again.ndjson").read_bytes() == exported.stdout_bytes
    assert stored(fresh) == stored(populated)


def test_stdin_and_stdout(runner: CliRunner, tmp_path: Path, populated: Path) -> None:
    exported = run(runner, "export", "--database", str(populated), "-o", "-")
    assert exported.exit_code == 0, exported.output
    fresh = tmp_path / "fresh.db"

    imported = run(runner, "import", "-", "--database", str(fresh), stdin=exported.stdout_bytes)

    assert imported.exit_code == 0, imported.output
    assert "Imported 3," in imported.stdout
    assert run(runner, "export", "--database", str(fresh)).stdout_bytes == exported.stdout_bytes
    tutorial = run(
        runner,
        "import",
        "-",
        "--database",
        str(tmp_path / "t.db"),
        stdin=json.dumps(TUTORIAL).encode(),
    )
    assert tutorial.exit_code == 0, tutorial.output
    assert "(2 rows of the Go tutorial's JSON)" in tutorial.stdout


def test_export_of_an_empty_database(runner: CliRunner, database: Path) -> None:
    result = run(runner, "export", "--database", str(database))

    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == b""
    assert "Exported 0 events" in result.stderr


def test_export_reads_in_batches(
    runner: CliRunner, tmp_path: Path, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{"id": f"e{n}", "title": f"Event {n}"} for n in range(7)]
    assert (
        run(
            runner, "import", str(write(tmp_path / "in.json", rows)), "--database", str(database)
        ).exit_code
        == 0
    )
    sizes: list[int] = []

    def counting(documents: list[bytes]) -> bytes:
        sizes.append(len(documents))
        return to_ndjson(documents)

    monkeypatch.setattr(transfer_cli, "EXPORT_BATCH", 3)
    monkeypatch.setattr(transfer_cli, "to_ndjson", counting)

    result = run(runner, "export", "--database", str(database))

    assert result.exit_code == 0, result.output
    assert sizes == [3, 3, 1]
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [
        r["id"] for r in rows
    ]


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(
    runner: CliRunner, tmp_path: Path, database: Path
) -> None:
    source = write(
        tmp_path / "in.ndjson",
        ndjson(
            {"id": "ok1", "title": "Fine"},
            {"id": "bad", "title": "", "tags": ["x", "x"]},
            b"",
            b'{"title": "broken"',
            {"id": "ok1", "title": "Again"},
            {"id": "ok2", "title": "Fine", "version": 2},
            {"id": "ok3", "title": "Fine too"},
        ),
    )

    result = run(runner, "import", str(source), "--database", str(database))

    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    report = result.stderr.splitlines()
    assert report[0] == (
        "line 2: title: Expected `str` of length >= 1; tags: must not repeat a tag"
    )
    assert report[1].startswith("line 4: not valid JSON: ")
    assert report[2] == "line 5: id: 'ok1' is the id of line 1 already"
    assert report[3].startswith("line 6: created_at: required with the other server fields")
    assert "; updated_at: required with the other server fields" in report[3]
    assert len(report) == 5
    assert report[-1] == (
        "Error: Nothing imported: 4 of 6 rows of NDJSON are invalid; "
        "--skip-invalid imports the other 2 rows."
    )
    assert stored(database) == []


def test_bad_elements_of_an_array_are_reported_by_element(
    runner: CliRunner, tmp_path: Path, database: Path
) -> None:
    source = write(tmp_path / "in.json", [{"title": "Fine"}, {"Title": "x" * 201}, 7])

    result = run(runner, "import", str(source), "--database", str(database))

    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        "element 2: Title: must be 1-200 characters after trimming white space, without "
        "control characters (but tab and line breaks)",
        "element 3: expected a JSON object, got a number",
        "Error: Nothing imported: 2 of 3 rows of a JSON array are invalid; "
        "--skip-invalid imports the other 1 row.",
    ]
    assert stored(database) == []


def test_skip_invalid_imports_the_good_rows(
    runner: CliRunner, tmp_path: Path, database: Path
) -> None:
    source = write(
        tmp_path / "in.ndjson",
        ndjson({"id": "a", "title": "A"}, {"id": "b"}, {"id": "c", "title": "C"}),
    )

    result = run(runner, "import", str(source), "--skip-invalid", "--database", str(database))

    assert result.exit_code == 0, result.output
    assert result.stderr == "line 2: title: required\n"
    assert result.stdout.startswith(
        "Imported 2, replaced 0, skipped 0, invalid 1 (3 rows of NDJSON)"
    )
    assert [e.id for e in stored(database)] == ["a", "c"]


@pytest.fixture
def existing(runner: CliRunner, tmp_path: Path, database: Path) -> Path:
    """``database`` with events a and b, and a file that has b (changed) and c."""
    first = write(
        tmp_path / "first.ndjson", ndjson({"id": "a", "title": "A"}, {"id": "b", "title": "B"})
    )
    assert run(runner, "import", str(first), "--database", str(database)).exit_code == 0
    return write(
        tmp_path / "second.ndjson",
        ndjson({"id": "b", "title": "B, imported"}, {"id": "c", "title": "C"}),
    )


def test_an_id_the_database_has_is_an_error_by_default(
    runner: CliRunner, existing: Path, database: Path
) -> None:
    result = run(runner, "import", str(existing), "--database", str(database))

    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        "line 1: id: an event with id 'b' exists already",
        "Error: Nothing imported: 1 of 2 rows of NDJSON is invalid (1 with an id the database "
        "has already: see --on-conflict); --skip-invalid imports the other 1 row.",
    ]
    assert [(e.id, e.title) for e in stored(database)] == [("a", "A"), ("b", "B")]


def test_conflicts_with_skip_invalid_are_reported_and_left_out(
    runner: CliRunner, existing: Path, database: Path
) -> None:
    result = run(runner, "import", str(existing), "--skip-invalid", "--database", str(database))

    assert result.exit_code == 0, result.output
    assert result.stderr == "line 1: id: an event with id 'b' exists already\n"
    assert result.stdout.startswith("Imported 1, replaced 0, skipped 0, invalid 1 ")
    assert [(e.id, e.title) for e in stored(database)] == [("a", "A"), ("b", "B"), ("c", "C")]


def test_on_conflict_skip(runner: CliRunner, existing: Path, database: Path) -> None:
    result = run(
        runner, "import", str(existing), "--on-conflict", "skip", "--database", str(database)
    )

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.startswith("Imported 1, replaced 0, skipped 1, invalid 0 ")
    assert [(e.id, e.title) for e in stored(database)] == [("a", "A"), ("b", "B"), ("c", "C")]


def test_on_conflict_replace(runner: CliRunner, existing: Path, database: Path) -> None:
    result = run(
        runner, "import", str(existing), "--on-conflict", "replace", "--database", str(database)
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Imported 1, replaced 1, skipped 0, invalid 0 ")
    events = stored(database)
    assert [(e.id, e.title) for e in events] == [("a", "A"), ("b", "B, imported"), ("c", "C")]


def test_dry_run_stores_nothing(runner: CliRunner, existing: Path, database: Path) -> None:
    result = run(
        runner,
        "import",
        str(existing),
        "--dry-run",
        "--on-conflict",
        "replace",
        "--database",
        str(database),
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Dry run, nothing stored: it would have imported 1, replaced 1, skipped 0, invalid 0 "
        "(2 rows of NDJSON).\n"
    )
    failing = run(runner, "import", str(existing), "--dry-run", "--database", str(database))
    assert failing.exit_code == 1
    assert failing.stderr.splitlines()[-1].startswith("Error: Dry run: the import would fail: ")
    assert [(e.id, e.title) for e in stored(database)] == [("a", "A"), ("b", "B")]


def test_max_errors_limits_the_report_not_the_count(
    runner: CliRunner, tmp_path: Path, database: Path
) -> None:
    source = write(tmp_path / "in.ndjson", ndjson(*({"id": f"e{n}"} for n in range(5))))

    result = run(runner, "import", str(source), "--max-errors", "2", "--database", str(database))

    assert result.exit_code == 1
    assert result.stderr.splitlines()[:3] == [
        "line 1: title: required",
        "line 2: title: required",
        "... and 3 more invalid rows (see --max-errors)",
    ]
    assert "5 of 5 rows of NDJSON are invalid." in result.stderr
    every = run(runner, "import", str(source), "--max-errors", "0", "--database", str(database))
    assert len(every.stderr.splitlines()) == 6


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (b"id,title\n1,A\n", [], "Cannot tell the format: the input starts with neither"),
        (
            b'{"posts": []}',
            ["--format", "json-server"],
            'Not a json-server db.json: it has no "events" member (its members: posts).',
        ),
        (b'{\n"title": "A"\n}\n', [], 'Not a json-server db.json: it has no "events" member'),
        (b'[{"title": "A"}', [], "Not a JSON array"),
    ],
)
def test_an_input_that_cannot_be_read_is_one_error(
    runner: CliRunner,
    tmp_path: Path,
    database: Path,
    content: bytes,
    options: list[str],
    message: str,
) -> None:
    source = write(tmp_path / "in.txt", content)

    result = run(runner, "import", str(source), *options, "--database", str(database))

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Error: {message}")
    assert len(result.stderr.splitlines()) == 1


def test_format_can_be_forced(runner: CliRunner, tmp_path: Path, database: Path) -> None:
    # A one-line db.json would be read as a db.json; forced, it is one NDJSON row.
    source = write(tmp_path / "in.ndjson", b'{"events": [], "title": "x"}\n')

    result = run(runner, "import", str(source), "--format", "ndjson", "--database", str(database))

    assert result.exit_code == 1
    assert "line 1: events: unknown field" in result.stderr


def test_an_empty_input_imports_nothing(runner: CliRunner, tmp_path: Path, database: Path) -> None:
    result = run(runner, "import", str(write(tmp_path / "empty", b"")), "--database", str(database))

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Imported 0, replaced 0, skipped 0, invalid 0 (0 rows of NDJSON)"
    )


def test_a_missing_input_file_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "import", str(tmp_path / "missing.ndjson"))

    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_export_to_a_folder_that_does_not_exist(
    runner: CliRunner, tmp_path: Path, database: Path
) -> None:
    target = tmp_path / "no-such-folder" / "out.ndjson"

    result = run(runner, "export", "--database", str(database), "--output", str(target))

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: Cannot write {target}: ")


def test_a_failed_export_leaves_the_output_file_alone(runner: CliRunner, tmp_path: Path) -> None:
    target = write(tmp_path / "out.ndjson", b"previous\n")
    missing = tmp_path / "no-such-folder" / "events.db"

    result = run(runner, "export", "--database", str(missing), "--output", str(target))

    assert result.exit_code == 1
    assert result.stderr == f"Error: The folder for the database does not exist: {missing}\n"
    assert target.read_bytes() == b"previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.ndjson"]


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_is_shown_only_on_a_terminal(
    runner: CliRunner,
    tmp_path: Path,
    database: Path,
    monkeypatch: pytest.MonkeyPatch,
    terminal: bool,
) -> None:
    monkeypatch.setattr(transfer_cli, "_stderr_is_terminal", lambda: terminal)
    source = write(tmp_path / "in.json", TUTORIAL)

    imported = run(runner, "import", str(source), "--database", str(database))
    exported = run(runner, "export", "--database", str(database), "-o", str(tmp_path / "out"))

    assert imported.exit_code == exported.exit_code == 0
    assert ("Importing" in imported.stderr) is terminal
    assert ("Exporting" in exported.stderr) is terminal
