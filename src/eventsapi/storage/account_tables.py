"""The account tables (migrations 0004 and 0005) as both SQL backends read and write them.

Users, sessions, API tokens, the audit log, and the failed logins of unknown names. The SQL
is the same for SQLite and PostgreSQL but for the placeholder (``?`` or ``%s``), so
:func:`statements` builds it once per backend, and the row conversion is shared too:

- instants are written as UTC ISO 8601 text (``domain.query.utc_text``): SQLite keeps that text,
  PostgreSQL casts it to ``timestamptz`` (psycopg sends a ``str`` untyped); read back in UTC;
- a token hash is bytes (BLOB, bytea); booleans are 0/1 on SQLite, boolean on PostgreSQL;
- recovery codes are a JSON array of PHC strings; scopes are their names, sorted and joined
  by spaces (as OAuth writes scopes); an audit entry's detail is a JSON object (text on
  SQLite, jsonb on PostgreSQL).

Writes that may collide insert with ``ON CONFLICT DO NOTHING``: a taken id, username or token
hash changes no row (the backend raises ``AlreadyExists``) and, on PostgreSQL, leaves the
transaction usable.
"""

# Every fragment joined into SQL here is a constant of this module; values are always bound
# parameters.
# ruff: noqa: S608

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

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
from eventsapi.errors import Forbidden

__all__ = [
    "AUDIT_COLUMNS",
    "SESSION_COLUMNS",
    "TOKEN_COLUMNS",
    "USER_COLUMNS",
    "OneStatementWrites",
    "Statements",
    "audit_entry",
    "audit_params",
    "check_limit",
    "check_not_last_admin",
    "login_failures",
    "session",
    "session_and_user",
    "session_params",
    "statements",
    "token",
    "token_and_user",
    "token_params",
    "user",
    "user_params",
]

USER_COLUMNS: Final = (
    "id",
    "username",
    "role",
    "password_hash",
    "created_at",
    "password_changed_at",
    "failed_logins",
    "last_failed_login_at",
    "locked",
    "totp_secret",
    "totp_enabled",
    "totp_last_step",
    "recovery_codes",
)
SESSION_COLUMNS: Final = (
    "id",
    "user_id",
    "token_hash",
    "created_at",
    "last_seen_at",
    "expires_at",
    "client_address",
    "user_agent",
    "revoked_at",
)
TOKEN_COLUMNS: Final = (
    "id",
    "user_id",
    "name",
    "token_hash",
    "scopes",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
)
AUDIT_COLUMNS: Final = ("id", "at", "kind", "user_id", "client_address", "detail")

_encode = msgspec.json.Encoder().encode
_decode_codes = msgspec.json.Decoder(tuple[str, ...]).decode
_decode_times = msgspec.json.Decoder(list[str]).decode
_decode_detail = msgspec.json.Decoder(dict[str, Any]).decode


@dataclass(frozen=True, slots=True)
class Statements:
    """Every account statement of one backend, its placeholders filled in."""

    insert_user: str
    user_by_id: str
    """PostgreSQL appends ``FOR UPDATE`` to lock the row for ``update_user``."""
    user_by_name: str
    count_users: str
    list_users: str
    update_user: str
    """``USER_COLUMNS`` but the id, then the id."""
    admin_ids: str
    """The ids of the admins, in one order (locks taken in it cannot deadlock);
    PostgreSQL appends ``FOR UPDATE`` (``change_role``)."""
    set_role: str
    """``(role, id)``."""
    insert_session: str
    session_by_token: str
    touch_session: str
    """``(at, id, at)``: never moves ``last_seen_at`` back (touches can arrive out of order)."""
    sessions_of: str
    revoke_session: str
    revoke_all_sessions: str
    revoke_other_sessions: str
    insert_token: str
    token_by_hash: str
    tokens_of: str
    revoke_token: str
    touch_token: str
    insert_audit: str
    audit_of: str
    audit_of_before: str
    prune_sessions: str
    """``(before, before)``: delete the sessions that ended (expired or revoked) before."""
    prune_tokens: str
    """``(before, before)``: delete the API tokens that ended (expired or revoked) before."""
    forget_unknown_logins: str
    """``(before,)``: forget the names whose last failure is before ``before``."""
    unknown_login: str
    """``(name,)``: a name's ``(failures, last_failed_at)``; PostgreSQL appends ``FOR
    UPDATE``, after ``hold_unknown_login`` made the row exist."""
    hold_unknown_login: str
    """``(name, at)``: a row for the name (0 failures) unless it has one."""
    set_unknown_login: str
    """``(name, failures, at)``: insert or replace the name's row."""
    forget_client_logins: str
    """``(before,)``: forget the clients whose latest attempt is before ``before``."""
    client_logins: str
    """``(client,)``: a client's ``(attempts,)`` (JSON); PostgreSQL appends ``FOR UPDATE``,
    after ``hold_client_logins`` made the row exist."""
    hold_client_logins: str
    """``(client, at)``: a row for the client (no attempt) unless it has one."""
    set_client_logins: str
    """``(client, attempts, latest)``: insert or replace the client's row."""
    drop_client_logins: str
    """``(client,)``: delete the client's row."""


