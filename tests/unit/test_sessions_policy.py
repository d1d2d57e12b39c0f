"""Session timeouts, when to record activity, and the session cookie's attributes."""

from __future__ import annotations

from datetime import datetime, timedelta
from http.cookies import SimpleCookie

import msgspec
import pytest

from eventsapi.auth.sessions import (
    COOKIE_NAME,
    COOKIE_NAME_INSECURE,
    SessionPolicy,
    clear_cookie_header,
    cookie_header,
    cookie_name,
    session_expires_at,
    session_state,
    should_touch,
)
from eventsapi.domain.accounts import Session
from tests.support import START

POLICY = SessionPolicy()
TOKEN = "eas_" + "x" * 43


def login(at: datetime = START, policy: SessionPolicy = POLICY) -> Session:
    return Session(
        id="01JS0000000000000000000000",
        user_id="01JU0000000000000000000000",
        token_hash=b"\0" * 32,
        created_at=at,
        last_seen_at=at,
        expires_at=session_expires_at(at, policy),
        client_address="127.0.0.1",
        user_agent="test",
    )


def seen(session: Session, after: timedelta) -> Session:
    return msgspec.structs.replace(session, last_seen_at=session.created_at + after)


# The policy


def test_the_defaults_are_30_minutes_idle_and_24_hours_absolute() -> None:
    assert POLICY.idle == timedelta(minutes=30)
    assert POLICY.absolute == timedelta(hours=24)


def test_the_idle_timeout_can_be_as_short_as_a_minute_and_as_long_as_the_absolute() -> None:
    SessionPolicy(idle=timedelta(minutes=1))
    SessionPolicy(idle=timedelta(hours=2), absolute=timedelta(hours=2))


@pytest.mark.parametrize(
    ("idle", "absolute", "message"),
    [
        (
            timedelta(seconds=59),
            timedelta(hours=24),
            r"^the idle timeout must be at least 0:01:00, not 0:00:59$",
        ),
        (
            timedelta(0),
            timedelta(hours=24),
            r"^the idle timeout must be at least 0:01:00, not 0:00:00$",
        ),
        (
            timedelta(hours=2),
            timedelta(hours=1),
            r"^the idle timeout \(2:00:00\) must not exceed the absolute one \(1:00:00\)$",
        ),
    ],
)
def test_a_policy_that_cannot_work_is_refused(
    idle: timedelta, absolute: timedelta, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SessionPolicy(idle=idle, absolute=absolute)


# Session state


def test_a_fresh_session_is_active() -> None:
    assert session_state(login(), START, POLICY) == "active"


def test_a_session_is_idle_once_unused_for_the_idle_timeout() -> None:
    session = login()
    just_before = START + POLICY.idle - timedelta(milliseconds=1)

    assert session_state(session, just_before, POLICY) == "active"
    assert session_state(session, START + POLICY.idle, POLICY) == "idle"


def test_activity_keeps_a_session_from_idling() -> None:
    session = seen(login(), timedelta(minutes=20))

    assert session_state(session, START + timedelta(minutes=49), POLICY) == "active"
    assert session_state(session, START + timedelta(minutes=50), POLICY) == "idle"


def test_a_session_expires_at_the_absolute_timeout_however_active() -> None:
    session = seen(login(), POLICY.absolute - timedelta(seconds=1))

    assert session_state(session, START + POLICY.absolute - timedelta(milliseconds=1), POLICY) == (
        "active"
    )
    assert session_state(session, START + POLICY.absolute, POLICY) == "expired"


def test_an_absolute_timeout_shortened_later_applies_to_open_sessions() -> None:
    session = login()  # expires_at: 24 h after login
    tighter = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=1))
    now = START + timedelta(hours=1)

    assert session_state(seen(session, timedelta(minutes=59)), now, tighter) == "expired"


def test_a_shorter_idle_timeout_applies_to_open_sessions() -> None:
    stricter = SessionPolicy(idle=timedelta(minutes=5))

    assert session_state(login(), START + timedelta(minutes=5), stricter) == "idle"


