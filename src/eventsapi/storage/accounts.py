"""The account tables (migrations 0004 and 0005) as both SQL backends read and write them.

Users, sessions, API tokens, the audit log, and the failed logins of unknown names. The SQL
is the same for SQLite and PostgreSQL but for the placeholder (``?`` or ``%s``), so
:func:`statements` builds it once per backend, and the row conversion is shared too
(``account_rows.py``):

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
from datetime import datetime
from typing import Any, ClassVar, Final

import msgspec

from eventsapi.domain.accounts import (
    Role,
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
    "check_limit",
    "check_not_last_admin",
    "statements",
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
    "password_must_change",
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


class Statements(msgspec.Struct, frozen=True):
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
    delete_user: str
    """``(id,)``: after ``delete_sessions_of`` and ``delete_tokens_of`` (foreign keys)."""
    delete_sessions_of: str
    """``(user_id,)``."""
    delete_tokens_of: str
    """``(user_id,)``."""
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
        delete_user=f"DELETE FROM users WHERE id = {p}",
        delete_sessions_of=f"DELETE FROM sessions WHERE user_id = {p}",
        delete_tokens_of=f"DELETE FROM api_tokens WHERE user_id = {p}",
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
