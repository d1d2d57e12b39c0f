"""What ``auth/`` needs of a store: users, their sessions and API tokens, the audit log.

``auth/`` owns this protocol; every backend (``storage/``) satisfies it, checked by mypy in
``tests/contract``. Usernames are compared as given (the caller normalizes them); secrets are
stored as hashes (see ``domain/accounts.py``). Every write is atomic; reads see every write
committed before them on any replica, so a revocation holds everywhere at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from eventsapi.domain.accounts import ApiToken, AuditEntry, LoginFailures, Role, Session, User

__all__ = ["AccountStore"]


class AccountStore(Protocol):
    """Accounts (issue 6). All coroutines."""

    async def create_user(self, user: User) -> None:
        """Store a new user; ``AlreadyExists`` if its id or its username is taken.

        Usernames are compared exactly as given: the caller normalizes them first (NFKC,
        lower case), so that two spellings of one name cannot both be stored.
        """

    async def user_by_id(self, user_id: str) -> User | None:
        """The user with this id, or ``None``."""

    async def user_by_name(self, username: str) -> User | None:
        """The user with exactly this username, or ``None``."""

    async def count_users(self) -> int:
        """How many users there are."""

    async def list_users(self) -> list[User]:
        """Every user, by username (code point order)."""

    async def update_user(self, user_id: str, change: Callable[[User], User]) -> User:
        """Replace the user by ``change(current)`` and return it, atomically.

        ``change`` runs inside the write's transaction with the user's row locked: two
        concurrent updates run one after the other, each on the other's result (50 concurrent
        ``failed_logins + 1`` end at 50). ``NotFound`` if there is no such user; whatever
        ``change`` raises stops the update, nothing changed, and propagates. The result must
        keep the id (``ValueError`` otherwise); a new username that is taken raises
        ``AlreadyExists``.
        """

    async def change_role(self, user_id: str, role: Role) -> User:
        """Give the user ``role`` and return them, atomically refusing to demote the last
        admin (``Forbidden``): of two admins demoting each other at once, one wins.
        ``NotFound`` if there is no such user."""

    async def delete_user(self, user_id: str) -> User:
        """Delete the user with their sessions and API tokens (ended or not) and return
        them, atomically refusing to delete the last admin (``Forbidden``), as
        ``change_role`` refuses to demote them. ``NotFound`` if there is no such user. The
        audit log keeps the user's entries (it has no foreign key)."""

    async def update_unknown_login(
        self,
        name: str,
        change: Callable[[LoginFailures], LoginFailures],
        *,
        forget_before: datetime,
    ) -> LoginFailures:
        """Replace the failed logins kept for ``name``, a username with no account, by
        ``change(current)`` and return them, atomically, as ``update_user`` does.

        A name with nothing kept, or whose last failure is before ``forget_before``, has
        ``LoginFailures()``; the call forgets every name whose last failure is before
        ``forget_before``. Whatever ``change`` raises stops the update, nothing changed,
        and propagates. The result must have a ``last_failed_at`` (``ValueError``
        otherwise).
        """

    async def update_client_logins(
        self,
        client: str,
        change: Callable[[tuple[datetime, ...]], tuple[datetime, ...]],
        *,
        forget_before: datetime,
    ) -> tuple[datetime, ...]:
        """Replace the times of the login attempts kept for ``client`` (a client key, as
        ``auth/throttle.client_key`` makes it) by ``change(current)`` and return them,
        atomically, as ``update_user`` does: concurrent changes of one client, from any
        replica, run one after the other, each on the other's result.

        ``current`` holds the kept times after ``forget_before``, oldest first (empty for
        a new client); the call forgets every client whose latest time is before
        ``forget_before``, and a client whose change leaves no time. Whatever ``change``
        raises stops the update, nothing changed, and propagates.
        """

    async def add_session(self, session: Session) -> None:
        """Store a new session; ``AlreadyExists`` if its id or token hash is taken,
        ``NotFound`` if its user does not exist."""

    async def session_by_token(self, token_hash: bytes) -> tuple[Session, User] | None:
        """The session whose token hashes to ``token_hash`` and its user (one query), or
        ``None``. Revoked and expired sessions are returned too: the caller decides."""

    async def touch_session(self, session_id: str, at: datetime) -> None:
        """Set the session's ``last_seen_at`` to ``at``, unless it is already later (requests
        can finish out of order). An unknown id is not an error."""

    async def sessions_of(self, user_id: str) -> list[Session]:
        """The user's sessions that are not revoked (expired ones too), newest first
        (``created_at``, then id)."""

    async def revoke_session(self, session_id: str, *, user_id: str, at: datetime) -> bool:
        """Revoke the session at ``at`` if it is ``user_id``'s; true if this call revoked it,
        false if it is unknown, another user's, or revoked already (then nothing changes)."""

    async def revoke_sessions(self, user_id: str, *, at: datetime, keep: str | None = None) -> int:
        """Revoke at ``at`` every session of the user that is not revoked yet, but the one
        with id ``keep`` ("terminate all other sessions"); return how many were revoked."""

    async def add_token(self, token: ApiToken) -> None:
        """Store a new API token; ``AlreadyExists`` if its id or hash is taken, ``NotFound``
        if its user does not exist."""

    async def token_by_hash(self, token_hash: bytes) -> tuple[ApiToken, User] | None:
        """The API token with this hash and its user (one query), or ``None``. Revoked and
        expired tokens are returned too: the caller decides."""

    async def tokens_of(self, user_id: str) -> list[ApiToken]:
        """The user's API tokens that are not revoked (expired ones too), newest first
        (``created_at``, then id)."""

    async def revoke_token(self, token_id: str, *, user_id: str, at: datetime) -> bool:
        """Revoke the token at ``at`` if it is ``user_id``'s; as ``revoke_session``."""

    async def touch_token(self, token_id: str, at: datetime) -> None:
        """Set the token's ``last_used_at`` to ``at``, unless it is already later."""

    async def prune_ended(self, before: datetime) -> tuple[int, int]:
        """Delete the sessions and API tokens that ended before ``before``: expired (a
        session at its absolute end) or revoked. Returns how many sessions and how many
        tokens went. Tokens that never expire and are not revoked stay."""

    async def append_audit(self, entry: AuditEntry) -> None:
        """Append ``entry`` to the audit log; ``AlreadyExists`` if its id is taken.

        The log is append-only: the contract has no method to change or remove an entry,
        and the SQL backends refuse ``UPDATE`` and ``DELETE`` on its table with triggers.
        ``detail`` holds JSON values (it reads back as JSON decodes it).
        """

    async def audit_of(
        self, user_id: str, *, limit: int = 100, before: str | None = None
    ) -> list[AuditEntry]:
        """The user's audit entries, newest first (by id: ULIDs sort by time), at most
        ``limit`` (``ValueError`` if negative); with ``before``, only those whose id sorts
        before it: pass the last id of a page to get the next one."""
