"""The registration rules organisers rely on, without a store: who is confirmed, how many
are promoted, when an event takes registrations, and what a registration is made of."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from eventsapi.domain.registrations import (
    RegistrationClosed,
    admits,
    applicant,
    check_open,
    email_key,
    promotions,
)
from eventsapi.errors import ValidationFailed
from tests.contract.test_event_store import event
from tests.support import START


def test_confirmed_while_there_is_room() -> None:
    assert admits(None, 10_000)
    assert admits(2, 1)
    assert not admits(2, 2)
    assert not admits(0, 0)
    assert not admits(2, 5)  # over capacity after it was lowered


@pytest.mark.parametrize(
    ("capacity", "registered", "waitlisted", "promoted"),
    [(10, 9, 5, 1), (10, 5, 2, 2), (10, 10, 5, 0), (5, 8, 5, 0), (None, 3, 4, 4), (10, 0, 0, 0)],
)
def test_promotions_fill_the_free_spots_and_no_more(
    capacity: int | None, registered: int, waitlisted: int, promoted: int
) -> None:
    assert promotions(capacity, registered, waitlisted) == promoted


def test_addresses_compare_without_case_or_surrounding_space() -> None:
    assert email_key(" Ada@Example.ORG ") == email_key("ada@example.org")


def test_a_registration_needs_a_name_and_an_address() -> None:
    with pytest.raises(ValidationFailed) as refused:
        applicant(
            registration_id="r",
            name="  ",
            email="not an address",
            account=None,
            token_hash=None,
            at=START,
        )
    assert [e.field for e in refused.value.errors] == ["name", "email"]
    made = applicant(
        registration_id="r",
        name=" Ada ",
        email=" ada@example.org ",
        account=None,
        token_hash=None,
        at=START,
    )
    assert (made.name, made.email) == ("Ada", "ada@example.org")


def test_cancelled_past_and_out_of_window_events_take_nobody() -> None:
    soon = event("e", starts_at=START + timedelta(days=1))
    check_open(soon, START)
    with pytest.raises(RegistrationClosed) as closed:
        check_open(msgspec.structs.replace(soon, status="cancelled"), START)
    assert closed.value.reason == "cancelled"
    with pytest.raises(RegistrationClosed) as closed:
        check_open(soon, START + timedelta(days=2))
    assert closed.value.reason == "past"
    with pytest.raises(RegistrationClosed) as closed:
        check_open(soon, START, opens_at=START + timedelta(hours=1))
    assert closed.value.reason == "not-open"
    with pytest.raises(RegistrationClosed) as closed:
        check_open(soon, START, closes_at=START)
    assert closed.value.reason == "closed"