def test_expired_is_reported_before_idle_and_revoked_before_both() -> None:
    session = login()
    late = START + POLICY.absolute

    assert session_state(session, late, POLICY) == "expired"
    revoked = msgspec.structs.replace(session, revoked_at=START + timedelta(seconds=1))
    assert session_state(revoked, START + timedelta(seconds=2), POLICY) == "revoked"
    assert session_state(revoked, late, POLICY) == "revoked"


# Touching last_seen_at


def test_last_seen_is_written_at_most_once_a_minute() -> None:
    session = login()

    assert not should_touch(session.last_seen_at, START + timedelta(seconds=59))
    assert should_touch(session.last_seen_at, START + timedelta(minutes=1))


def test_with_a_short_idle_timeout_activity_is_written_often_enough_to_count() -> None:
    one_minute = SessionPolicy(idle=timedelta(minutes=1))
    session = login(policy=one_minute)

    assert not should_touch(session.last_seen_at, START + timedelta(seconds=5.9), one_minute)
    assert should_touch(session.last_seen_at, START + timedelta(seconds=6), one_minute)  # a tenth
    # The default policy keeps the one-minute interval.
    assert not should_touch(session.last_seen_at, START + timedelta(seconds=59), POLICY)


# The cookie


def parse(header: str) -> tuple[str, str, dict[str, object]]:
    """The cookie's name, value and attributes as ``http.cookies`` reads them (a flag such
    as ``HttpOnly`` reads as ``True``)."""
    jar: SimpleCookie = SimpleCookie()
    jar.load(header)
    ((name, morsel),) = jar.items()
    return name, morsel.value, {key: value for key, value in morsel.items() if value}


def flags(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


def test_the_secure_cookie_meets_the_host_prefix_rules() -> None:
    header = cookie_header(TOKEN, POLICY, True)
    name, value, attributes = parse(header)

    assert name == COOKIE_NAME == "__Host-eventsapi_session"
    assert value == TOKEN
    # __Host-: Secure, Path=/ and no Domain, or the browser drops it.
    assert attributes["secure"] is True
    assert attributes["path"] == "/"
    assert "domain" not in attributes
    assert attributes["httponly"] is True
    assert attributes["samesite"] == "Strict"
    assert attributes["max-age"] == "86400"


def test_the_cookie_lives_as_long_as_the_absolute_timeout() -> None:
    policy = SessionPolicy(idle=timedelta(minutes=10), absolute=timedelta(hours=8))

    assert parse(cookie_header(TOKEN, policy, True))[2]["max-age"] == "28800"


def test_on_plain_loopback_http_the_cookie_is_not_secure_and_has_no_host_prefix() -> None:
    header = cookie_header(TOKEN, POLICY, False)
    name, _, attributes = parse(header)

    assert name == COOKIE_NAME_INSECURE == "eventsapi_session"
    assert "secure" not in flags(header)
    assert attributes["httponly"] is True
    assert attributes["samesite"] == "Strict"
    assert attributes["path"] == "/"


def test_cookie_name_matches_the_cookie_set() -> None:
    assert parse(cookie_header(TOKEN, POLICY, True))[0] == cookie_name(True)
    assert parse(cookie_header(TOKEN, POLICY, False))[0] == cookie_name(False)


@pytest.mark.parametrize("value", ["", "a;b", "a b", "a\r\nSet-Cookie: x=y", 'a"b', "a,b"])
def test_a_value_that_could_break_the_header_is_refused(value: str) -> None:
    refused = r"^a session cookie value must be a token \(letters, digits, '-', '_'\)$"
    with pytest.raises(ValueError, match=refused):
        cookie_header(value, POLICY, True)


@pytest.mark.parametrize("secure", [True, False])
def test_clearing_the_cookie_uses_the_same_name_and_attributes_with_no_lifetime(
    secure: bool,
) -> None:
    header = clear_cookie_header(secure)
    name, value, attributes = parse(header)

    assert name == cookie_name(secure)
    assert value == ""
    assert attributes["max-age"] == "0"
    assert flags(header) == flags(cookie_header(TOKEN, POLICY, secure))
