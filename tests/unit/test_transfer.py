"""``domain/transfer.py``: telling the formats apart, splitting rows, checking each row."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from eventsapi.domain.events import Event
from eventsapi.domain.transfer import (
    BOM,
    BadRow,
    Row,
    RowChecker,
    UnreadableInput,
    describe,
    detect_format,
    ndjson_rows,
    read_document,
    read_event,
    to_ndjson,
)
from eventsapi.errors import FieldError, ValidationFailed

NOW = datetime(2025, 6, 1, 12, 0, 0, 123000, tzinfo=UTC)
FULL = Event(
    id="full",
    title="Launch",
    description="All of it",
    starts_at=datetime(2025, 7, 1, 18, 0, tzinfo=timezone(timedelta(hours=2))),
    ends_at=datetime(2025, 7, 1, 20, 30, tzinfo=timezone(timedelta(hours=2))),
    timezone="Europe/Berlin",
    location="Main hall",
    tags=("a", "b"),
    capacity=80,
    status="cancelled",
    created_at=datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    updated_at=datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC),
    version=7,
)


def ids() -> itertools.count[int]:
    return itertools.count(1)


def read(document: object, *, counter: itertools.count[int] | None = None) -> Event:
    counter = counter or ids()
    return read_event(msgspec.json.encode(document), now=NOW, new_id=lambda: f"new{next(counter)}")


def errors_of(document: object | bytes) -> list[FieldError]:
    raw = document if isinstance(document, bytes) else msgspec.json.encode(document)
    with pytest.raises(ValidationFailed) as failed:
        read_event(raw, now=NOW, new_id=lambda: "new")
    return failed.value.errors


# -- detect_format -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'{"id":"1","title":"A"}\n', "ndjson"),
        (b'{"id":"1","title":"A"}', "ndjson"),
        (b'\n\n  {"title":"A"}\r\n', "ndjson"),
        (BOM + b'{"title":"A"}\n', "ndjson"),
        (b"", "ndjson"),
        (b"  \n", "ndjson"),
        (b'[{"ID":"1","Title":"A"}]', "json"),
        (b"[\n", "json"),
        (b'{"events":[{"id":1,"title":"A"}],"comments":[]}\n', "json-server"),
        (b"{\n", "json-server"),
        (b'{\n  "events": [\n', "json-server"),
    ],
)
def test_detect_format(head: bytes, expected: str) -> None:
    assert detect_format(head) == expected


@pytest.mark.parametrize("head", [b"title,description\n", b'"a string"', b"42\n"])
def test_detect_format_refuses_what_is_neither_object_nor_array(head: bytes) -> None:
    with pytest.raises(UnreadableInput, match="neither '\\{' nor '\\['"):
        detect_format(head)


# -- splitting into rows -------------------------------------------------------------------


def test_ndjson_rows_are_numbered_by_line_and_skip_blank_lines() -> None:
    lines = [BOM + b'{"title":"A"}\n', b"\n", b"   \r\n", b'{"title":"B"}\r\n', b"oops"]

    rows = list(ndjson_rows(lines))

    assert rows == [Row(1, b'{"title":"A"}\n'), Row(4, b'{"title":"B"}\r\n'), Row(5, b"oops")]


def test_a_json_array_is_split_into_elements_numbered_from_one() -> None:
    document = read_document(b'[{"title":"A"}, {"title": "B", "tags": ["x"]}, 3]', "json")

    assert document.format == "json"
    assert document.notes == []
    assert document.rows == [
        Row(1, b'{"title":"A"}'),
        Row(2, b'{"title": "B", "tags": ["x"]}'),
        Row(3, b"3"),
    ]


def test_an_array_in_the_tutorials_shape_is_reported_as_such() -> None:
    data = BOM + b'[{"ID":"1","Title":"Introduction to Golang","Description":"Come"}]'

    document = read_document(data, "json")

    assert document.format == "tutorial"
    assert len(document.rows) == 1
    assert read_document(b'[{"id":"1","title":"A"}]', "json").format == "json"
    assert read_document(b"[]", "json").format == "json"


def test_a_json_server_db_reads_its_events_and_notes_the_other_members() -> None:
    data = b"""{
      "posts": [{"id": 1, "title": "json-server"}],
      "events": [{"id": 1, "title": "A"}, {"id": "two", "title": "B"}],
      "profile": {"name": "typicode"}
    }"""

    document = read_document(data, "json-server")

    assert document.format == "json-server"
    assert [row.number for row in document.rows] == [1, 2]
    assert msgspec.json.decode(document.rows[1].raw) == {"id": "two", "title": "B"}
    assert document.notes == [
        "ignored the db.json's other members: posts, profile (only events are read)."
    ]


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b'{"comments": []}', "json-server", 'no "events" member \\(its members: comments\\)'),
        (b'{"events": {"id": 1}}', "json-server", '"events" member is not an array'),
        (b'[{"events": []}]', "json-server", "Not a json-server db.json"),
        (b'{"events": [', "json-server", "Not a json-server db.json"),
        (b'{"title": "A"}', "json", "Not a JSON array"),
        (b'[{"title": "A"},', "tutorial", "Not a JSON array"),
    ],
)
def test_a_whole_document_that_is_not_the_format_is_unreadable(
    data: bytes, fmt: str, message: str
) -> None:
    with pytest.raises(UnreadableInput, match=message):
        read_document(data, fmt)  # type: ignore[arg-type]


# -- read_event ------------------------------------------------------------------------------


def test_an_input_becomes_version_one_created_now() -> None:
    event = read({"id": "a", "title": "  Launch  ", "tags": ["x"], "capacity": 80.0})

    assert event == Event(
        id="a",
        title="Launch",
        tags=("x",),
        capacity=80,
        created_at=NOW,
        updated_at=NOW,
        version=1,
    )


def test_an_input_without_an_id_gets_a_new_one() -> None:
    counter = ids()

    first = read({"title": "A"}, counter=counter)
    second = read({"Title": "B"}, counter=counter)

    assert (first.id, second.id) == ("new1", "new2")


def test_the_tutorials_keys_are_read() -> None:
    event = read({"ID": "1", "Title": "Introduction to Golang", "Description": "Come"})

    assert (event.id, event.title, event.description) == ("1", "Introduction to Golang", "Come")
    assert event.version == 1


@pytest.mark.parametrize("key", ["id", "ID"])
def test_integer_ids_are_read_as_text(key: str) -> None:
    title = "title" if key == "id" else "Title"
    assert read({key: 7, title: "A"}).id == "7"
    assert read({key: 0, title: "A"}).id == "0"


def test_a_boolean_id_is_not_an_integer() -> None:
    assert errors_of({"id": True, "title": "A"}) == [FieldError("id", "Expected `str`, got `bool`")]


def test_a_full_document_is_restored_as_it_is() -> None:
    raw = msgspec.json.encode(FULL)

    event = read_event(raw, now=NOW, new_id=lambda: "unused")

    assert event == FULL
    assert msgspec.json.encode(event) == raw
    assert event.starts_at is not None
    assert event.starts_at.utcoffset() == timedelta(hours=2)


def test_a_full_document_without_an_id_gets_a_new_one_and_keeps_its_times() -> None:
    document = msgspec.to_builtins(FULL)
    del document["id"]

    event = read(document)

    assert event == msgspec.structs.replace(FULL, id="new1")


def test_server_fields_come_together() -> None:
    errors = errors_of({"title": "A", "version": 2})

    assert [e.field for e in errors] == ["created_at", "updated_at"]
    assert all("come together" in e.message for e in errors)


@pytest.mark.parametrize(
    ("member", "value", "message"),
    [
        ("version", 0, "Expected `int` >= 1"),
        ("version", "2", "Expected `int`, got `str`"),
        ("version", None, "Expected `int`, got `null`"),
        ("created_at", "2025-01-02T03:04:05", "Expected `datetime` with a timezone component"),
        ("updated_at", "yesterday", "Invalid RFC3339 encoded datetime"),
        ("updated_at", 1717264800, "Expected `datetime`, got `int`"),
    ],
)
def test_bad_server_fields(member: str, value: object, message: str) -> None:
    document = msgspec.to_builtins(FULL)
    document[member] = value

    assert errors_of(document) == [FieldError(member, message)]


def test_every_broken_rule_of_a_row_is_reported() -> None:
    document = msgspec.to_builtins(FULL)
    document.update(title="", tags=["x", "x"], version=-1, color="red")

    fields = {error.field for error in errors_of(document)}

    assert fields == {"title", "tags", "version", "color"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"title": "A"', "not valid JSON: "),
        (b'["title"]', "expected a JSON object, got an array"),
        (b"3", "expected a JSON object, got a number"),
        (b"null", "expected a JSON object, got null"),
    ],
)
def test_a_row_that_is_not_an_object(raw: bytes, message: str) -> None:
    (error,) = errors_of(raw)

    assert error.field == ""
    assert error.message.startswith(message)


def test_the_domain_rules_apply() -> None:
    errors = errors_of(
        {
            "id": "..",
            "title": "A",
            "starts_at": "2025-01-02T10:00:00Z",
            "ends_at": "2025-01-02T09:00:00Z",
            "timezone": "Mars/Olympus",
        }
    )

    assert {e.field for e in errors} == {"id", "ends_at", "timezone"}


# -- RowChecker, describe, to_ndjson ---------------------------------------------------------


def test_the_checker_keeps_bad_rows_and_refuses_an_id_given_twice() -> None:
    checker = RowChecker(unit="line", now=NOW, new_id=lambda: "generated")
    rows = [
        Row(1, b'{"id": "a", "title": "A"}'),
        Row(2, b'{"title": ""}'),
        Row(4, b'{"id": "a", "title": "Again"}'),
        Row(5, b'{"title": "B"}'),
    ]

    events = [checker.check(row) for row in rows]

    assert [e.id if e else None for e in events] == ["a", None, None, "generated"]
    assert checker.rows == 4
    assert [bad.number for bad in checker.bad] == [2, 4]
    assert checker.bad[1].errors == (FieldError("id", "'a' is the id of line 1 already"),)
    assert checker.number_of("generated") == 5
    assert checker.taken(["generated"]) == [
        BadRow(5, (FieldError("id", "an event with id 'generated' exists already"),))
    ]


def test_describe_names_the_row_and_every_reason() -> None:
    bad = BadRow(3, (FieldError("title", "required"), FieldError("", "invalid event")))

    assert describe(bad, "line") == "line 3: title: required; invalid event"
    assert describe(BadRow(2, (FieldError("id", "x"),)), "element") == "element 2: id: x"


def test_to_ndjson_ends_every_document_with_a_newline() -> None:
    assert to_ndjson([b'{"a":1}', b'{"b":2}']) == b'{"a":1}\n{"b":2}\n'
    assert to_ndjson([]) == b""


DEEP = b"[" * 100_000 + b"]" * 100_000


def test_input_nested_too_deeply_is_reported_not_raised() -> None:
    assert errors_of(b'{"title": ' + DEEP + b"}") == [
        FieldError("", "nested too deeply to be an event")
    ]
    assert detect_format(b'{"title": ' + DEEP + b"}\n") == "ndjson"
    for fmt, data in (("json", b"[" + DEEP + b"]"), ("json-server", b'{"events": ' + DEEP + b"}")):
        with pytest.raises(UnreadableInput, match="nested too deeply"):
            read_document(data, fmt)  # type: ignore[arg-type]
