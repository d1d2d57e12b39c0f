"""What every part of the account service shares: the store, the clock, the hashing, ids,
the audit log, and a new session.

One ``AccountCore`` per ``AccountService``; the parts (``signin``, ``own_account``,
``administration``) each hold it, so ids stay ordered and hashing is admitted through one
gate whichever part asks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from eventsapi.auth.hashing import HashingGate, Ticket
from eventsapi.auth.password_policy import check_password
from eventsapi.auth.passwords import Hasher
from eventsapi.auth.principal import Principal
from eventsapi.auth.sessions import SessionPolicy, session_expires_at
from eventsapi.auth.store import AccountStore
from eventsapi.auth.throttle import ClientBudget
from eventsapi.auth.tokens import SESSION_PREFIX, new_token
from eventsapi.auth.usernames import lookup_names
from eventsapi.clock import Clock
from eventsapi.domain.accounts import AuditEntry, AuditKind, Session, User
from eventsapi.domain.ids import new_ulid
from eventsapi.domain.text import without_controls
from eventsapi.errors import Forbidden, NotFound, PasswordRejected

__all__ = ["AccountCore", "client_of", "session_of"]

_MAX_USER_AGENT: Final = 512
_MAX_CLIENT_ADDRESS: Final = 128


class AccountCore:
    """The store and the means every account rule uses (see ``AccountService`` for the
    arguments)."""

    def __init__(
        self,
        store: AccountStore,
        clock: Clock,
        *,
        hasher: Hasher,
        session_policy: SessionPolicy,
        client_budget: ClientBudget,
        hashing: HashingGate,
        on_hash: Callable[[str], None] | None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.hasher = hasher
        self.session_policy = session_policy
        self.budget = client_budget
        self.hashing = hashing
        self._on_hash = on_hash

    def new_id(self, now: datetime) -> str:
        """A ULID for ``now``, greater than the last one made here in the same millisecond,
        so entries written in one step (unlocked, then logged in) list in that order."""
        return new_ulid(now)

    async def audit(
        self,
        now: datetime,
        kind: AuditKind,
        user_id: str | None,
        client: str,
        **detail: Any,
    ) -> None:
        """Append an entry to the audit log; details that are ``None`` are left out."""
        entry = AuditEntry(
            id=self.new_id(now),
            at=now,
            kind=kind,
            user_id=user_id,
            client_address=client[:_MAX_CLIENT_ADDRESS],
            detail={key: value for key, value in detail.items() if value is not None},
        )
        await self.store.append_audit(entry)

    async def verify(self, hashing: Ticket, phc: str, password: str) -> bool:
        """One argon2 verification, on the admitted request's ticket; counted."""
        if self._on_hash is not None:
            self._on_hash("verify")
        return await hashing.run(self.hasher.verify, phc, password)

    async def hash(self, hashing: Ticket, password: str) -> str:
        """One argon2 hash of a new password, on the admitted request's ticket; counted."""
        if self._on_hash is not None:
            self._on_hash("hash")
        return await hashing.run(self.hasher.hash, password)

    async def check_policy(
        self, hashing: Ticket, password: str, *, username: str, two_factor: bool, field: str
    ) -> None:
        """``PasswordRejected`` (for ``field``) unless the policy accepts ``password``."""
        check = functools.partial(
            check_password, password, username=username, two_factor=two_factor
        )
        result = await hashing.run(check)
        if not result.ok:
            raise PasswordRejected(result.problems, result.suggestions, field=field)

    async def user_by_name(self, username: str) -> User | None:
        """The account ``username`` names: by its spelling in the PRECIS profile, or
        else by the spelling names were stored in before it (so no account is lost)."""
        for name in lookup_names(username):
            user = await self.store.user_by_name(name)
            if user is not None:
                return user
        return None

    async def user_named(self, username: str) -> User:
        """The account ``username`` names; ``NotFound`` if none."""
        user = await self.user_by_name(username)
        if user is None:
            raise NotFound("No user has this name.")
        return user

    async def new_session(
        self, user: User, now: datetime, client: str, user_agent: str
    ) -> tuple[Session, str]:
        """A new session of ``user``, stored, and its token (to show the client once)."""
        value, digest = new_token(SESSION_PREFIX)
        session = Session(
            id=self.new_id(now),
            user_id=user.id,
            token_hash=digest,
            created_at=now,
            last_seen_at=now,
            expires_at=session_expires_at(now, self.session_policy),
            client_address=client[:_MAX_CLIENT_ADDRESS],
            user_agent=without_controls(user_agent[:_MAX_USER_AGENT]),
        )
        await self.store.add_session(session)
        return session, value

    async def replace_sessions(self, principal: Principal, now: datetime) -> tuple[Session, str]:
        """After a privilege change: revoke every session of the user, the current one
        included, and give the caller a new one."""
        current = session_of(principal, "")
        await self.store.revoke_sessions(principal.user.id, at=now)
        client = principal.client_address or current.client_address
        return await self.new_session(principal.user, now, client, current.user_agent)


def session_of(principal: Principal, action: str) -> Session:
    """The caller's session; ``Forbidden`` for an API token, which cannot ``action``."""
    if principal.session is None:
        raise Forbidden(f"An API token cannot {action}; sign in.")
    return principal.session


def client_of(principal: Principal) -> str:
    """Where the caller is: the request's address, or else the one its session began at."""
    if principal.client_address:
        return principal.client_address
    return principal.session.client_address if principal.session is not None else ""
