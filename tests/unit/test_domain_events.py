"""Every field rule of an event, and how input becomes an event (``domain.events``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest

from eventsapi.domain.events import (
    EventInput,
    build_event,
    editable_document,
    input_id,
    parse_input,
    revise,
)
from eventsapi.domain.ids import new_event_id
from eventsapi.errors import BadRequest, ValidationFailed
from tests.support import START

LATER = START + timedelta(minutes=5)


def body(**members: Any) -> bytes:
    """A JSON body with a valid title unless the test gives (or removes) one."""
    document: dict[str, Any] = {"title": "Launch"}
    document.update(members)
    return msgspec.json.encode({k: v for k, v in document.items() if v is not ...})


def parse(document: Any) -> EventInput:
    return parse_input(msgspec.json.encode(document))


def bad_fields(raw: bytes) -> dict[str, str]:
    """The fields ``parse_input`` reports as broken, with their messages."""
    with pytest.raises(ValidationFailed) as caught:
        parse_input(raw)
    errors = caught.value.errors
    assert errors, "ValidationFailed must list at least one field"
    fields = [e.field for e in errors]
    assert len(fields) == len(set(fields)), f"a field is reported twice: {errors}"
    return {e.field: e.message for e in errors}


def build(raw: bytes, event_id: str = "e1") -> Any:
    return build_event(parse_input(raw), event_id=event_id, now=START)


# --- id ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "event_id", ["1", "a", "A.b_c~d-9", "x" * 64, "01JD7X3Q9M5T8V2W4Y6Z8A0B1C"]
)
def test_id_within_the_pattern_is_the_chosen_id(event_id: str) -> None:
    assert input_id(parse_input(body(id=event_id))) == event_id
    assert input_id(parse_input(body(ID=event_id))) == event_id


@pytest.mark.parametrize("event_id", ["", "x" * 65, "a b", "a/b", "é", "a?b", "#1", 5, None])
def test_id_outside_the_pattern_is_rejected(event_id: object) -> None:
    assert list(bad_fields(body(id=event_id))) == ["id"]


def test_no_id_means_the_server_chooses() -> None:
    assert input_id(parse_input(body())) is None


def test_server_ids_are_ulids_that_sort_by_time() -> None:
    first = new_event_id(START)
    second = new_event_id(START + timedelta(milliseconds=1))

    assert len(first) == 26
    assert first < second
    assert parse_input(body(id=first)).id == first


# --- title ------------------------------------------------------------------


def test_title_is_required() -> None:
    assert bad_fields(body(title=...)) == {"title": "required"}


@pytest.mark.parametrize("title", ["", " ", "\t\n ", None, 7, ["x"]])
def test_blank_or_non_string_title_is_rejected(title: object) -> None:
    assert list(bad_fields(body(title=title))) == ["title"]


def test_title_of_200_characters_is_accepted_and_201_rejected() -> None:
    assert build(body(title="t" * 200)).title == "t" * 200
    assert list(bad_fields(body(title="t" * 201))) == ["title"]


def test_the_200_characters_are_counted_after_trimming() -> None:
    assert build(body(title=" \t" + "t" * 200 + "\n ")).title == "t" * 200
    assert list(bad_fields(body(title="  " + "t" * 201 + "  "))) == ["title"]
    assert list(bad_fields(body(title="t" * 1001))) == ["title"]


def test_title_is_stored_trimmed() -> None:
    assert build(body(title="  Launch party \n")).title == "Launch party"


# --- description, location ---------------------------------------------------


def test_description_up_to_10000_characters() -> None:
    assert build(body(description="d" * 10_000)).description == "d" * 10_000
    assert list(bad_fields(body(description="d" * 10_001))) == ["description"]


def test_description_may_be_null_or_absent() -> None:
    assert build(body(description=None)).description is None
    assert build(body()).description is None


def test_location_up_to_500_characters() -> None:
    assert build(body(location="l" * 500)).location == "l" * 500
    assert list(bad_fields(body(location="l" * 501))) == ["location"]


# --- times ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-01T18:00:00Z", datetime(2025, 6, 1, 18, tzinfo=UTC)),
        (
            "2025-06-01T18:00:00+02:00",
            datetime(2025, 6, 1, 18, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2025-06-01T18:00:00.250-05:30", datetime(2025, 6, 1, 23, 30, 0, 250000, tzinfo=UTC)),
    ],
)
def test_rfc3339_times_with_an_offset_are_accepted(text: str, expected: datetime) -> None:
    event = build(body(starts_at=text, ends_at=text))
    assert event.starts_at == expected
    assert event.starts_at.utcoffset() is not None


@pytest.mark.parametrize(
    "text", ["2025-06-01T18:00:00", "2025-06-01", "18:00", "tomorrow", "", 1717264800]
)
@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_times_without_an_offset_or_not_rfc3339_are_rejected(field: str, text: object) -> None:
    assert list(bad_fields(body(**{field: text}))) == [field]


def test_ends_at_may_equal_starts_at_but_not_precede_it() -> None:
    same = build(body(starts_at="2025-06-01T18:00:00Z", ends_at="2025-06-01T18:00:00Z"))
    assert same.ends_at == same.starts_at

    errors = bad_fields(body(starts_at="2025-06-01T18:00:00Z", ends_at="2025-06-01T17:59:59Z"))
    assert list(errors) == ["ends_at"]


def test_ends_at_is_compared_as_an_instant_across_offsets() -> None:
    # 10:00+02:00 is 08:00Z, so 09:00Z is after it even though 09 < 10.
    event = build(body(starts_at="2025-06-01T10:00:00+02:00", ends_at="2025-06-01T09:00:00Z"))
    assert event.ends_at is not None
    assert event.starts_at is not None
    assert event.ends_at > event.starts_at
    assert list(
        bad_fields(body(starts_at="2025-06-01T10:00:00Z", ends_at="2025-06-01T11:00:00+02:00"))
    ) == ["ends_at"]


def test_either_time_may_be_given_alone() -> None:
    assert build(body(ends_at="2025-06-01T18:00:00Z")).starts_at is None
    assert build(body(starts_at="2025-06-01T18:00:00Z")).ends_at is None


# --- timezone ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/Argentina/Buenos_Aires", "UTC"])
def test_iana_time_zone_names_are_accepted(name: str) -> None:
    assert build(body(timezone=name)).timezone == name


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "europe/berlin", "+02:00", "", 2])
def test_unknown_time_zone_names_are_rejected(name: object) -> None:
    assert list(bad_fields(body(timezone=name))) == ["timezone"]


# --- tags -------------------------------------------------------------------


def test_up_to_20_tags_in_order() -> None:
    tags = [f"t{n}" for n in range(20)]
    assert build(body(tags=tags)).tags == tuple(tags)
    assert list(bad_fields(body(tags=[*tags, "t20"]))) == ["tags"]


@pytest.mark.parametrize(
    "tags",
    [["a", "a"], ["x", "y", "x"], [""], [" "], [" padded"], ["padded "], ["t" * 65], [1], "a"],
)
def test_repeated_blank_long_or_non_string_tags_are_rejected(tags: object) -> None:
    assert list(bad_fields(body(tags=tags))) == ["tags"]


def test_tags_of_64_characters_with_inner_spaces_are_fine() -> None:
    assert build(body(tags=["t" * 64, "two words"])).tags == ("t" * 64, "two words")


def test_tags_default_to_empty() -> None:
    assert build(body()).tags == ()


# --- capacity ---------------------------------------------------------------


@pytest.mark.parametrize("capacity", [0, 1, 250, 1_000_000_000, None])
def test_capacity_is_a_whole_number_from_zero_or_null(capacity: int | None) -> None:
    assert build(body(capacity=capacity)).capacity == capacity


@pytest.mark.parametrize("capacity", [-1, 1.5, "5", True, [], 1_000_000_001])
def test_other_capacities_are_rejected(capacity: object) -> None:
    assert list(bad_fields(body(capacity=capacity))) == ["capacity"]


# --- status -----------------------------------------------------------------


@pytest.mark.parametrize("status", ["scheduled", "cancelled"])
def test_status_is_scheduled_or_cancelled(status: str) -> None:
    assert build(body(status=status)).status == status


def test_status_defaults_to_scheduled() -> None:
    assert build(body()).status == "scheduled"


@pytest.mark.parametrize("status", ["done", "Scheduled", "canceled", "", None, 1])
def test_other_statuses_are_rejected(status: object) -> None:
    assert list(bad_fields(body(status=status))) == ["status"]


# --- unknown and server-owned fields ---------------------------------------------


@pytest.mark.parametrize("key", ["bogus", "Id", "TITLE", "desc", "seq", "doc"])
def test_unknown_fields_are_rejected_by_name(key: str) -> None:
    assert bad_fields(body(**{key: 1})) == {key: "unknown field"}


def test_server_owned_fields_are_ignored() -> None:
    raw = body(created_at="1999-01-01T00:00:00Z", updated_at="garbage", version=99)

    event = build(raw)

    assert event.version == 1
    assert event.created_at == START
    assert event.updated_at == START


def test_a_fetched_event_can_be_sent_back_as_it_is() -> None:
    event = build(body(description="d", tags=["x"], capacity=3))

    again = build(msgspec.json.encode(event))

    assert again == event


# --- the tutorial's keys ----------------------------------------------------


def test_tutorial_keys_are_accepted() -> None:
    raw = msgspec.json.encode({"ID": "1", "Title": "Intro", "Description": "Go tutorial"})

    data = parse_input(raw)
    event = build_event(data, event_id="1", now=START)

    assert input_id(data) == "1"
    assert (event.id, event.title, event.description) == ("1", "Intro", "Go tutorial")
    assert set(msgspec.to_builtins(event)) >= {"id", "title", "description"}
    assert not set(msgspec.to_builtins(event)) & {"ID", "Title", "Description"}


@pytest.mark.parametrize(
    ("ours", "legacy"), [("id", "ID"), ("title", "Title"), ("description", "Description")]
)
def test_a_field_given_both_ways_is_rejected(ours: str, legacy: str) -> None:
    document = {"title": "Launch", ours: "same", legacy: "same"}

    errors = bad_fields(msgspec.json.encode(document))

    assert list(errors) == [ours]
    assert "twice" in errors[ours]


# --- everything reported at once -----------------------------------------------


def test_all_bad_fields_are_listed_at_once() -> None:
    raw = msgspec.json.encode(
        {
            "id": "not ok",
            "title": "",
            "description": "d" * 10_001,
            "starts_at": "yesterday",
            "capacity": -1,
            "status": "done",
            "tags": "a",
            "bogus": True,
        }
    )

    assert set(bad_fields(raw)) == {
        "id",
        "title",
        "description",
        "starts_at",
        "capacity",
        "status",
        "tags",
        "bogus",
    }


def test_type_errors_and_cross_field_rules_are_listed_together() -> None:
    raw = body(
        capacity=-1,
        timezone="Mars/Olympus_Mons",
        tags=["a", "a"],
        starts_at="2025-06-01T18:00:00Z",
        ends_at="2025-06-01T17:00:00Z",
    )

    assert set(bad_fields(raw)) == {"capacity", "timezone", "tags", "ends_at"}


def test_missing_title_is_listed_with_other_errors() -> None:
    assert set(bad_fields(body(title=..., capacity=-1))) == {"title", "capacity"}


def test_a_string_where_a_number_belongs_is_named() -> None:
    assert list(bad_fields(body(capacity="5"))) == ["capacity"]


@pytest.mark.parametrize("document", [[], "text", 3, None, True])
def test_a_body_that_is_not_an_object_is_rejected_as_a_whole(document: object) -> None:
    assert list(bad_fields(msgspec.json.encode(document))) == [""]


@pytest.mark.parametrize("raw", [b"{", b"{'title': 'x'}", b"title=x", b'{"title": "x"} extra'])
def test_malformed_json_is_a_bad_request_not_a_validation_failure(raw: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_input(raw)


# --- building and revising events ---------------------------------------------------


def test_a_new_event_is_version_1_created_now() -> None:
    event = build(body(description="d"), event_id="new")

    assert (event.id, event.version) == ("new", 1)
    assert event.created_at == event.updated_at == START


def test_an_id_that_differs_from_the_url_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        build_event(parse_input(body(id="other")), event_id="e1", now=START)
    assert [e.field for e in caught.value.errors] == ["id"]


def test_revise_bumps_the_version_by_one_and_keeps_created_at() -> None:
    current = build(body(description="old"))

    revised = revise(current, parse_input(body(description="new")), now=LATER)

    assert revised.version == current.version + 1
    assert revised.created_at == current.created_at
    assert revised.updated_at == LATER
    assert revised.description == "new"


def test_revise_with_the_same_content_changes_nothing() -> None:
    current = build(body(description="same", tags=["a"]))

    revised = revise(current, parse_input(body(description="same", tags=["a"])), now=LATER)

    assert revised == current
    assert revised.version == 1
    assert revised.updated_at == START


def test_editable_document_has_no_server_owned_members() -> None:
    document = editable_document(build(body()))

    assert "title" in document
    assert not {"created_at", "updated_at", "version"} & set(document)
