"""An event's owner (issue 6): set by the server, kept by every change, never chosen by a body.

The HTTP side (who may change which event) is in ``tests/api/test_event_authorization.py``.
"""

from __future__ import annotations

import itertools
from typing import Any

import msgspec
import pytest

from eventsapi.auth.ownership import new_owner, ownership_guard
from eventsapi.domain.events import UNSET, Event, UnsetType, build_event, parse_input, revise
from eventsapi.domain.json_patch import patch_event_json
from eventsapi.domain.merge_patch import patch_event
from eventsapi.domain.transfer import read_event
from eventsapi.errors import ValidationFailed
from tests.support import START

OWNER = "01JD7X3Q9M5T8V2W4Y6Z8A0B1C"
CHANGED = {"owner": "is set by the server and cannot be changed"}
_encode = msgspec.json.encode


def make(creator: str | UnsetType = UNSET, **members: Any) -> Event:
    """A new event made by ``creator`` from a body with ``members``."""
    data = parse_input(_encode({"title": "Launch", **members}))
    return build_event(data, event_id="e1", now=START, owner=creator)


def refusals(call: Any, *args: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        call(*args)
    return {error.field: error.message for error in caught.value.errors}


# --- the document ---------------------------------------------------------------------


def test_an_event_without_an_owner_is_encoded_as_before_accounts() -> None:
    """Stored documents (and the ETags hashed from them) of events made before accounts,
    or by anonymous writers, stay byte for byte the same when read back and re-encoded."""
    before_accounts = (
        b'{"id":"e1","title":"Launch","description":null,"starts_at":null,"ends_at":null,'
        b'"timezone":null,"location":null,"tags":[],"capacity":null,"status":"scheduled",'
        b'"created_at":"2025-01-02T03:04:05.678Z","updated_at":"2025-01-02T03:04:05.678Z",'
        b'"version":1}'
    )
    event = msgspec.json.decode(before_accounts, type=Event)

    assert event.owner is UNSET
    assert _encode(event) == before_accounts.replace(b".678Z", b".678000Z")
    assert b"owner" not in _encode(make())


def test_an_owned_event_says_who_owns_it() -> None:
    event = make(OWNER)

    assert msgspec.json.decode(_encode(event))["owner"] == OWNER
    assert msgspec.json.decode(_encode(event), type=Event) == event


# --- input ----------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["someone", None, "", 7, {"id": OWNER}])
def test_a_new_event_cannot_name_an_owner(given: Any) -> None:
    assert refusals(lambda: make(OWNER, owner=given)) == CHANGED
    assert refusals(lambda: make(UNSET, owner=given)) == CHANGED


def test_a_new_event_may_repeat_its_own_owner() -> None:
    assert make(OWNER, owner=OWNER).owner == OWNER


def test_a_new_version_keeps_the_owner_and_may_repeat_it() -> None:
    event = make(OWNER)

    revised = revise(event, parse_input(b'{"title": "Renamed"}'), now=START)
    sent_back = revise(event, parse_input(_encode(msgspec.to_builtins(event))), now=START)

    assert revised.owner == OWNER
    assert revised.version == 2
    assert sent_back is event


def test_a_new_version_cannot_change_the_owner_nor_give_one() -> None:
    taken = parse_input(_encode({"title": "x", "owner": "me"}))
    given = parse_input(_encode({"title": "x", "owner": OWNER}))

    assert refusals(lambda: revise(make(OWNER), taken, now=START)) == CHANGED
    assert refusals(lambda: revise(make(), given, now=START)) == CHANGED


def test_an_id_and_an_owner_that_do_not_fit_are_both_reported() -> None:
    data = parse_input(_encode({"title": "x", "id": "other", "owner": "me"}))

    assert set(refusals(lambda: build_event(data, event_id="e1", now=START))) == {"id", "owner"}


# --- merge patch ----------------------------------------------------------------------


@pytest.mark.parametrize("given", ["someone", None, ""])
def test_a_merge_patch_cannot_change_or_clear_the_owner(given: Any) -> None:
    assert refusals(patch_event, make(OWNER), _encode({"owner": given})) == CHANGED
    assert refusals(patch_event, make(), _encode({"owner": given})) == CHANGED


def test_a_merge_patch_may_repeat_the_owner() -> None:
    event = make(OWNER)

    data = patch_event(event, _encode({"owner": OWNER, "location": "Hall"}))

    assert revise(event, data, now=START).owner == OWNER


def test_a_merge_patch_reports_the_owner_with_the_other_broken_rules() -> None:
    body = _encode({"owner": "me", "title": ""})

    assert set(refusals(patch_event, make(OWNER), body)) == {"owner", "title"}


# --- JSON Patch -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ({"op": "replace", "path": "/owner", "value": "me"}, "changed"),
        ({"op": "remove", "path": "/owner"}, "removed"),
        ({"op": "copy", "from": "/id", "path": "/owner"}, "changed"),
    ],
)
def test_a_json_patch_cannot_change_or_remove_the_owner(
    operation: dict[str, Any], message: str
) -> None:
    body = _encode([operation])

    assert refusals(patch_event_json, make(OWNER), body) == {
        "owner": f"is set by the server and cannot be {message}"
    }


def test_a_json_patch_cannot_give_an_owner_to_an_event_without_one() -> None:
    body = _encode([{"op": "add", "path": "/owner", "value": OWNER}])

    assert refusals(patch_event_json, make(), body) == CHANGED


def test_a_json_patch_may_test_the_owner_and_set_it_to_itself() -> None:
    event = make(OWNER)
    body = _encode(
        [
            {"op": "test", "path": "/owner", "value": OWNER},
            {"op": "replace", "path": "/owner", "value": OWNER},
            {"op": "replace", "path": "/title", "value": "Renamed"},
        ]
    )

    revised = revise(event, patch_event_json(event, body), now=START)

    assert (revised.owner, revised.title) == (OWNER, "Renamed")


# --- import -------------------------------------------------------------------------


def read(document: dict[str, Any]) -> Event:
    counter = itertools.count(1)
    return read_event(_encode(document), now=START, new_id=lambda: f"n{next(counter)}")


FULL = {
    "id": "e1",
    "title": "Launch",
    "created_at": "2024-01-01T00:00:00Z",
    "updated_at": "2024-02-01T00:00:00Z",
    "version": 3,
}


def test_an_exported_event_is_imported_with_its_owner() -> None:
    event = read({**FULL, "owner": OWNER})

    assert (event.owner, event.version) == (OWNER, 3)
    assert read(FULL).owner is UNSET


def test_an_imported_input_cannot_name_an_owner() -> None:
    with pytest.raises(ValidationFailed) as caught:
        read({"title": "Launch", "owner": OWNER})

    assert [error.field for error in caught.value.errors] == ["owner"]


@pytest.mark.parametrize("given", [None, 7, ["x"]])
def test_an_imported_owner_must_be_a_string(given: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        read({**FULL, "owner": given})

    assert [error.field for error in caught.value.errors] == ["owner"]


# --- who may change it ----------------------------------------------------------------


def test_an_anonymous_writer_may_change_any_event_and_owns_nothing() -> None:
    assert ownership_guard(None) is None
    assert new_owner(None) is UNSET
