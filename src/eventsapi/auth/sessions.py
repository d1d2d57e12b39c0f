"""When a session is valid, when to record activity, and the session cookie.

Two timeouts, as NIST SP 800-63B-4 (section 2.2.3, AAL2) and the OWASP Session Management
Cheat Sheet ask: an idle timeout (the "auto-lock": default 30 minutes, NIST's ceiling is 1
hour) and an absolute one (default 24 hours, NIST's ceiling at AAL2). The absolute timeout
is fixed at login (``Session.expires_at``); a shorter one configured later applies too, so
tightening the policy takes effect at once, for sessions already open.

The cookie
----------
``__Host-eventsapi_session``: the ``__Host-`` prefix makes the browser refuse the cookie
unless it is ``Secure``, has ``Path=/`` and no ``Domain``, so a sibling subdomain or a
plain-http page cannot set or overwrite it (session fixation). ``HttpOnly`` keeps it from
scripts. On plain http (only allowed on loopback) browsers drop ``Secure`` cookies and
the prefix, so the cookie is then ``eventsapi_session`` without ``Secure``.

``SameSite=Strict``, not ``Lax``. ``Lax`` exists for sites where a link from elsewhere
must land the user already logged in (a web page, an OAuth/SSO redirect back to the
site). Nothing here needs that: the API is read by ``fetch`` from its own pages (the docs
page) or by programs with bearer tokens, there is no third-party login redirect, and the
login is a JSON ``POST``. The one cost is that a link followed from another site is, for
that first page, anonymous (it shows public events only); the page's own requests then
carry the cookie. ``Strict`` never sends the cookie on a cross-site request, including a
top-level ``GET`` navigation, so cross-site request forgery has nothing to ride on.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal

import msgspec

from eventsapi.domain.accounts import Session

__all__ = [
    "COOKIE_NAME",
    "COOKIE_NAME_INSECURE",
    "MIN_IDLE",
    "TOUCH_INTERVAL",
    "SessionPolicy",
    "SessionState",
    "clear_cookie_header",
    "cookie_header",
    "cookie_name",
    "session_expires_at",
    "session_state",
    "should_touch",
]

SessionState = Literal["active", "idle", "expired", "revoked"]

MIN_IDLE = timedelta(minutes=1)
"""The shortest idle timeout allowed (the issue: "configurable from 1 min")."""
TOUCH_INTERVAL = timedelta(minutes=1)
"""``last_seen_at`` is written at most this often, so a busy session costs a write a
minute, not one per request."""

COOKIE_NAME = "__Host-eventsapi_session"
COOKIE_NAME_INSECURE = "eventsapi_session"
SAME_SITE = "Strict"
"""Why Strict: see the module docstring."""

_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]+")
"""What our tokens are made of; anything else could break out of the Set-Cookie field."""


class SessionPolicy(msgspec.Struct, frozen=True):
    """How long a session lasts: ``idle`` without a request, ``absolute`` after login."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.idle < MIN_IDLE:
            raise ValueError(f"the idle timeout must be at least {MIN_IDLE}, not {self.idle}")
        if self.idle > self.absolute:
            raise ValueError(
                f"the idle timeout ({self.idle}) must not exceed the absolute one ({self.absolute})"
            )


def session_expires_at(created_at: datetime, policy: SessionPolicy) -> datetime:
    """The absolute end of a session created at ``created_at`` (``Session.expires_at``)."""
    return created_at + policy.absolute


def session_state(session: Session, now: datetime, policy: SessionPolicy) -> SessionState:
    """Whether ``session`` may be used at ``now``; only ``"active"`` may.

    Checked in this order, so the answer names the first reason a session is unusable:
    ``revoked`` (logout, termination, password change), ``expired`` (the absolute
    timeout), ``idle`` (no request for ``policy.idle``). Boundaries are exclusive: a
    session whose idle time equals the timeout is idle.
    """
    if session.revoked_at is not None:
        return "revoked"
    ends = min(session.expires_at, session_expires_at(session.created_at, policy))
    if now >= ends:
        return "expired"
    if now - session.last_seen_at >= policy.idle:
        return "idle"
    return "active"


def should_touch(
    last_seen: datetime | None, now: datetime, policy: SessionPolicy | None = None
) -> bool:
    """Whether to write ``now`` as the last activity (a session's ``last_seen_at``, an API
    token's ``last_used_at``; ``None``: never recorded) after an authenticated request.

    At most once a ``TOUCH_INTERVAL``. The stored ``last_seen_at`` then lags the last
    request by up to that interval, which shortens the effective idle timeout by as much;
    with ``policy`` given (a session's), the interval is also at most a tenth of its idle
    timeout, so a 1-minute idle timeout still gives an active user at least 54 seconds
    between requests. The store never moves the time back (touches can arrive out of
    order).
    """
    if last_seen is None:
        return True
    interval = TOUCH_INTERVAL if policy is None else min(TOUCH_INTERVAL, policy.idle / 10)
    return now - last_seen >= interval


def cookie_name(secure: bool) -> str:
    """The session cookie's name: to read it from a request's ``Cookie`` header."""
    return COOKIE_NAME if secure else COOKIE_NAME_INSECURE


def cookie_header(value: str, policy: SessionPolicy, secure: bool) -> str:
    """The ``Set-Cookie`` field value that gives the client its session token at login.

    ``secure=False`` only when the service is served over plain http on loopback.
    ``Max-Age`` is the absolute timeout (the session cannot outlive it; the idle timeout is
    enforced by the server, which a cookie lifetime could not express).
    """
    if not _COOKIE_VALUE.fullmatch(value):
        raise ValueError("a session cookie value must be a token (letters, digits, '-', '_')")
    return _cookie(value, int(policy.absolute.total_seconds()), secure=secure)


def clear_cookie_header(secure: bool) -> str:
    """The ``Set-Cookie`` field value that removes the session cookie (logout).

    Same attributes as the cookie it removes: a browser ignores a ``__Host-`` cookie
    without ``Secure`` and ``Path=/``, deletions included.
    """
    return _cookie("", 0, secure=secure)


def _cookie(value: str, max_age: int, *, secure: bool) -> str:
    attributes = [
        f"{cookie_name(secure=secure)}={value}",
        f"Max-Age={max_age}",
        "Path=/",
        "HttpOnly",
    ]
    if secure:
        attributes.append("Secure")
    attributes.append(f"SameSite={SAME_SITE}")
    return "; ".join(attributes)