def _columns(table: str, columns: Sequence[str]) -> str:
    return ", ".join(f"{table}.{column}" for column in columns)


def statements(p: str) -> Statements:
    """The statements with ``p`` (``?`` or ``%s``) as the placeholder."""

    def insert(table: str, columns: Sequence[str]) -> str:
        values = ", ".join([p] * len(columns))
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values}) ON CONFLICT DO NOTHING"
        )

    users = _columns("users", USER_COLUMNS)
    sessions = _columns("sessions", SESSION_COLUMNS)
    tokens = _columns("api_tokens", TOKEN_COLUMNS)
    changed = ", ".join(f"{column} = {p}" for column in USER_COLUMNS[1:])
    return Statements(
        insert_user=insert("users", USER_COLUMNS),
        user_by_id=f"SELECT {users} FROM users WHERE id = {p}",
        user_by_name=f"SELECT {users} FROM users WHERE username = {p}",
        count_users="SELECT count(*) FROM users",
        list_users=f"SELECT {users} FROM users ORDER BY username",
        update_user=f"UPDATE users SET {changed} WHERE id = {p}",
        admin_ids=f"SELECT id FROM users WHERE role = '{Role.ADMIN.value}' ORDER BY id",
        set_role=f"UPDATE users SET role = {p} WHERE id = {p}",
        insert_session=insert("sessions", SESSION_COLUMNS),
        session_by_token=(
            f"SELECT {sessions}, {users} FROM sessions JOIN users ON users.id = sessions.user_id"
            f" WHERE sessions.token_hash = {p}"
        ),
        touch_session=(
            f"UPDATE sessions SET last_seen_at = {p} WHERE id = {p} AND last_seen_at < {p}"
        ),
        sessions_of=(
            f"SELECT {sessions} FROM sessions WHERE user_id = {p} AND revoked_at IS NULL"
            " ORDER BY created_at DESC, id DESC"
        ),
        revoke_session=(
            f"UPDATE sessions SET revoked_at = {p}"
            f" WHERE id = {p} AND user_id = {p} AND revoked_at IS NULL"
        ),
        revoke_all_sessions=(
            f"UPDATE sessions SET revoked_at = {p} WHERE user_id = {p} AND revoked_at IS NULL"
        ),
        revoke_other_sessions=(
            f"UPDATE sessions SET revoked_at = {p}"
            f" WHERE user_id = {p} AND revoked_at IS NULL AND id <> {p}"
        ),
        insert_token=insert("api_tokens", TOKEN_COLUMNS),
        token_by_hash=(
            f"SELECT {tokens}, {users} FROM api_tokens"
            f" JOIN users ON users.id = api_tokens.user_id WHERE api_tokens.token_hash = {p}"
        ),
        tokens_of=(
            f"SELECT {tokens} FROM api_tokens WHERE user_id = {p} AND revoked_at IS NULL"
            " ORDER BY created_at DESC, id DESC"
        ),
        revoke_token=(
            f"UPDATE api_tokens SET revoked_at = {p}"
            f" WHERE id = {p} AND user_id = {p} AND revoked_at IS NULL"
        ),
        touch_token=(
            f"UPDATE api_tokens SET last_used_at = {p}"
            f" WHERE id = {p} AND (last_used_at IS NULL OR last_used_at < {p})"
        ),
        insert_audit=insert("audit_log", AUDIT_COLUMNS),
        audit_of=(
            f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit_log WHERE user_id = {p}"
            f" ORDER BY id DESC LIMIT {p}"
        ),
        audit_of_before=(
            f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit_log WHERE user_id = {p} AND id < {p}"
            f" ORDER BY id DESC LIMIT {p}"
        ),
        prune_sessions=f"DELETE FROM sessions WHERE expires_at < {p} OR revoked_at < {p}",
        prune_tokens=f"DELETE FROM api_tokens WHERE expires_at < {p} OR revoked_at < {p}",
        # Rows another writer holds are left to it (SKIP LOCKED, on PostgreSQL): two
        # writers forgetting the same rows in different orders would deadlock.
        forget_unknown_logins=(
            "DELETE FROM unknown_logins WHERE name IN (SELECT name FROM unknown_logins"
            f" WHERE last_failed_at < {p}{' FOR UPDATE SKIP LOCKED' if p == '%s' else ''})"
        ),
        unknown_login=f"SELECT failures, last_failed_at FROM unknown_logins WHERE name = {p}",
        hold_unknown_login=(
            "INSERT INTO unknown_logins (name, failures, last_failed_at)"
            f" VALUES ({p}, 0, {p}) ON CONFLICT DO NOTHING"
        ),
        set_unknown_login=(
            "INSERT INTO unknown_logins (name, failures, last_failed_at)"
            f" VALUES ({p}, {p}, {p}) ON CONFLICT (name) DO UPDATE"
            " SET failures = excluded.failures, last_failed_at = excluded.last_failed_at"
        ),
        forget_client_logins=(
            "DELETE FROM client_logins WHERE client IN (SELECT client FROM client_logins"
            f" WHERE latest_at < {p}{' FOR UPDATE SKIP LOCKED' if p == '%s' else ''})"
        ),
        client_logins=f"SELECT attempts FROM client_logins WHERE client = {p}",
        hold_client_logins=(
            "INSERT INTO client_logins (client, attempts, latest_at)"
            f" VALUES ({p}, '[]', {p}) ON CONFLICT DO NOTHING"
        ),
        set_client_logins=(
            "INSERT INTO client_logins (client, attempts, latest_at)"
            f" VALUES ({p}, {p}, {p}) ON CONFLICT (client) DO UPDATE"
            " SET attempts = excluded.attempts, latest_at = excluded.latest_at"
        ),
        drop_client_logins=f"DELETE FROM client_logins WHERE client = {p}",
    )


