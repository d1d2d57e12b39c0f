"""JSON Merge Patch (RFC 7396) and its use on events (``domain.merge_patch``)."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest

from eventsapi.domain.events import Event, build_event, parse_input, revise
from eventsapi.domain.merge_patch import merge_patch, patch_event
from eventsapi.errors import BadRequest, ValidationFailed
from tests.support import START

# RFC 7396, Appendix A: every example, as (original, patch, result).
RFC_7396_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "expected"), RFC_7396_EXAMPLES)
def test_rfc7396_appendix_a(original: Any, patch: Any, expected: Any) -> None:
    assert merge_patch(original, patch) == expected


@pytest.mark.parametrize(("original", "patch", "expected"), RFC_7396_EXAMPLES)
def test_merge_patch_does_not_change_its_inputs(original: Any, patch: Any, expected: Any) -> None:
    original_before, patch_before = copy.deepcopy(original), copy.deepcopy(patch)

    merge_patch(original, patch)

    assert original == original_before
    assert patch == patch_before


def make_event(**members: Any) -> Event:
    document: dict[str, Any] = {"title": "Launch"}
    document.update(members)
    return build_event(parse_input(msgspec.json.encode(document)), event_id="e1", now=START)


def patched(event: Event, patch: Any) -> Event:
    """``event`` after ``patch``, as PATCH computes it."""
    return revise(event, patch_event(event, msgspec.json.encode(patch)), now=START)


def test_members_not_in_the_patch_are_kept() -> None:
    event = make_event(description="Old", location="Hall", tags=["a"], capacity=5)

    result = patched(event, {"title": "New"})

    assert result.title == "New"
    assert (result.description, result.location, result.tags, result.capacity) == (
        "Old",
        "Hall",
        ("a",),
        5,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "Old"),
        ("location", "Hall"),
        ("capacity", 5),
        ("timezone", "Europe/Berlin"),
        ("starts_at", "2025-06-01T18:00:00Z"),
        ("ends_at", "2025-06-01T18:00:00Z"),
    ],
)
def test_null_clears_an_optional_field(field: str, value: Any) -> None:
    event = make_event(**{field: value})
    assert msgspec.to_builtins(event)[field] is not None

    result = patched(event, {field: None})

    assert msgspec.to_builtins(result)[field] is None


def test_null_tags_clear_to_empty_and_null_status_is_the_default() -> None:
    event = make_event(tags=["a", "b"], status="cancelled")

    result = patched(event, {"tags": None, "status": None})

    assert result.tags == ()
    assert result.status == "scheduled"


def test_null_title_is_rejected_because_title_is_required() -> None:
    with pytest.raises(ValidationFailed) as caught:
        patch_event(make_event(), b'{"title": null}')
    assert [e.field for e in caught.value.errors] == ["title"]


def test_tutorial_keys_patch_our_fields() -> None:
    event = make_event(description="Old")

    result = patched(event, {"Title": "Renamed", "Description": "New"})

    assert (result.title, result.description) == ("Renamed", "New")


def test_a_key_given_both_ways_in_a_patch_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        patch_event(make_event(), b'{"title": "a", "Title": "b"}')
    assert [e.field for e in caught.value.errors] == ["title"]


@pytest.mark.parametrize("patch", [b"[]", b'"text"', b"null", b"1"])
def test_a_patch_that_is_not_an_object_is_rejected(patch: bytes) -> None:
    with pytest.raises(ValidationFailed):
        patch_event(make_event(), patch)


def test_malformed_patch_json_is_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        patch_event(make_event(), b'{"title": ')


def test_the_patched_document_is_validated_as_a_whole() -> None:
    event = make_event(starts_at="2025-06-01T18:00:00Z")

    with pytest.raises(ValidationFailed) as caught:
        patch_event(event, b'{"ends_at": "2025-06-01T17:00:00Z", "bogus": 1}')
    assert {e.field for e in caught.value.errors} == {"ends_at", "bogus"}


def test_server_owned_members_in_a_patch_are_ignored() -> None:
    event = make_event()

    result = patched(event, {"version": 99, "created_at": "1999-01-01T00:00:00Z"})

    assert result == event


def test_an_empty_patch_changes_nothing() -> None:
    event = make_event(description="Same")

    assert patched(event, {}) is event


def test_a_patch_cannot_change_the_id() -> None:
    with pytest.raises(ValidationFailed) as caught:
        patched(make_event(), {"id": "other"})
    assert [e.field for e in caught.value.errors] == ["id"]
    assert patched(make_event(), {"id": "e1", "title": "Same id"}).title == "Same id"
