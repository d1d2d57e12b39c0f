"""The account part of the memory backend: users, sessions, API tokens, the audit log.

A mixin of ``MemoryStore``. As there, no method awaits, so each is atomic on the event loop
(``update_user`` included). Audit details are kept as JSON and decoded on each read, as the
SQL backends do: a caller that changes a dict it passed or got back cannot change the log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from eventsapi.domain.accounts import ApiToken, AuditEntry, LoginFailures, Role, Session, User
from eventsapi.errors import AlreadyExists, NotFound
from eventsapi.storage.accounts import check_limit, check_not_last_admin

_encode = msgspec.json.Encoder().encode
_decode_detail = msgspec.json.Decoder(dict[str, Any]).decode


def _before(instant: datetime | None, limit: datetime) -> bool:
    return instant is not None and instant < limit


def _ended_before(expires: datetime | None, revoked: datetime | None, limit: datetime) -> bool:
    return _before(expires, limit) or _before(revoked, limit)


class MemoryAccounts:
    """Accounts in dicts, indexed by id and by username or token hash."""

    def __init__(self) -> None:
        super().__init__()
        self._users: dict[str, User] = {}
        self._user_ids: dict[str, str] = {}  # by username
        self._sessions: dict[str, Session] = {}
        self._session_ids: dict[bytes, str] = {}  # by token hash
        self._tokens: dict[str, ApiToken] = {}
        self._token_ids: dict[bytes, str] = {}  # by token hash
        self._audit: dict[str, tuple[AuditEntry, bytes]] = {}  # the entry, its detail as JSON
        self._unknown_logins: dict[str, LoginFailures] = {}
        self._client_logins: dict[str, tuple[datetime, ...]] = {}

    # -- users ---------------------------------------------------------------------

    async def create_user(self, user: User) -> None:
        if user.id in self._users or user.username in self._user_ids:
            raise AlreadyExists(f"A user with id {user.id!r} or this username already exists.")
        self._users[user.id] = user
        self._user_ids[user.username] = user.id

    async def user_by_id(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    async def user_by_name(self, username: str) -> User | None:
        user_id = self._user_ids.get(username)
        return None if user_id is None else self._users[user_id]

    async def count_users(self) -> int:
        return len(self._users)

    async def list_users(self) -> list[User]:
        return sorted(self._users.values(), key=lambda user: user.username)

    async def update_user(self, user_id: str, change: Callable[[User], User]) -> User:
        current = self._users.get(user_id)
        if current is None:
            raise NotFound(f"No user with id {user_id!r}.")
        updated = change(current)
        if updated.id != user_id:
            raise ValueError("update_user cannot change a user's id")
        if updated.username != current.username:
            if updated.username in self._user_ids:
                raise AlreadyExists("A user with this username already exists.")
            del self._user_ids[current.username]
            self._user_ids[updated.username] = user_id
        self._users[user_id] = updated
        return updated

    async def change_role(self, user_id: str, role: Role) -> User:
        current = self._users.get(user_id)
        if current is None:
            raise NotFound(f"No user with id {user_id!r}.")
        admins = sum(1 for user in self._users.values() if user.role is Role.ADMIN)
        check_not_last_admin(current.role, role, admins)
        self._users[user_id] = changed = msgspec.structs.replace(current, role=role)
        return changed

    async def delete_user(self, user_id: str) -> User:
        current = self._users.get(user_id)
        if current is None:
            raise NotFound(f"No user with id {user_id!r}.")
        admins = sum(1 for user in self._users.values() if user.role is Role.ADMIN)
        check_not_last_admin(current.role, Role.MEMBER, admins)
        for session in [s for s in self._sessions.values() if s.user_id == user_id]:
            del self._sessions[session.id], self._session_ids[session.token_hash]
        for token in [t for t in self._tokens.values() if t.user_id == user_id]:
            del self._tokens[token.id], self._token_ids[token.token_hash]
        del self._users[user_id], self._user_ids[current.username]
        return current

    async def update_unknown_login(
        self,
        name: str,
        change: Callable[[LoginFailures], LoginFailures],
        *,
        forget_before: datetime,
    ) -> LoginFailures:
        kept = self._unknown_logins
        current = kept.get(name, LoginFailures())
        if _before(current.last_failed_at, forget_before):
            current = LoginFailures()
        updated = change(current)
        if updated.last_failed_at is None:
            raise ValueError("update_unknown_login needs the time of the failure")
        for stale in [n for n, f in kept.items() if _before(f.last_failed_at, forget_before)]:
            del kept[stale]
        kept[name] = updated
        return updated

    async def update_client_logins(
        self,
        client: str,
        change: Callable[[tuple[datetime, ...]], tuple[datetime, ...]],
        *,
        forget_before: datetime,
    ) -> tuple[datetime, ...]:
        kept = self._client_logins
        current = tuple(sorted(t for t in kept.get(client, ()) if t >= forget_before))
        updated = tuple(sorted(change(current)))
        for stale in [c for c, times in kept.items() if not times or times[-1] < forget_before]:
            del kept[stale]
        if updated:
            kept[client] = updated
        else:
            kept.pop(client, None)
        return updated

    # -- sessions ------------------------------------------------------------------

    async def add_session(self, session: Session) -> None:
        if session.id in self._sessions or session.token_hash in self._session_ids:
            raise AlreadyExists(f"A session with id {session.id!r} or this token exists.")
        if session.user_id not in self._users:
            raise NotFound(f"No user with id {session.user_id!r}.")
        self._sessions[session.id] = session
        self._session_ids[session.token_hash] = session.id

    async def session_by_token(self, token_hash: bytes) -> tuple[Session, User] | None:
        session_id = self._session_ids.get(token_hash)
        if session_id is None:
            return None
        session = self._sessions[session_id]
        return session, self._users[session.user_id]

    async def touch_session(self, session_id: str, at: datetime) -> None:
        session = self._sessions.get(session_id)
        if session is not None and session.last_seen_at < at:
            self._sessions[session_id] = msgspec.structs.replace(session, last_seen_at=at)

    async def sessions_of(self, user_id: str) -> list[Session]:
        found = self._live_sessions(user_id)
        return sorted(found, key=lambda session: (session.created_at, session.id), reverse=True)

    def _live_sessions(self, user_id: str) -> list[Session]:
        return [
            session
            for session in self._sessions.values()
            if session.user_id == user_id and session.revoked_at is None
        ]

    async def revoke_session(self, session_id: str, *, user_id: str, at: datetime) -> bool:
        session = self._sessions.get(session_id)
        if session is None or session.user_id != user_id or session.revoked_at is not None:
            return False
        self._sessions[session_id] = msgspec.structs.replace(session, revoked_at=at)
        return True

    async def revoke_sessions(self, user_id: str, *, at: datetime, keep: str | None = None) -> int:
        revoking = [session.id for session in self._live_sessions(user_id) if session.id != keep]
        for session_id in revoking:
            self._sessions[session_id] = msgspec.structs.replace(
                self._sessions[session_id], revoked_at=at
            )
        return len(revoking)

    # -- API tokens ----------------------------------------------------------------

    async def add_token(self, token: ApiToken) -> None:
        if token.id in self._tokens or token.token_hash in self._token_ids:
            raise AlreadyExists(f"An API token with id {token.id!r} or this hash exists.")
        if token.user_id not in self._users:
            raise NotFound(f"No user with id {token.user_id!r}.")
        self._tokens[token.id] = token
        self._token_ids[token.token_hash] = token.id

    async def token_by_hash(self, token_hash: bytes) -> tuple[ApiToken, User] | None:
        token_id = self._token_ids.get(token_hash)
        if token_id is None:
            return None
        token = self._tokens[token_id]
        return token, self._users[token.user_id]

    async def tokens_of(self, user_id: str) -> list[ApiToken]:
        found = [
            token
            for token in self._tokens.values()
            if token.user_id == user_id and token.revoked_at is None
        ]
        return sorted(found, key=lambda token: (token.created_at, token.id), reverse=True)

    async def revoke_token(self, token_id: str, *, user_id: str, at: datetime) -> bool:
        token = self._tokens.get(token_id)
        if token is None or token.user_id != user_id or token.revoked_at is not None:
            return False
        self._tokens[token_id] = msgspec.structs.replace(token, revoked_at=at)
        return True

    async def touch_token(self, token_id: str, at: datetime) -> None:
        token = self._tokens.get(token_id)
        if token is not None and (token.last_used_at is None or token.last_used_at < at):
            self._tokens[token_id] = msgspec.structs.replace(token, last_used_at=at)

    async def prune_ended(self, before: datetime) -> tuple[int, int]:
        sessions = [
            s for s in self._sessions.values() if _ended_before(s.expires_at, s.revoked_at, before)
        ]
        for session in sessions:
            del self._sessions[session.id], self._session_ids[session.token_hash]
        tokens = [
            t for t in self._tokens.values() if _ended_before(t.expires_at, t.revoked_at, before)
        ]
        for token in tokens:
            del self._tokens[token.id], self._token_ids[token.token_hash]
        return len(sessions), len(tokens)

    # -- audit log -----------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry) -> None:
        detail = _encode(entry.detail)  # first: a detail JSON cannot hold stores nothing
        if entry.id in self._audit:
            raise AlreadyExists(f"An audit entry with id {entry.id!r} already exists.")
        self._audit[entry.id] = (msgspec.structs.replace(entry, detail={}), detail)

    async def audit_of(
        self, user_id: str, *, limit: int = 100, before: str | None = None
    ) -> list[AuditEntry]:
        check_limit(limit)
        ids = sorted(
            (
                entry.id
                for entry, _ in self._audit.values()
                if entry.user_id == user_id and (before is None or entry.id < before)
            ),
            reverse=True,
        )
        found = []
        for entry_id in ids[:limit]:
            entry, detail = self._audit[entry_id]
            found.append(msgspec.structs.replace(entry, detail=_decode_detail(detail)))
        return found
