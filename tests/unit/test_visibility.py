"""Who may see an event, and what a reader is told of each change (``domain/visibility.py``);
the ``visibility`` member's rules (``domain/events.py``)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from eventsapi.domain.changes import ChangeRecord, ChangeType
from eventsapi.domain.events import build_event, editable_document, parse_input, revise
from eventsapi.domain.visibility import (
    ANONYMOUS,
    EVERYTHING,
    NOT_REGISTERED,
    VISIBILITIES,
    Reader,
    Registrant,
    Visibility,
    sees,
    view,
)
from eventsapi.errors import ValidationFailed
from tests.support import START

OWNER = "owner"
ME = Reader(account="me")
REGISTERED = Registrant(active=True, ever=True)
CANCELLED = Registrant(active=False, ever=True)


def record(
    kind: ChangeType,
    visibility: Visibility = "public",
    previous: Visibility | None = None,
    owner: str | None = OWNER,
) -> ChangeRecord:
    document = None if kind in ("event.deleted", "event.purged") else b'{"id":"e"}'
    return ChangeRecord(3, kind, "e", 2, START, document, None, visibility, previous, owner)


# --- who sees ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reader", "registered", "expected"),
    [
        (ANONYMOUS, False, {"public"}),
        (ME, False, {"public", "members"}),
        (ME, True, {"public", "members", "private"}),
        (Reader(account=OWNER), False, {"public", "members", "private"}),
        (EVERYTHING, False, {"public", "members", "private"}),
    ],
)
def test_who_sees_what(reader: Reader, registered: bool, expected: set[str]) -> None:
    seen = {v for v in VISIBILITIES if sees(reader, v, OWNER, registered=registered)}
    assert seen == expected


def test_an_anonymous_reader_is_no_owner_of_an_ownerless_event() -> None:
    assert not sees(ANONYMOUS, "private", None)
    assert not sees(ANONYMOUS, "members", None)


# --- what a reader is told -------------------------------------------------------------


def test_a_reader_who_sees_it_before_and_after_is_told_the_change_as_it_is() -> None:
    change = record("event.updated", "members", "public")
    assert view(change, ME, NOT_REGISTERED) is change
    assert view(record("event.updated"), ANONYMOUS, NOT_REGISTERED) == record("event.updated")


def test_a_change_that_hides_the_event_is_a_deletion_without_the_document() -> None:
    told = view(record("event.updated", "private", "public"), ME, NOT_REGISTERED)
    assert told is not None
    assert (told.type, told.document, told.version) == ("event.deleted", None, 2)
    told = view(record("event.updated", "members", "public"), ANONYMOUS, NOT_REGISTERED)
    assert told is not None
    assert told.type == "event.deleted"


def test_a_change_that_shows_the_event_is_a_creation_with_the_document() -> None:
    told = view(record("event.updated", "public", "private"), ME, NOT_REGISTERED)
    assert told is not None
    assert (told.type, told.document) == ("event.created", b'{"id":"e"}')


def test_a_reader_who_never_may_see_it_is_told_nothing() -> None:
    for kind in ("event.created", "event.updated", "event.deleted", "event.restored"):
        assert view(record(kind, "private"), ME, NOT_REGISTERED) is None
        assert view(record(kind, "members"), ANONYMOUS, NOT_REGISTERED) is None
    assert view(record("event.purged", "private"), ME, CANCELLED) is None
    assert view(record("registration.confirmed", "private"), ME, NOT_REGISTERED) is None


def test_a_registrant_sees_the_private_event_and_its_deletion() -> None:
    assert view(record("event.updated", "private"), ME, REGISTERED) is not None
    deleted = record("event.deleted", "private")
    assert view(deleted, ME, REGISTERED) is deleted
    assert view(deleted, ME, CANCELLED) is None


def test_a_cancellation_that_ends_a_registrants_view_is_a_deletion() -> None:
    told = view(record("registration.cancelled", "private"), ME, CANCELLED)
    assert told is not None
    assert (told.type, told.document) == ("event.deleted", None)
    # still registered another way: the change as it is
    cancelled = record("registration.cancelled", "private")
    assert view(cancelled, ME, REGISTERED) is cancelled
    # nobody they know of: nothing (a deletion would tell that the event exists)
    assert view(cancelled, ME, NOT_REGISTERED) is None


def test_the_owner_and_everything_readers_are_told_every_change() -> None:
    for kind in ("event.created", "event.updated", "event.deleted", "registration.cancelled"):
        change = record(kind, "private")
        assert view(change, Reader(account=OWNER), NOT_REGISTERED) is change
        assert view(change, EVERYTHING, NOT_REGISTERED) is change


# --- the member ------------------------------------------------------------------------


def build(**members: Any) -> Any:
    raw = msgspec.json.encode({"title": "Launch", **members})
    return build_event(parse_input(raw), event_id="e", now=START, owner=OWNER)


def test_public_is_the_default_and_is_left_out_of_the_document() -> None:
    for given in ({}, {"visibility": "public"}, {"visibility": None}):
        made = build(**given)
        assert b"visibility" not in msgspec.json.encode(made)
        assert "visibility" not in editable_document(made)


@pytest.mark.parametrize("visibility", ["members", "private"])
def test_members_and_private_are_kept(visibility: str) -> None:
    made = build(visibility=visibility)
    assert msgspec.json.decode(msgspec.json.encode(made))["visibility"] == visibility


@pytest.mark.parametrize("bad", ["secret", "Public", "", 1, True, ["private"]])
def test_other_values_are_refused_by_name(bad: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_input(msgspec.json.encode({"title": "Launch", "visibility": bad}))
    assert [e.field for e in caught.value.errors] == ["visibility"]


def test_a_change_of_visibility_is_a_new_version_and_public_again_drops_the_member() -> None:
    made = build(visibility="private")
    public = revise(made, parse_input(b'{"title": "Launch", "visibility": "public"}'), now=START)
    assert public.version == 2
    assert msgspec.json.encode(public) == msgspec.json.encode(
        msgspec.structs.replace(build(), version=2)
    )
