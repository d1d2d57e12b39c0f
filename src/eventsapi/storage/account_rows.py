"""The account tables' rows as both SQL backends write and read them (see ``accounts.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from eventsapi.domain.accounts import (
    ApiToken,
    AuditEntry,
    AuditKind,
    LoginFailures,
    Role,
    Scope,
    Session,
    User,
)
from eventsapi.domain.query import utc_text
from eventsapi.storage.accounts import SESSION_COLUMNS, TOKEN_COLUMNS

__all__ = [
    "audit_entry",
    "audit_params",
    "login_failures",
    "session",
    "session_and_user",
    "session_params",
    "token",
    "token_and_user",
    "token_params",
    "user",
    "user_params",
]

_encode = msgspec.json.Encoder().encode
_decode_codes = msgspec.json.Decoder(tuple[str, ...]).decode
_decode_times = msgspec.json.Decoder(list[str]).decode
_decode_detail = msgspec.json.Decoder(dict[str, Any]).decode


# -- values to parameters ---------------------------------------------------------------


def _text(instant: datetime | None) -> str | None:
    return None if instant is None else utc_text(instant)


def user_params(user: User) -> tuple[Any, ...]:
    """The values of ``USER_COLUMNS``, in order."""
    return (
        user.id,
        user.username,
        user.role.value,
        user.password_hash,
        utc_text(user.created_at),
        utc_text(user.password_changed_at),
        user.failed_logins,
        _text(user.last_failed_login_at),
        user.locked,
        user.totp_secret,
        user.totp_enabled,
        user.totp_last_step,
        _encode(list(user.recovery_codes)).decode(),
        user.password_must_change,
    )


def session_params(session: Session) -> tuple[Any, ...]:
    """The values of ``SESSION_COLUMNS``, in order."""
    return (
        session.id,
        session.user_id,
        session.token_hash,
        utc_text(session.created_at),
        utc_text(session.last_seen_at),
        utc_text(session.expires_at),
        session.client_address,
        session.user_agent,
        _text(session.revoked_at),
    )


def token_params(token: ApiToken) -> tuple[Any, ...]:
    """The values of ``TOKEN_COLUMNS``, in order."""
    return (
        token.id,
        token.user_id,
        token.name,
        token.token_hash,
        " ".join(sorted(scope.value for scope in token.scopes)),
        utc_text(token.created_at),
        _text(token.expires_at),
        _text(token.last_used_at),
        _text(token.revoked_at),
    )


def audit_params(entry: AuditEntry) -> tuple[Any, ...]:
    """The values of ``AUDIT_COLUMNS``, in order; raises ``TypeError`` for a detail that JSON
    cannot hold, before anything is stored."""
    return (
        entry.id,
        utc_text(entry.at),
        entry.kind.value,
        entry.user_id,
        entry.client_address,
        _encode(entry.detail).decode(),
    )


# -- rows to values (as either driver gives them) -----------------------------------------


def _instant(value: str | datetime) -> datetime:
    """SQLite gives the text written, PostgreSQL a ``timestamptz``: either, in UTC."""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.astimezone(UTC)


def _maybe_instant(value: str | datetime | None) -> datetime | None:
    return None if value is None else _instant(value)


def user(row: Sequence[Any]) -> User:
    """A row of ``USER_COLUMNS``."""
    (
        user_id,
        username,
        role,
        password_hash,
        created_at,
        password_changed_at,
        failed_logins,
        last_failed_login_at,
        locked,
        totp_secret,
        totp_enabled,
        totp_last_step,
        recovery_codes,
        password_must_change,
    ) = row
    return User(
        id=user_id,
        username=username,
        role=Role(role),
        password_hash=password_hash,
        created_at=_instant(created_at),
        password_changed_at=_instant(password_changed_at),
        failed_logins=int(failed_logins),
        last_failed_login_at=_maybe_instant(last_failed_login_at),
        locked=bool(locked),
        totp_secret=totp_secret,
        totp_enabled=bool(totp_enabled),
        totp_last_step=totp_last_step,
        recovery_codes=_decode_codes(recovery_codes),
        password_must_change=bool(password_must_change),
    )


def login_failures(row: Sequence[Any] | None, forget_before: datetime) -> LoginFailures:
    """A row of ``(failures, last_failed_at)``; none, no failure, or a last failure before
    ``forget_before``: ``LoginFailures()``."""
    if row is None or not row[0]:
        return LoginFailures()
    failures, last_failed_at = int(row[0]), _instant(row[1])
    if last_failed_at < forget_before:
        return LoginFailures()
    return LoginFailures(failures, last_failed_at)


def client_logins(row: Sequence[Any] | None, forget_before: datetime) -> tuple[datetime, ...]:
    """A row of ``(attempts,)``: the times after ``forget_before``, oldest first."""
    if row is None:
        return ()
    times = (_instant(text) for text in _decode_times(row[0]))
    return tuple(sorted(t for t in times if t >= forget_before))


def client_logins_params(client: str, times: tuple[datetime, ...]) -> tuple[str, str, str]:
    """``(client, attempts, latest)`` for ``set_client_logins``; ``times`` not empty."""
    ordered = sorted(times)
    return client, _encode([utc_text(t) for t in ordered]).decode(), utc_text(ordered[-1])


def session(row: Sequence[Any]) -> Session:
    """A row of ``SESSION_COLUMNS``."""
    (
        session_id,
        user_id,
        token_hash,
        created_at,
        last_seen_at,
        expires_at,
        client_address,
        user_agent,
        revoked_at,
    ) = row
    return Session(
        id=session_id,
        user_id=user_id,
        token_hash=bytes(token_hash),
        created_at=_instant(created_at),
        last_seen_at=_instant(last_seen_at),
        expires_at=_instant(expires_at),
        client_address=client_address,
        user_agent=user_agent,
        revoked_at=_maybe_instant(revoked_at),
    )


def token(row: Sequence[Any]) -> ApiToken:
    """A row of ``TOKEN_COLUMNS``."""
    (
        token_id,
        user_id,
        name,
        token_hash,
        scopes,
        created_at,
        expires_at,
        last_used_at,
        revoked_at,
    ) = row
    return ApiToken(
        id=token_id,
        user_id=user_id,
        name=name,
        token_hash=bytes(token_hash),
        scopes=frozenset(Scope(scope) for scope in scopes.split()),
        created_at=_instant(created_at),
        expires_at=_maybe_instant(expires_at),
        last_used_at=_maybe_instant(last_used_at),
        revoked_at=_maybe_instant(revoked_at),
    )


def session_and_user(row: Sequence[Any]) -> tuple[Session, User]:
    """A row of ``session_by_token``: the session's columns, then its user's."""
    width = len(SESSION_COLUMNS)
    return session(row[:width]), user(row[width:])


def token_and_user(row: Sequence[Any]) -> tuple[ApiToken, User]:
    """A row of ``token_by_hash``: the token's columns, then its user's."""
    width = len(TOKEN_COLUMNS)
    return token(row[:width]), user(row[width:])


def audit_entry(row: Sequence[Any]) -> AuditEntry:
    """A row of ``AUDIT_COLUMNS`` (psycopg decodes jsonb itself; SQLite gives the text)."""
    entry_id, at, kind, user_id, client_address, detail = row
    return AuditEntry(
        id=entry_id,
        at=_instant(at),
        kind=AuditKind(kind),
        user_id=user_id,
        client_address=client_address,
        detail=_decode_detail(detail) if isinstance(detail, str) else dict(detail),
    )
