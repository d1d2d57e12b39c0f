"""Accounts, sessions, API tokens and the audit log: what they are (no I/O, no crypto).

Secrets are never kept here in the clear: a password is its argon2id PHC string, a session
or API token is the SHA-256 of the opaque value the client holds (``token_hash``), recovery
codes are hashed like passwords, and the TOTP secret is the only secret stored as is (the
server must compute codes from it), never returned by the API after enrolment.

Times are aware UTC datetimes. Ids are ULIDs (``domain/ids.py``).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import msgspec

__all__ = [
    "ApiToken",
    "AuditEntry",
    "AuditKind",
    "LoginFailures",
    "Role",
    "Scope",
    "Session",
    "User",
]


class Role(enum.StrEnum):
    ADMIN = "admin"
    """May change any event and manage users."""
    MEMBER = "member"
    """May change only the events they own."""


class Scope(enum.StrEnum):
    """What an API token may do."""

    EVENTS_READ = "events:read"
    EVENTS_WRITE = "events:write"
    ADMIN = "admin"


class User(msgspec.Struct, frozen=True):
    """An account.

    - ``failed_logins``: consecutive failed logins since the last success (the lock counts
      these); ``locked``: set after too many, lifted by a login with a correct second
      factor or by an admin.
    - ``totp_secret``: base32, ``None`` until enrolment starts; ``totp_enabled`` once a code
      confirmed it; ``totp_last_step``: the last accepted time step (a code is accepted once).
    - ``recovery_codes``: PHC strings of the unused recovery codes.
    - ``password_must_change``: see below.
    """

    id: str
    username: str
    role: Role
    password_hash: str
    created_at: datetime
    password_changed_at: datetime
    failed_logins: int = 0
    last_failed_login_at: datetime | None = None
    """When the last failed login was: the throttle's wait runs from it (auth/throttle.py)."""
    locked: bool = False
    totp_secret: str | None = None
    totp_enabled: bool = False
    totp_last_step: int | None = None
    recovery_codes: tuple[str, ...] = ()
    password_must_change: bool = False
    """The password was set by an admin or the operator (a reset): the next login must
    choose a new one."""


class LoginFailures(msgspec.Struct, frozen=True):
    """Consecutive failed logins of a username that has no account, kept as ``User``
    keeps them for an account, so that both are throttled alike on every replica."""

    failures: int = 0
    last_failed_at: datetime | None = None


class Session(msgspec.Struct, frozen=True):
    """A login: the client holds an opaque token, the server its hash.

    Valid while not revoked, ``now - last_seen_at < idle timeout`` and ``now < expires_at``
    (the absolute timeout, fixed at login).
    """

    id: str
    user_id: str
    token_hash: bytes
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client_address: str
    user_agent: str
    revoked_at: datetime | None = None


class ApiToken(msgspec.Struct, frozen=True):
    """A personal token with scopes and an expiry; shown once, stored as its hash."""

    id: str
    user_id: str
    name: str
    token_hash: bytes
    scopes: frozenset[Scope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class AuditKind(enum.StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOCKED = "locked"
    UNLOCKED = "unlocked"
    LOGOUT = "logout"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an event's name, not a secret
    TOTP_ENROLLED = "totp_enrolled"
    TOTP_ENABLED = "totp_enabled"
    TOTP_DISABLED = "totp_disabled"
    RECOVERY_CODE_USED = "recovery_code_used"
    SESSION_TERMINATED = "session_terminated"
    TOKEN_CREATED = "token_created"  # noqa: S105 - an event's name, not a secret
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 - an event's name, not a secret
    TOKEN_USED = "token_used"  # noqa: S105 - an event's name, not a secret
    USER_CREATED = "user_created"
    ROLE_CHANGED = "role_changed"
    USER_DELETED = "user_deleted"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an event's name, not a secret
    TOTP_RESET = "totp_reset"
    """Two-step verification turned off by an admin or the operator (a lost phone)."""


class AuditEntry(msgspec.Struct, frozen=True):
    """One security event, appended and never changed. ``user_id`` is ``None`` when the
    event names no known account (a login for an unknown username)."""

    id: str
    at: datetime
    kind: AuditKind
    user_id: str | None
    client_address: str
    detail: dict[str, Any] = msgspec.field(default_factory=dict)
