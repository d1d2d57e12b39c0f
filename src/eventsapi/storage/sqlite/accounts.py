"""The account part of the SQLite backend: users, sessions, API tokens, the audit log.

A mixin of ``SQLiteStore``, which gives it its two connections: reads run on the shared
read-only connection (WAL: each sees every commit made before it, by any process on the
file, so a revocation holds at once), writes are jobs of the writer thread. Each write job
makes one statement that can fail on its own, as ``writer.Job`` requires; a
collision (``ON CONFLICT DO NOTHING``) changes no row and raises after it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

import msgspec

from eventsapi.domain.accounts import ApiToken, AuditEntry, LoginFailures, Role, Session, User
from eventsapi.domain.query import utc_text
from eventsapi.errors import AlreadyExists, NotFound
from eventsapi.storage import account_rows as rows
from eventsapi.storage import accounts as tables
from eventsapi.storage.sqlite.connection import Connections

_SQL: Final = tables.statements("?")


def _inserted(conn: sqlite3.Connection, sql: str, params: tuple[object, ...], what: str) -> None:
    """Insert a row that may collide (``AlreadyExists``) or name an unknown user (``NotFound``)."""
    try:
        inserted = conn.execute(sql, params).rowcount
    except sqlite3.IntegrityError as exc:
        if "FOREIGN KEY" in str(exc):
            raise NotFound(f"The {what} names no existing user.") from None
        raise
    if inserted == 0:
        raise AlreadyExists(f"The {what}'s id or unique value is taken.")


def _update_user(
    user_id: str, change: Callable[[User], User]
) -> Callable[[sqlite3.Connection], User]:
    def work(conn: sqlite3.Connection) -> User:
        row = conn.execute(_SQL.user_by_id, (user_id,)).fetchone()
        if row is None:
            raise NotFound(f"No user with id {user_id!r}.")
        updated = change(rows.user(row))
        if updated.id != user_id:
            raise ValueError("update_user cannot change a user's id")
        params = rows.user_params(updated)
        try:
            conn.execute(_SQL.update_user, (*params[1:], user_id))
        except sqlite3.IntegrityError:
            raise AlreadyExists("A user with this username already exists.") from None
        return updated

    return work


def _change_role(user_id: str, role: Role) -> Callable[[sqlite3.Connection], User]:
    def work(conn: sqlite3.Connection) -> User:
        row = conn.execute(_SQL.user_by_id, (user_id,)).fetchone()
        if row is None:
            raise NotFound(f"No user with id {user_id!r}.")
        current = rows.user(row)
        admins = len(conn.execute(_SQL.admin_ids).fetchall())
        tables.check_not_last_admin(current.role, role, admins)
        conn.execute(_SQL.set_role, (role.value, user_id))
        return msgspec.structs.replace(current, role=role)

    return work


def _delete_user(user_id: str) -> Callable[[sqlite3.Connection], User]:
    def work(conn: sqlite3.Connection) -> User:
        row = conn.execute(_SQL.user_by_id, (user_id,)).fetchone()
        if row is None:
            raise NotFound(f"No user with id {user_id!r}.")
        current = rows.user(row)
        admins = len(conn.execute(_SQL.admin_ids).fetchall())
        tables.check_not_last_admin(current.role, Role.MEMBER, admins)
        # Several rows, so in a savepoint of its own (see ``writer.Job``).
        conn.execute("SAVEPOINT delete_user")
        try:
            for sql in (_SQL.delete_sessions_of, _SQL.delete_tokens_of, _SQL.delete_user):
                conn.execute(sql, (user_id,))
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK TO delete_user")
                conn.execute("RELEASE delete_user")
            raise
        conn.execute("RELEASE delete_user")
        return current

    return work


def _update_unknown_login(
    name: str, change: Callable[[LoginFailures], LoginFailures], forget_before: datetime
) -> Callable[[sqlite3.Connection], LoginFailures]:
    def work(conn: sqlite3.Connection) -> LoginFailures:
        conn.execute(_SQL.forget_unknown_logins, (utc_text(forget_before),))
        row = conn.execute(_SQL.unknown_login, (name,)).fetchone()
        updated = change(rows.login_failures(row, forget_before))
        if updated.last_failed_at is None:
            raise ValueError("update_unknown_login needs the time of the failure")
        params = (name, updated.failures, utc_text(updated.last_failed_at))
        conn.execute(_SQL.set_unknown_login, params)
        return updated

    return work


def _update_client_logins(
    client: str,
    change: Callable[[tuple[datetime, ...]], tuple[datetime, ...]],
    forget_before: datetime,
) -> Callable[[sqlite3.Connection], tuple[datetime, ...]]:
    # The writer thread runs one job at a time, in a BEGIN IMMEDIATE transaction that other
    # processes on the file wait for: nothing changes the row between the read and the write.
    def work(conn: sqlite3.Connection) -> tuple[datetime, ...]:
        conn.execute(_SQL.forget_client_logins, (utc_text(forget_before),))
        row = conn.execute(_SQL.client_logins, (client,)).fetchone()
        updated = tuple(sorted(change(rows.client_logins(row, forget_before))))
        if updated:
            conn.execute(_SQL.set_client_logins, rows.client_logins_params(client, updated))
        else:
            conn.execute(_SQL.drop_client_logins, (client,))
        return updated

    return work


class SQLiteAccounts(tables.OneStatementWrites, Connections):
    """Account methods of the SQLite store."""

    sql = _SQL

    async def _change(self, sql: str, params: tuple[Any, ...]) -> int:
        """Run one UPDATE on the writer thread; how many rows it changed."""
        return await self._write(lambda conn: int(conn.execute(sql, params).rowcount))

    # -- users ---------------------------------------------------------------------

    async def create_user(self, user: User) -> None:
        params = rows.user_params(user)
        await self._write(lambda conn: _inserted(conn, _SQL.insert_user, params, "user"))

    async def user_by_id(self, user_id: str) -> User | None:
        row = self._read().execute(_SQL.user_by_id, (user_id,)).fetchone()
        return None if row is None else rows.user(row)

    async def user_by_name(self, username: str) -> User | None:
        row = self._read().execute(_SQL.user_by_name, (username,)).fetchone()
        return None if row is None else rows.user(row)

    async def count_users(self) -> int:
        return int(self._read().execute(_SQL.count_users).fetchone()[0])

    async def list_users(self) -> list[User]:
        return [rows.user(row) for row in self._read().execute(_SQL.list_users)]

    async def update_user(self, user_id: str, change: Callable[[User], User]) -> User:
        return await self._write(_update_user(user_id, change))

    async def change_role(self, user_id: str, role: Role) -> User:
        # One writer thread runs every write in turn: the count cannot change meanwhile.
        return await self._write(_change_role(user_id, role))

    async def delete_user(self, user_id: str) -> User:
        return await self._write(_delete_user(user_id))

    async def update_unknown_login(
        self,
        name: str,
        change: Callable[[LoginFailures], LoginFailures],
        *,
        forget_before: datetime,
    ) -> LoginFailures:
        return await self._write(_update_unknown_login(name, change, forget_before))

    async def update_client_logins(
        self,
        client: str,
        change: Callable[[tuple[datetime, ...]], tuple[datetime, ...]],
        *,
        forget_before: datetime,
    ) -> tuple[datetime, ...]:
        return await self._write(_update_client_logins(client, change, forget_before))

    # -- sessions ------------------------------------------------------------------

    async def add_session(self, session: Session) -> None:
        params = rows.session_params(session)
        await self._write(lambda conn: _inserted(conn, _SQL.insert_session, params, "session"))

    async def session_by_token(self, token_hash: bytes) -> tuple[Session, User] | None:
        row = self._read().execute(_SQL.session_by_token, (token_hash,)).fetchone()
        return None if row is None else rows.session_and_user(row)

    async def sessions_of(self, user_id: str) -> list[Session]:
        return [rows.session(row) for row in self._read().execute(_SQL.sessions_of, (user_id,))]

    # -- API tokens ----------------------------------------------------------------

    async def add_token(self, token: ApiToken) -> None:
        params = rows.token_params(token)
        await self._write(lambda conn: _inserted(conn, _SQL.insert_token, params, "API token"))

    async def token_by_hash(self, token_hash: bytes) -> tuple[ApiToken, User] | None:
        row = self._read().execute(_SQL.token_by_hash, (token_hash,)).fetchone()
        return None if row is None else rows.token_and_user(row)

    async def tokens_of(self, user_id: str) -> list[ApiToken]:
        return [rows.token(row) for row in self._read().execute(_SQL.tokens_of, (user_id,))]

    async def prune_ended(self, before: datetime) -> tuple[int, int]:
        limit = (utc_text(before), utc_text(before))

        def prune(conn: sqlite3.Connection) -> tuple[int, int]:
            sessions = conn.execute(_SQL.prune_sessions, limit).rowcount
            return sessions, conn.execute(_SQL.prune_tokens, limit).rowcount

        return await self._write(prune)

    # -- audit log -----------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry) -> None:
        params = rows.audit_params(entry)
        await self._write(lambda conn: _inserted(conn, _SQL.insert_audit, params, "audit entry"))

    async def audit_of(
        self, user_id: str, *, limit: int = 100, before: str | None = None
    ) -> list[AuditEntry]:
        tables.check_limit(limit)
        if before is None:
            found = self._read().execute(_SQL.audit_of, (user_id, limit))
        else:
            found = self._read().execute(_SQL.audit_of_before, (user_id, before, limit))
        return [rows.audit_entry(row) for row in found]