class OneStatementWrites(ABC):
    """The account writes that are one statement each, the same on both SQL backends.

    A backend gives ``sql``, its statements, and ``_change``: one statement run in a
    transaction of its own, returning how many rows it changed.
    """

    sql: ClassVar[Statements]

    @abstractmethod
    async def _change(self, sql: str, params: tuple[Any, ...]) -> int: ...

    async def touch_session(self, session_id: str, at: datetime) -> None:
        await self._change(self.sql.touch_session, (utc_text(at), session_id, utc_text(at)))

    async def revoke_session(self, session_id: str, *, user_id: str, at: datetime) -> bool:
        return await self._change(self.sql.revoke_session, (utc_text(at), session_id, user_id)) == 1

    async def revoke_sessions(self, user_id: str, *, at: datetime, keep: str | None = None) -> int:
        if keep is None:
            return await self._change(self.sql.revoke_all_sessions, (utc_text(at), user_id))
        return await self._change(self.sql.revoke_other_sessions, (utc_text(at), user_id, keep))

    async def revoke_token(self, token_id: str, *, user_id: str, at: datetime) -> bool:
        return await self._change(self.sql.revoke_token, (utc_text(at), token_id, user_id)) == 1

    async def touch_token(self, token_id: str, at: datetime) -> None:
        await self._change(self.sql.touch_token, (utc_text(at), token_id, utc_text(at)))


def check_not_last_admin(current: Role, new: Role, admins: int) -> None:
    """``Forbidden`` if a change from ``current`` to ``new`` would leave no admin, with
    ``admins`` the admins there are (the user among them if they are one)."""
    if current is Role.ADMIN and new is not Role.ADMIN and admins <= 1:
        raise Forbidden("This is the last admin: make another admin first.")


def check_limit(limit: int) -> None:
    if limit < 0:
        raise ValueError(f"a limit is a count >= 0, not {limit}")


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
