"""Logging in and out, and who sends a token: a session or an API token, still live.

- **No enumeration.** An unknown username, a wrong password, a wrong or replayed second
  factor and a locked account all raise ``AuthenticationFailed`` with one message, after
  one argon2 verification, and count alike against the throttles (the 429s come at the
  same attempts). ``SecondFactorRequired`` comes only after a correct password.
- **Hashing is bounded per worker** (``HashingGate``): a request that would hash is
  admitted first, or refused at once with ``ServerBusy`` (503) when the worker's queue,
  or its client address's share of it, is full; then nothing is counted.
- **A lock stops logins, not sessions.** A locked account's open sessions and tokens keep
  working (OWASP: the lock guards authentication; otherwise anyone could log a user out
  by failing 100 logins). Only a login with a correct second factor, or an admin, unlocks.
- **Activity is recorded at most once a ``TOUCH_INTERVAL``** (``sessions.should_touch``),
  for sessions and API tokens alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, NoReturn

import msgspec

from eventsapi.auth.attempts import Attempt, Attempts, Stale
from eventsapi.auth.core import AccountCore, client_of, session_of
from eventsapi.auth.hashing import Ticket
from eventsapi.auth.principal import Principal, role_scopes
from eventsapi.auth.second_factor import Proof
from eventsapi.auth.second_factor import check as check_second_factor
from eventsapi.auth.sessions import session_state, should_touch
from eventsapi.auth.throttle import UNKNOWN_NAMES_FORGOTTEN_AFTER, client_key, retry_after
from eventsapi.auth.tokens import API_TOKEN_PREFIX, SESSION_PREFIX, looks_like, token_hash
from eventsapi.auth.usernames import normalize_username
from eventsapi.domain.accounts import AuditKind, LoginFailures, Session, User
from eventsapi.errors import (
    AuthenticationFailed,
    PasswordChangeRequired,
    PasswordRejected,
    SecondFactorRequired,
    TooManyAttempts,
)

__all__ = ["TOKEN_USE_AUDIT_INTERVAL", "SignIn"]

TOKEN_USE_AUDIT_INTERVAL: Final = timedelta(hours=1)
"""A token's use is written to the audit log at most this often (its ``last_used_at`` is
kept to the minute): a busy token would otherwise fill the log."""
_MAX_UNKNOWN_NAME: Final = 256


class SignIn:
    """Login, logout, and the authentication of each request."""

    def __init__(self, core: AccountCore, attempts: Attempts) -> None:
        self._core = core
        self._attempts = attempts

    async def login(
        self,
        username: str,
        password: str,
        *,
        totp: str | None = None,
        new_password: str | None = None,
        client: str,
        user_agent: str,
    ) -> tuple[User, Session, str]:
        """Log in: the user, the new session, and its token (to show the client once).

        Raises ``TooManyAttempts`` (not counted), ``AuthenticationFailed``,
        ``SecondFactorRequired`` (the password was right; send it again with ``totp``, a
        TOTP code or a recovery code), or ``PasswordChangeRequired`` (the credentials were
        right, but the password was reset: send it again with ``new_password``, which
        must pass the policy, else ``PasswordRejected``; neither is counted).
        """
        now = self._core.clock()
        with self._core.hashing.admitted(client) as hashing:
            async with self._attempts.client_attempt(client, now):
                return await self._login(
                    hashing, username, password, totp, new_password, client, user_agent, now
                )

    async def _login(
        self,
        hashing: Ticket,
        username: str,
        password: str,
        totp: str | None,
        new_password: str | None,
        client: str,
        user_agent: str,
        now: datetime,
    ) -> tuple[User, Session, str]:
        core, attempts = self._core, self._attempts
        user = await core.user_by_name(username)
        if user is None:
            try:
                name: str | None = normalize_username(username)
            except ValueError:
                name = None
            await self._fail_unknown(hashing, name, username, password, client, now)
        attempt = await attempts.count(user.id, now)
        counted = attempt.counted
        if not await core.verify(hashing, counted.password_hash, password):
            await attempts.fail(counted, client, now, "password")
        proof: Proof | None = None
        if counted.totp_enabled:
            if not totp:  # absent or empty: the client has not asked the user for it yet
                await attempts.uncount(attempt)
                raise SecondFactorRequired
            proof = await check_second_factor(counted, totp, now)
            if proof is None:
                await attempts.fail(counted, client, now, "second_factor")
        elif counted.locked:
            await attempts.fail(counted, client, now, "locked")
        if counted.password_must_change:
            new_hash = await self._chosen(hashing, attempt, password, new_password)
        elif core.hasher.needs_rehash(counted.password_hash):
            new_hash = await core.hash(hashing, password)
        else:
            new_hash = None

        def record(current: User) -> User:
            if current.locked and not current.totp_enabled:
                raise Stale  # locked (by a concurrent failure) while this one was checked
            if not counted.password_must_change:
                return (
                    current
                    if new_hash is None
                    else msgspec.structs.replace(current, password_hash=new_hash)
                )
            if new_hash is None or not current.password_must_change:
                raise Stale  # changed meanwhile (by another login): this one checked the old
            return msgspec.structs.replace(
                current, password_hash=new_hash, password_changed_at=now, password_must_change=False
            )

        user = await attempts.succeed(counted, proof, now, client, record, by="login")
        session, token = await core.new_session(user, now, client, user_agent)
        await core.audit(
            now,
            AuditKind.LOGIN,
            user.id,
            client,
            session_id=session.id,
            second_factor=None if proof is None else proof.kind,
        )
        if counted.password_must_change:
            await core.audit(
                now, AuditKind.PASSWORD_CHANGED, user.id, client, session_id=session.id
            )
        return user, session, token

    async def _chosen(
        self, hashing: Ticket, attempt: Attempt, given: str, new_password: str | None
    ) -> str:
        """The hash of the password a user chooses at the login after a reset;
        ``PasswordChangeRequired`` without one, ``PasswordRejected`` for one the policy
        refuses or the one given by the reset, which its administrator knows (neither
        counted: the credentials were right)."""
        core, counted = self._core, attempt.counted
        if not new_password:
            await self._attempts.uncount(attempt)
            raise PasswordChangeRequired
        try:
            if new_password == given:
                raise PasswordRejected(  # noqa: TRY301 - uncounted below, as the policy's
                    ["This is the password you were given: choose one of your own."],
                    [],
                    field="new_password",
                )
            await core.check_policy(
                hashing,
                new_password,
                username=counted.username,
                two_factor=counted.totp_enabled,
                field="new_password",
            )
        except PasswordRejected:
            await self._attempts.uncount(attempt)
            raise
        return await core.hash(hashing, new_password)

    async def refuse_login(self, client: str) -> None:
        """Count a login whose input was refused before any check (a username or code no
        account can have, such as one with a NUL) as a failure of ``client``, so that
        refused input is no way around the client budget; ``TooManyAttempts`` if it is
        spent already."""
        core = self._core
        now = core.clock()
        await core.store.update_client_logins(
            client_key(client), core.budget.reserve(now), forget_before=now - core.budget.window
        )

    async def _fail_unknown(
        self,
        hashing: Ticket,
        name: str | None,
        typed: str,
        password: str,
        client: str,
        now: datetime,
    ) -> NoReturn:
        """A login for a name with no account: throttled, timed and counted like one, with
        the same database work (a counting write before the hash, the audit entry after)."""
        core = self._core
        key = name if name is not None else typed[:_MAX_UNKNOWN_NAME]

        def count(current: LoginFailures) -> LoginFailures:
            wait = retry_after(current.failures, current.last_failed_at, now)
            if wait is not None:
                raise TooManyAttempts(wait)
            return LoginFailures(current.failures + 1, now)

        forget_before = now - UNKNOWN_NAMES_FORGOTTEN_AFTER
        await core.store.update_unknown_login(key, count, forget_before=forget_before)
        await core.verify(hashing, core.hasher.dummy_hash, password)
        await core.audit(
            now, AuditKind.LOGIN_FAILED, None, client, username=name, reason="unknown_user"
        )
        raise AuthenticationFailed

    async def authenticate(
        self, token_value: str, *, now: datetime | None = None, client: str = ""
    ) -> Principal | None:
        """Who sends ``token_value`` (a session or an API token), or ``None`` if it is not
        a live one: unknown, revoked, idle, expired. Records the activity (at most once a
        minute, so a busy session costs one write a minute)."""
        if now is None:
            now = self._core.clock()
        if looks_like(token_value, SESSION_PREFIX):
            return await self._by_session(token_value, now, client)
        if looks_like(token_value, API_TOKEN_PREFIX):
            return await self._by_token(token_value, now, client)
        return None

    async def _by_session(self, value: str, now: datetime, client: str) -> Principal | None:
        core = self._core
        found = await core.store.session_by_token(token_hash(value))
        if found is None:
            return None
        session, user = found
        if session_state(session, now, core.session_policy) != "active":
            return None
        if should_touch(session.last_seen_at, now, core.session_policy):
            await core.store.touch_session(session.id, now)
            session = msgspec.structs.replace(session, last_seen_at=now)
        return Principal(user, session, None, role_scopes(user.role), client)

    async def _by_token(self, value: str, now: datetime, client: str) -> Principal | None:
        core = self._core
        found = await core.store.token_by_hash(token_hash(value))
        if found is None:
            return None
        token, user = found
        if token.revoked_at is not None or (
            token.expires_at is not None and now >= token.expires_at
        ):
            return None
        last = token.last_used_at
        if should_touch(last, now):
            await core.store.touch_token(token.id, now)
            token = msgspec.structs.replace(token, last_used_at=now)
            if last is None or now - last >= TOKEN_USE_AUDIT_INTERVAL:
                await core.audit(now, AuditKind.TOKEN_USED, user.id, client, token_id=token.id)
        return Principal(user, None, token, token.scopes & role_scopes(user.role), client)

    async def logout(self, principal: Principal) -> bool:
        """End the caller's session; false if it had ended already."""
        session = session_of(principal, "log out (revoke the token instead)")
        now = self._core.clock()
        ended = await self._core.store.revoke_session(session.id, user_id=principal.user.id, at=now)
        if ended:
            await self._core.audit(
                now,
                AuditKind.LOGOUT,
                principal.user.id,
                client_of(principal),
                session_id=session.id,
            )
        return ended
