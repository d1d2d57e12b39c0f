"""The account part of the PostgreSQL backend: users, sessions, API tokens, the audit log.

A mixin of ``PostgresStore``, which gives it its reads (retried on a broken connection) and
writes (one transaction each). ``update_user`` locks the user's row (``SELECT ... FOR
UPDATE``) before running the caller's change, so concurrent updates from any replica queue.
Every read is a new statement on a pooled connection in autocommit: it sees every commit
made before it, so a revocation holds on every replica at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

import msgspec
import psycopg

from eventsapi.domain.accounts import ApiToken, AuditEntry, LoginFailures, Role, Session, User
from eventsapi.domain.query import utc_text
from eventsapi.errors import AlreadyExists, NotFound
from eventsapi.storage import account_rows as rows
from eventsapi.storage import accounts as tables
from eventsapi.storage.postgres.connection import Connection, Connections

_SQL: Final = tables.statements("%s")
_USER_FOR_UPDATE: Final = _SQL.user_by_id + " FOR UPDATE"
_UNKNOWN_LOGIN_FOR_UPDATE: Final = _SQL.unknown_login + " FOR UPDATE"
_CLIENT_LOGINS_FOR_UPDATE: Final = _SQL.client_logins + " FOR UPDATE"
_ADMINS_FOR_UPDATE: Final = _SQL.admin_ids + " FOR UPDATE"


async def _insert(conn: Connection, sql: str, params: tuple[Any, ...], what: str) -> None:
    """Insert a row that may collide (``AlreadyExists``) or name an unknown user (``NotFound``)."""
    try:
        inserted = (await conn.execute(sql, params)).rowcount
    except psycopg.errors.ForeignKeyViolation:
        raise NotFound(f"The {what} names no existing user.") from None
    if inserted == 0:
        raise AlreadyExists(f"The {what}'s id or unique value is taken.")


async def _one(conn: Connection, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
    return await (await conn.execute(sql, params)).fetchone()


class PostgresAccounts(tables.OneStatementWrites, Connections):
    """Account methods of the PostgreSQL store."""

    sql = _SQL

    async def _row(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        async def work(conn: Connection) -> tuple[Any, ...] | None:
            return await _one(conn, sql, params)

        return await self._read(work)

    async def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        async def work(conn: Connection) -> list[tuple[Any, ...]]:
            return await (await conn.execute(sql, params)).fetchall()

        return await self._read(work)

    async def _insert(self, sql: str, params: tuple[Any, ...], what: str) -> None:
        async def work(conn: Connection) -> None:
            await _insert(conn, sql, params, what)

        await self._write(work)

    async def _change(self, sql: str, params: tuple[Any, ...]) -> int:
        """Run one UPDATE in a transaction of its own; how many rows it changed."""

        async def work(conn: Connection) -> int:
            return (await conn.execute(sql, params)).rowcount

        return await self._write(work)

    # -- users ---------------------------------------------------------------------

    async def create_user(self, user: User) -> None:
        await self._insert(_SQL.insert_user, rows.user_params(user), "user")

    async def user_by_id(self, user_id: str) -> User | None:
        row = await self._row(_SQL.user_by_id, (user_id,))
        return None if row is None else rows.user(row)

    async def user_by_name(self, username: str) -> User | None:
        row = await self._row(_SQL.user_by_name, (username,))
        return None if row is None else rows.user(row)

    async def count_users(self) -> int:
        row = await self._row(_SQL.count_users)
        return 0 if row is None else int(row[0])

    async def list_users(self) -> list[User]:
        return [rows.user(row) for row in await self._rows(_SQL.list_users)]

    async def update_user(self, user_id: str, change: Callable[[User], User]) -> User:
        async def work(conn: Connection) -> User:
            row = await _one(conn, _USER_FOR_UPDATE, (user_id,))
            if row is None:
                raise NotFound(f"No user with id {user_id!r}.")
            updated = change(rows.user(row))
            if updated.id != user_id:
                raise ValueError("update_user cannot change a user's id")
            params = rows.user_params(updated)
            try:
                await conn.execute(_SQL.update_user, (*params[1:], user_id))
            except psycopg.errors.UniqueViolation:
                raise AlreadyExists("A user with this username already exists.") from None
            return updated

        return await self._write(work)

    async def change_role(self, user_id: str, role: Role) -> User:
        async def work(conn: Connection) -> User:
            # Lock every admin first: a concurrent demotion waits here, then counts again
            # without the admin this one demoted (READ COMMITTED re-reads locked rows).
            admins = len(await (await conn.execute(_ADMINS_FOR_UPDATE)).fetchall())
            row = await _one(conn, _USER_FOR_UPDATE, (user_id,))
            if row is None:
                raise NotFound(f"No user with id {user_id!r}.")
            current = rows.user(row)
            tables.check_not_last_admin(current.role, role, admins)
            await conn.execute(_SQL.set_role, (role.value, user_id))
            return msgspec.structs.replace(current, role=role)

        return await self._write(work)

    async def delete_user(self, user_id: str) -> User:
        async def work(conn: Connection) -> User:
            # Admins locked first, as change_role does: deleting and demoting at once
            # cannot leave no admin.
            admins = len(await (await conn.execute(_ADMINS_FOR_UPDATE)).fetchall())
            row = await _one(conn, _USER_FOR_UPDATE, (user_id,))
            if row is None:
                raise NotFound(f"No user with id {user_id!r}.")
            current = rows.user(row)
            tables.check_not_last_admin(current.role, Role.MEMBER, admins)
            for sql in (_SQL.delete_sessions_of, _SQL.delete_tokens_of, _SQL.delete_user):
                await conn.execute(sql, (user_id,))
            return current

        return await self._write(work)

    async def update_unknown_login(
        self,
        name: str,
        change: Callable[[LoginFailures], LoginFailures],
        *,
        forget_before: datetime,
    ) -> LoginFailures:
        before = utc_text(forget_before)

        async def work(conn: Connection) -> LoginFailures:
            await conn.execute(_SQL.forget_unknown_logins, (before,))
            # A row to lock, so that concurrent failures of one name queue as an account's.
            await conn.execute(_SQL.hold_unknown_login, (name, before))
            row = await _one(conn, _UNKNOWN_LOGIN_FOR_UPDATE, (name,))
            updated = change(rows.login_failures(row, forget_before))
            if updated.last_failed_at is None:
                raise ValueError("update_unknown_login needs the time of the failure")
            params = (name, updated.failures, utc_text(updated.last_failed_at))
            await conn.execute(_SQL.set_unknown_login, params)
            return updated

        return await self._write(work)

    async def update_client_logins(
        self,
        client: str,
        change: Callable[[tuple[datetime, ...]], tuple[datetime, ...]],
        *,
        forget_before: datetime,
    ) -> tuple[datetime, ...]:
        before = utc_text(forget_before)

        async def work(conn: Connection) -> tuple[datetime, ...]:
            await conn.execute(_SQL.forget_client_logins, (before,))
            # A row to lock: concurrent attempts of one client, from any replica, queue on
            # it, and each decides on the reservations committed before it.
            await conn.execute(_SQL.hold_client_logins, (client, before))
            row = await _one(conn, _CLIENT_LOGINS_FOR_UPDATE, (client,))
            updated = tuple(sorted(change(rows.client_logins(row, forget_before))))
            if updated:
                params = rows.client_logins_params(client, updated)
                await conn.execute(_SQL.set_client_logins, params)
            else:
                await conn.execute(_SQL.drop_client_logins, (client,))
            return updated

        return await self._write(work)

    # -- sessions ------------------------------------------------------------------

    async def add_session(self, session: Session) -> None:
        await self._insert(_SQL.insert_session, rows.session_params(session), "session")

    async def session_by_token(self, token_hash: bytes) -> tuple[Session, User] | None:
        row = await self._row(_SQL.session_by_token, (token_hash,))
        return None if row is None else rows.session_and_user(row)

    async def sessions_of(self, user_id: str) -> list[Session]:
        return [rows.session(row) for row in await self._rows(_SQL.sessions_of, (user_id,))]

    # -- API tokens ----------------------------------------------------------------

    async def add_token(self, token: ApiToken) -> None:
        await self._insert(_SQL.insert_token, rows.token_params(token), "API token")

    async def token_by_hash(self, token_hash: bytes) -> tuple[ApiToken, User] | None:
        row = await self._row(_SQL.token_by_hash, (token_hash,))
        return None if row is None else rows.token_and_user(row)

    async def tokens_of(self, user_id: str) -> list[ApiToken]:
        return [rows.token(row) for row in await self._rows(_SQL.tokens_of, (user_id,))]

    async def prune_ended(self, before: datetime) -> tuple[int, int]:
        limit = (utc_text(before), utc_text(before))

        async def prune(conn: Connection) -> tuple[int, int]:
            sessions = (await conn.execute(_SQL.prune_sessions, limit)).rowcount
            return sessions, (await conn.execute(_SQL.prune_tokens, limit)).rowcount

        return await self._write(prune)

    # -- audit log -----------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry) -> None:
        await self._insert(_SQL.insert_audit, rows.audit_params(entry), "audit entry")

    async def audit_of(
        self, user_id: str, *, limit: int = 100, before: str | None = None
    ) -> list[AuditEntry]:
        tables.check_limit(limit)
        if before is None:
            found = await self._rows(_SQL.audit_of, (user_id, limit))
        else:
            found = await self._rows(_SQL.audit_of_before, (user_id, before, limit))
        return [rows.audit_entry(row) for row in found]
