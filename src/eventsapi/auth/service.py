"""Accounts as the API offers them: logins, sessions, passwords, two-step verification, API
tokens, admin actions and the audit log. No HTTP; all I/O through the store passed in.

Every method returns domain objects (``domain/accounts.py``) and raises the errors of
``errors.py``; the HTTP layer maps them. What the rules are, and where they come from, is
in the modules this one combines (``passwords``, ``password_policy``, ``throttle``,
``sessions``, ``totp``, ``recovery``, ``tokens``); the decisions made here:

- **No enumeration.** An unknown username, a wrong password, a wrong or replayed second
  factor and a locked account all raise ``AuthenticationFailed`` with one message, after
  one argon2 verification, and count alike against the throttles (the 429s come at the
  same attempts). ``SecondFactorRequired`` comes only after a correct password.
- **Attempts are counted before they are checked.** A login first reserves one attempt
  of its client address's budget (``ClientBudget``, in the database), then records a
  failure on the account (``failed_logins + 1``, ``last_failed_login_at = now``) in the
  same atomic update that checks the account's wait, then verifies; a success sets the
  count back to 0 and gives the address's reservation back. So many logins sent at once
  cannot all slip through before the first failure is recorded, on one replica or
  several: N concurrent guesses cost at most the budget in argon2 checks.
  (``SecondFactorRequired`` takes both back: a user who sends the password first and
  the code next is not slowed down.)
- **Hashing is bounded per worker** (``HashingGate``): a request that would hash is
  admitted first, or refused at once with ``ServerBusy`` (503) when the worker's queue,
  or its client address's share of it, is full; then nothing is counted.
- **Checks outside, compare-and-set inside.** argon2 runs in a worker thread on the user
  as read; the update that records the success re-checks that the password hash, the
  TOTP step and the recovery code are still what was checked, so a code is spent once.
- **A lock stops logins, not sessions.** A locked account's open sessions and tokens keep
  working (OWASP: the lock guards authentication; otherwise anyone could log a user out
  by failing 100 logins). Only a login with a correct second factor, or an admin, unlocks.
- **Account management needs a session.** API tokens are for the events API: they cannot
  list or end sessions, change the password or two-step verification, or manage tokens
  (a leaked token cannot entrench itself). Admin actions need the ``admin`` scope, which
  a session of an admin or an admin's token with that scope has.
- **New token on privilege change.** Login, a password change and turning on two-step
  verification issue a new session and revoke the old ones; a role change revokes the
  user's sessions. API tokens survive a password change (as on GitHub): revoke them
  explicitly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Final, NoReturn, TypeVar

import anyio.to_thread
from ulid import ULID

from eventsapi.auth import recovery, totp
from eventsapi.auth.hashing import HashingGate, Ticket
from eventsapi.auth.password_policy import check_password
from eventsapi.auth.passwords import DEFAULT_HASHER, Hasher
from eventsapi.auth.principal import Principal, role_scopes
from eventsapi.auth.second_factor import Proof
from eventsapi.auth.second_factor import check as check_second_factor
from eventsapi.auth.sessions import (
    TOUCH_INTERVAL,
    SessionPolicy,
    session_expires_at,
    session_state,
    should_touch,
)
from eventsapi.auth.throttle import (
    UNKNOWN_NAMES_FORGOTTEN_AFTER,
    ClientBudget,
    client_key,
    retry_after,
    should_lock,
)
from eventsapi.auth.tokens import (
    API_TOKEN_PREFIX,
    SESSION_PREFIX,
    looks_like,
    new_token,
    token_hash,
)
from eventsapi.auth.usernames import check_new_username, lookup_names, normalize_username
from eventsapi.clock import Clock, system_clock
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
from eventsapi.domain.text import without_controls
from eventsapi.errors import (
    AlreadyExists,
    AuthenticationFailed,
    FieldError,
    Forbidden,
    NotFound,
    PasswordRejected,
    SecondFactorRequired,
    TooManyAttempts,
    UsernameTaken,
    ValidationFailed,
)
from eventsapi.storage.base import EventStore

__all__ = [
    "ENDED_KEPT",
    "MAX_AUDIT_PAGE",
    "MAX_TOKEN_NAME",
    "TOKEN_USE_AUDIT_INTERVAL",
    "AccountService",
    "Principal",
    "normalize_username",
]

MAX_TOKEN_NAME: Final = 100
MAX_AUDIT_PAGE: Final = 1000
TOKEN_USE_AUDIT_INTERVAL: Final = timedelta(hours=1)
"""A token's use is written to the audit log at most this often (its ``last_used_at`` is
kept to the minute): a busy token would otherwise fill the log."""
ENDED_KEPT: Final = timedelta(days=30)
"""How long sessions and API tokens are kept after they end (expire or are revoked):
expired tokens stay in their owner's list for that long, then ``prune_ended`` deletes
them (the audit log keeps what happened)."""
_MAX_USER_AGENT: Final = 512
_MAX_CLIENT_ADDRESS: Final = 128
_MAX_UNKNOWN_NAME: Final = 256
_TEMPORARY_DISABLE_ADVICE: Final = (
    "Two-step verification allows passwords of 8 characters, a password alone needs 15:"
    " change your password before turning two-step verification off."
)

_T = TypeVar("_T")

_NOT_A_GUESS: Final = (TooManyAttempts, SecondFactorRequired, Forbidden, ValidationFailed)
"""What an attempt raises when it was refused before its check, or its credentials were
right: its reservation of the client's budget is given back."""


class _Stale(Exception):
    """What was checked outside the transaction no longer holds inside it."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Attempt:
    """A counted attempt: the user before the count and as counted."""

    before: User
    counted: User


class AccountService:
    """Accounts on top of a store. One instance per process; any number of processes
    (replicas) may share a database: every decision reads the database; only the
    admission to password hashing is per process.

    ``hasher``: ``Hasher.for_tests()`` makes passwords cost microseconds in tests.
    ``hashing``: how many argon2 computations run and wait at once (each takes 19 MiB),
    per process and per client address (``HashingGate``).
    ``on_hash``: called with ``"verify"`` or ``"hash"`` for each argon2 computation of a
    password (the ``/metrics`` counter).
    """

    def __init__(
        self,
        store: EventStore,
        clock: Clock = system_clock,
        *,
        hasher: Hasher = DEFAULT_HASHER,
        session_policy: SessionPolicy | None = None,
        client_budget: ClientBudget | None = None,
        hashing: HashingGate | None = None,
        on_hash: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._hasher = hasher
        self.session_policy = session_policy or SessionPolicy()
        self._budget = client_budget or ClientBudget()
        self.hashing = hashing or HashingGate()
        self._on_hash = on_hash
        self._last_id = 0
        self._id_lock = threading.Lock()

    # -- users ----------------------------------------------------------------------

    async def create_user(
        self,
        username: str,
        password: str,
        *,
        role: Role = Role.MEMBER,
        actor: User | None,
        client: str = "",
    ) -> User:
        """A new account. ``actor``: the admin creating it, or ``None`` for the operator
        (the command line); ``UsernameTaken`` if the name is taken, in its spelling or
        in the one names had before the PRECIS profile (``auth/usernames.py``)."""
        if actor is not None and actor.role is not Role.ADMIN:
            raise Forbidden("Only an admin may create accounts.")
        try:
            name = check_new_username(username)
        except ValueError as exc:
            raise ValidationFailed([FieldError("username", str(exc))], subject="request") from None
        if await self._user_by_name(username) is not None:
            raise UsernameTaken(name)
        with self.hashing.admitted(client) as hashing:
            await self._check_policy(
                hashing, password, username=name, two_factor=False, field="password"
            )
            now = self._clock()
            user = User(
                id=self._new_id(now),
                username=name,
                role=role,
                password_hash=await self._hash(hashing, password),
                created_at=now,
                password_changed_at=now,
            )
        try:
            await self._store.create_user(user)
        except AlreadyExists:
            raise UsernameTaken(name) from None  # created meanwhile (an id cannot collide)
        by = None if actor is None else actor.id
        await self._audit(now, AuditKind.USER_CREATED, user.id, client, role=role.value, by=by)
        return user

    # -- login ----------------------------------------------------------------------

    async def login(
        self,
        username: str,
        password: str,
        *,
        totp: str | None = None,
        client: str,
        user_agent: str,
    ) -> tuple[User, Session, str]:
        """Log in: the user, the new session, and its token (to show the client once).

        Raises ``TooManyAttempts`` (not counted), ``AuthenticationFailed``, or
        ``SecondFactorRequired`` (the password was right; send it again with ``totp``, a
        TOTP code or a recovery code).
        """
        now = self._clock()
        with self.hashing.admitted(client) as hashing:
            async with self._client_attempt(client, now):
                return await self._login(hashing, username, password, totp, client, user_agent, now)

    async def _login(
        self,
        hashing: Ticket,
        username: str,
        password: str,
        totp: str | None,
        client: str,
        user_agent: str,
        now: datetime,
    ) -> tuple[User, Session, str]:
        user = await self._user_by_name(username)
        if user is None:
            try:
                name: str | None = normalize_username(username)
            except ValueError:
                name = None
            await self._fail_unknown(hashing, name, username, password, client, now)
        attempt = await self._count_attempt(user.id, now)
        counted = attempt.counted
        if not await self._verify(hashing, counted.password_hash, password):
            await self._fail(counted, client, now, "password")
        proof: Proof | None = None
        if counted.totp_enabled:
            if not totp:  # absent or empty: the client has not asked the user for it yet
                await self._uncount(attempt)
                raise SecondFactorRequired
            proof = await check_second_factor(counted, totp, now)
            if proof is None:
                await self._fail(counted, client, now, "second_factor")
        elif counted.locked:
            await self._fail(counted, client, now, "locked")
        rehashed = (
            await self._hash(hashing, password)
            if self._hasher.needs_rehash(counted.password_hash)
            else None
        )

        def record(current: User) -> User:
            if current.locked and not current.totp_enabled:
                raise _Stale  # locked (by a concurrent failure) while this one was checked
            return (
                current
                if rehashed is None
                else dataclasses.replace(current, password_hash=rehashed)
            )

        user = await self._succeed(counted, proof, now, client, record, by="login")
        session, token = await self._new_session(user, now, client, user_agent)
        await self._audit(
            now,
            AuditKind.LOGIN,
            user.id,
            client,
            session_id=session.id,
            second_factor=None if proof is None else proof.kind,
        )
        return user, session, token

    @contextlib.asynccontextmanager
    async def _client_attempt(self, client: str, now: datetime) -> AsyncIterator[None]:
        """Reserve one attempt of ``client``'s budget for the block (``TooManyAttempts``
        if it is spent): kept if the block fails (``AuthenticationFailed``), or ends with
        another error but one of ``_NOT_A_GUESS``; given back otherwise."""
        key = client_key(client)
        forget_before = now - self._budget.window
        await self._store.update_client_logins(
            key, self._budget.reserve(now), forget_before=forget_before
        )
        try:
            yield
        except _NOT_A_GUESS:
            await self._store.update_client_logins(
                key, self._budget.release(now), forget_before=forget_before
            )
            raise
        await self._store.update_client_logins(
            key, self._budget.release(now), forget_before=forget_before
        )

    async def refuse_login(self, client: str) -> None:
        """Count a login whose input was refused before any check (a username or code no
        account can have, such as one with a NUL) as a failure of ``client``, so that
        refused input is no way around the client budget; ``TooManyAttempts`` if it is
        spent already."""
        now = self._clock()
        await self._store.update_client_logins(
            client_key(client), self._budget.reserve(now), forget_before=now - self._budget.window
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
        key = name if name is not None else typed[:_MAX_UNKNOWN_NAME]

        def count(current: LoginFailures) -> LoginFailures:
            wait = retry_after(current.failures, current.last_failed_at, now)
            if wait is not None:
                raise TooManyAttempts(wait)
            return LoginFailures(current.failures + 1, now)

        forget_before = now - UNKNOWN_NAMES_FORGOTTEN_AFTER
        await self._store.update_unknown_login(key, count, forget_before=forget_before)
        await self._verify(hashing, self._hasher.dummy_hash, password)
        await self._audit(
            now, AuditKind.LOGIN_FAILED, None, client, username=name, reason="unknown_user"
        )
        raise AuthenticationFailed

    async def _count_attempt(self, user_id: str, now: datetime) -> _Attempt:
        """Count an attempt as failed before checking it; ``TooManyAttempts`` if the
        account must still wait (that attempt is not counted)."""
        before: list[User] = []

        def count(current: User) -> User:
            wait = retry_after(current.failed_logins, current.last_failed_login_at, now)
            if wait is not None:
                raise TooManyAttempts(wait)
            before[:] = [current]
            return dataclasses.replace(
                current, failed_logins=current.failed_logins + 1, last_failed_login_at=now
            )

        counted = await self._store.update_user(user_id, count)
        return _Attempt(before[0], counted)

    async def _uncount(self, attempt: _Attempt) -> None:
        """Take back a counted attempt, unless another has been counted since."""
        counted, before = attempt.counted, attempt.before

        def uncount(current: User) -> User:
            if (current.failed_logins, current.last_failed_login_at) != (
                counted.failed_logins,
                counted.last_failed_login_at,
            ):
                return current
            return dataclasses.replace(
                current,
                failed_logins=before.failed_logins,
                last_failed_login_at=before.last_failed_login_at,
            )

        await self._store.update_user(counted.id, uncount)

    async def _fail(self, counted: User, client: str, now: datetime, reason: str) -> NoReturn:
        """A failed attempt (already counted, on the account and the client's budget):
        lock at ``LOCK_AFTER``, audit, refuse."""
        if should_lock(counted.failed_logins) and not counted.locked:
            newly: list[bool] = []

            def lock(current: User) -> User:
                newly[:] = [not current.locked and should_lock(current.failed_logins)]
                return dataclasses.replace(current, locked=True) if newly[0] else current

            await self._store.update_user(counted.id, lock)
            if newly[0]:
                await self._audit(
                    now, AuditKind.LOCKED, counted.id, client, failures=counted.failed_logins
                )
        await self._audit(now, AuditKind.LOGIN_FAILED, counted.id, client, reason=reason)
        raise AuthenticationFailed

    async def _succeed(
        self,
        counted: User,
        proof: Proof | None,
        now: datetime,
        client: str,
        change: Callable[[User], User],
        *,
        by: str,
    ) -> User:
        """Record a successful (re-)authentication with ``change`` applied: failures
        cleared, the second factor spent, and the account unlocked if it was locked and a
        second factor was given (audited as unlocked ``by`` this kind of request). If the
        password or the second factor changed since they were checked, the attempt fails.
        """
        was_locked: list[bool] = []

        def succeed(current: User) -> User:
            if current.password_hash != counted.password_hash:
                raise _Stale
            if proof is not None:
                if not proof.holds(current):
                    raise _Stale
                current = proof.spend(current)
            was_locked[:] = [current.locked and proof is not None]
            return change(
                dataclasses.replace(
                    current,
                    failed_logins=0,
                    last_failed_login_at=None,
                    locked=current.locked and proof is None,
                )
            )

        try:
            user = await self._store.update_user(counted.id, succeed)
        except _Stale:
            await self._fail(counted, client, now, "password" if proof is None else "second_factor")
        if proof is not None and proof.kind == "recovery_code":
            left = len(user.recovery_codes)
            await self._audit(now, AuditKind.RECOVERY_CODE_USED, user.id, client, remaining=left)
        if was_locked[0]:
            await self._audit(now, AuditKind.UNLOCKED, user.id, client, by=by)
        return user

    async def _reauthenticate(
        self,
        hashing: Ticket,
        principal: Principal,
        password: str,
        code: str | None,
        now: datetime,
    ) -> tuple[_Attempt, Proof | None]:
        """Check the password (and the second factor, if on) of a signed-in user, counted
        and throttled as a login is: a stolen session must not become a password oracle.
        Call it inside ``_client_attempt``; record the success with ``_succeed``."""
        client = _client_of(principal)
        attempt = await self._count_attempt(principal.user.id, now)
        counted = attempt.counted
        if not await self._verify(hashing, counted.password_hash, password):
            await self._fail(counted, client, now, "password")
        if not counted.totp_enabled:
            return attempt, None
        if not code:
            await self._uncount(attempt)
            raise SecondFactorRequired
        proof = await check_second_factor(counted, code, now)
        if proof is None:
            await self._fail(counted, client, now, "second_factor")
        return attempt, proof

    # -- requests -------------------------------------------------------------------

    async def authenticate(
        self, token_value: str, *, now: datetime | None = None, client: str = ""
    ) -> Principal | None:
        """Who sends ``token_value`` (a session or an API token), or ``None`` if it is not
        a live one: unknown, revoked, idle, expired. Records the activity (at most once a
        minute, so a busy session costs one write a minute)."""
        if now is None:
            now = self._clock()
        if looks_like(token_value, SESSION_PREFIX):
            return await self._by_session(token_value, now, client)
        if looks_like(token_value, API_TOKEN_PREFIX):
            return await self._by_token(token_value, now, client)
        return None

    async def _by_session(self, value: str, now: datetime, client: str) -> Principal | None:
        found = await self._store.session_by_token(token_hash(value))
        if found is None:
            return None
        session, user = found
        if session_state(session, now, self.session_policy) != "active":
            return None
        if should_touch(session, now, self.session_policy):
            await self._store.touch_session(session.id, now)
            session = dataclasses.replace(session, last_seen_at=now)
        return Principal(user, session, None, role_scopes(user.role), client)

    async def _by_token(self, value: str, now: datetime, client: str) -> Principal | None:
        found = await self._store.token_by_hash(token_hash(value))
        if found is None:
            return None
        token, user = found
        if token.revoked_at is not None or (
            token.expires_at is not None and now >= token.expires_at
        ):
            return None
        last = token.last_used_at
        if last is None or now - last >= TOUCH_INTERVAL:
            await self._store.touch_token(token.id, now)
            token = dataclasses.replace(token, last_used_at=now)
            if last is None or now - last >= TOKEN_USE_AUDIT_INTERVAL:
                await self._audit(now, AuditKind.TOKEN_USED, user.id, client, token_id=token.id)
        return Principal(user, None, token, token.scopes & role_scopes(user.role), client)

    # -- sessions -------------------------------------------------------------------

    async def logout(self, principal: Principal) -> bool:
        """End the caller's session; false if it had ended already."""
        session = _session_of(principal, "log out (revoke the token instead)")
        now = self._clock()
        ended = await self._store.revoke_session(session.id, user_id=principal.user.id, at=now)
        if ended:
            await self._audit(
                now,
                AuditKind.LOGOUT,
                principal.user.id,
                _client_of(principal),
                session_id=session.id,
            )
        return ended

    async def sessions(self, principal: Principal) -> list[Session]:
        """The caller's active sessions, newest first (the caller's own among them)."""
        _session_of(principal, "list sessions")
        now = self._clock()
        return [
            session
            for session in await self._store.sessions_of(principal.user.id)
            if session_state(session, now, self.session_policy) == "active"
        ]

    async def terminate_session(self, principal: Principal, session_id: str) -> bool:
        """End one of the caller's sessions; false if there is no such live session of
        theirs (another user's session is never touched, nor said to exist)."""
        _session_of(principal, "end sessions")
        now = self._clock()
        user_id = principal.user.id
        ended = await self._store.revoke_session(session_id, user_id=user_id, at=now)
        if ended:
            await self._audit(
                now,
                AuditKind.SESSION_TERMINATED,
                user_id,
                _client_of(principal),
                session_id=session_id,
            )
        return ended

    async def terminate_other_sessions(self, principal: Principal) -> int:
        """End every session of the caller's but the current one; how many were ended."""
        current = _session_of(principal, "end sessions")
        now = self._clock()
        user_id = principal.user.id
        count = await self._store.revoke_sessions(user_id, at=now, keep=current.id)
        if count:
            await self._audit(
                now,
                AuditKind.SESSION_TERMINATED,
                user_id,
                _client_of(principal),
                count=count,
                kept=current.id,
            )
        return count

    async def _new_session(
        self, user: User, now: datetime, client: str, user_agent: str
    ) -> tuple[Session, str]:
        value, digest = new_token(SESSION_PREFIX)
        session = Session(
            id=self._new_id(now),
            user_id=user.id,
            token_hash=digest,
            created_at=now,
            last_seen_at=now,
            expires_at=session_expires_at(now, self.session_policy),
            client_address=client[:_MAX_CLIENT_ADDRESS],
            user_agent=without_controls(user_agent[:_MAX_USER_AGENT]),
        )
        await self._store.add_session(session)
        return session, value

    async def _replace_sessions(self, principal: Principal, now: datetime) -> tuple[Session, str]:
        """After a privilege change: revoke every session of the user, the current one
        included, and give the caller a new one."""
        current = _session_of(principal, "")
        await self._store.revoke_sessions(principal.user.id, at=now)
        client = principal.client_address or current.client_address
        return await self._new_session(principal.user, now, client, current.user_agent)

    # -- password -------------------------------------------------------------------

    async def change_password(
        self, principal: Principal, current: str, new: str, *, totp: str | None = None
    ) -> tuple[Session, str]:
        """Change the caller's password; every session of theirs ends and the caller gets
        a new one (returned with its token). Needs the current password, and a second
        factor if the account has one; the new password must pass the policy."""
        _session_of(principal, "change the password")
        fresh = await self._store.user_by_id(principal.user.id)
        two_factor = principal.user.totp_enabled if fresh is None else fresh.totp_enabled
        client = _client_of(principal)
        with self.hashing.admitted(client) as hashing:
            await self._check_policy(
                hashing,
                new,
                username=principal.user.username,
                two_factor=two_factor,
                field="new_password",
            )
            now = self._clock()
            async with self._client_attempt(client, now):
                attempt, proof = await self._reauthenticate(hashing, principal, current, totp, now)
                new_hash = await self._hash(hashing, new)

                def set_password(user: User) -> User:
                    if user.totp_enabled != two_factor:
                        raise _Stale  # the policy was checked for the other minimum length
                    return dataclasses.replace(
                        user, password_hash=new_hash, password_changed_at=now
                    )

                user = await self._succeed(
                    attempt.counted, proof, now, client, set_password, by="password_change"
                )
        session, token = await self._replace_sessions(
            dataclasses.replace(principal, user=user), now
        )
        await self._audit(now, AuditKind.PASSWORD_CHANGED, user.id, client, session_id=session.id)
        return session, token

    async def _check_policy(
        self, hashing: Ticket, password: str, *, username: str, two_factor: bool, field: str
    ) -> None:
        check = functools.partial(
            check_password, password, username=username, two_factor=two_factor
        )
        result = await hashing.run(check)
        if not result.ok:
            raise PasswordRejected(result.problems, result.suggestions, field=field)

    # -- two-step verification ------------------------------------------------------

    async def start_totp(self, principal: Principal) -> tuple[str, str, str]:
        """Begin enrolment: a new secret, stored but not yet in force, with its
        ``otpauth://`` URI and that URI as a QR code (SVG). Starting again replaces it."""
        _session_of(principal, "set up two-step verification")
        secret = totp.new_secret()

        def enrol(current: User) -> User:
            if current.totp_enabled:
                raise Forbidden("Two-step verification is on already; turn it off first.")
            return dataclasses.replace(
                current, totp_secret=secret, totp_last_step=None, recovery_codes=()
            )

        now = self._clock()
        user = await self._store.update_user(principal.user.id, enrol)
        await self._audit(now, AuditKind.TOTP_ENROLLED, user.id, _client_of(principal))
        uri = totp.provisioning_uri(secret, user.username)
        return secret, uri, await anyio.to_thread.run_sync(totp.qr_svg, uri)

    async def confirm_totp(
        self, principal: Principal, code: str, *, password: str
    ) -> tuple[list[str], Session, str]:
        """Turn two-step verification on with a code from the app just set up (and the
        password: a stolen session must not be able to put the account behind the thief's
        phone). Returns the 10 recovery codes (show them once), and a new session with its
        token: every session of the user ends, as on any privilege change."""
        _session_of(principal, "set up two-step verification")
        now = self._clock()
        pending = await self._store.user_by_id(principal.user.id)
        if pending is None or pending.totp_enabled or pending.totp_secret is None:
            raise Forbidden("Start the set-up of two-step verification first.")
        secret = pending.totp_secret
        step = totp.verify(secret, code, now, None)
        if step is None:
            raise ValidationFailed(
                [FieldError("code", "This code is not the one the app shows now; try again.")],
                subject="request",
            )
        client = _client_of(principal)
        with self.hashing.admitted(client) as hashing:
            async with self._client_attempt(client, now):
                attempt, _ = await self._reauthenticate(hashing, principal, password, None, now)
                codes = recovery.new_recovery_codes()
                hashes = tuple(await hashing.run(_hash_codes, codes))

                def enable(current: User) -> User:
                    if current.totp_enabled or current.totp_secret != secret:
                        raise Forbidden("Two-step verification changed meanwhile; start again.")
                    return dataclasses.replace(
                        current, totp_enabled=True, totp_last_step=step, recovery_codes=hashes
                    )

                user = await self._succeed(
                    attempt.counted, None, now, client, enable, by="totp_enable"
                )
        session, token = await self._replace_sessions(
            dataclasses.replace(principal, user=user), now
        )
        await self._audit(now, AuditKind.TOTP_ENABLED, user.id, client, session_id=session.id)
        return codes, session, token

    async def disable_totp(self, principal: Principal, password: str, code: str) -> None:
        """Turn two-step verification off: needs the password and a code (TOTP or
        recovery). Refused if the password is too short to stand alone (8 characters do
        with a second factor, 15 without)."""
        _session_of(principal, "turn off two-step verification")
        now = self._clock()
        client = _client_of(principal)
        with self.hashing.admitted(client) as hashing:
            async with self._client_attempt(client, now):
                user = await self._disable_totp(hashing, principal, password, code, now)
        await self._audit(now, AuditKind.TOTP_DISABLED, user.id, client)

    async def _disable_totp(
        self, hashing: Ticket, principal: Principal, password: str, code: str, now: datetime
    ) -> User:
        attempt, proof = await self._reauthenticate(hashing, principal, password, code, now)
        if proof is None:  # two-step verification was off
            await self._uncount(attempt)
            raise Forbidden("Two-step verification is not on.")
        alone = await hashing.run(
            functools.partial(
                check_password, password, username=attempt.counted.username, two_factor=False
            )
        )
        if not alone.ok:
            await self._uncount(attempt)
            raise PasswordRejected([*alone.problems, _TEMPORARY_DISABLE_ADVICE], alone.suggestions)

        def disable(current: User) -> User:
            return dataclasses.replace(
                current,
                totp_secret=None,
                totp_enabled=False,
                totp_last_step=None,
                recovery_codes=(),
            )

        client = _client_of(principal)
        return await self._succeed(attempt.counted, proof, now, client, disable, by="totp_disable")

    # -- API tokens -----------------------------------------------------------------

    async def create_token(
        self,
        principal: Principal,
        name: str,
        scopes: Iterable[Scope],
        expires_in: timedelta | None,
    ) -> tuple[ApiToken, str]:
        """A new API token and its value (show it once). Only a session may create one,
        and only with scopes the caller has; ``expires_in=None``: it does not expire."""
        _session_of(principal, "create API tokens")
        label = name.strip()
        wanted = frozenset(scopes)
        problems = []
        if not 1 <= len(label) <= MAX_TOKEN_NAME:
            problems.append(
                FieldError("name", f"Give the token a name of 1 to {MAX_TOKEN_NAME} characters.")
            )
        if not wanted:
            problems.append(FieldError("scopes", "Give the token at least one scope."))
        if expires_in is not None and expires_in <= timedelta(0):
            problems.append(FieldError("expires_in", "A token's lifetime must be positive."))
        if problems:
            raise ValidationFailed(problems, subject="request")
        if not wanted <= principal.scopes:
            missing = ", ".join(sorted(wanted - principal.scopes))
            raise Forbidden(f"A token cannot have scopes its owner lacks: {missing}.")
        now = self._clock()
        value, digest = new_token(API_TOKEN_PREFIX)
        token = ApiToken(
            id=self._new_id(now),
            user_id=principal.user.id,
            name=label,
            token_hash=digest,
            scopes=wanted,
            created_at=now,
            expires_at=None if expires_in is None else now + expires_in,
        )
        await self._store.add_token(token)
        await self._audit(
            now,
            AuditKind.TOKEN_CREATED,
            token.user_id,
            _client_of(principal),
            token_id=token.id,
            name=label,
            scopes=sorted(scope.value for scope in wanted),
        )
        return token, value

    async def tokens(self, principal: Principal) -> list[ApiToken]:
        """The caller's API tokens that are not revoked (expired ones too), newest first."""
        _session_of(principal, "list API tokens")
        return await self._store.tokens_of(principal.user.id)

    async def revoke_token(self, principal: Principal, token_id: str) -> bool:
        """Revoke one of the caller's API tokens; false if there is no such live token."""
        _session_of(principal, "revoke API tokens")
        now = self._clock()
        revoked = await self._store.revoke_token(token_id, user_id=principal.user.id, at=now)
        if revoked:
            await self._audit(
                now,
                AuditKind.TOKEN_REVOKED,
                principal.user.id,
                _client_of(principal),
                token_id=token_id,
            )
        return revoked

    # -- admin ----------------------------------------------------------------------

    async def users(self, admin: Principal) -> list[User]:
        """Every account, by username (``admin`` scope only)."""
        if not admin.can(Scope.ADMIN):
            raise Forbidden("This needs the admin scope.")
        return await self._store.list_users()

    async def unlock(self, admin: Principal, username: str) -> User:
        """Lift a lock and forget the failed logins (``NotFound`` for no such user)."""
        target = await self._target(admin, username)
        return await self._unlock(target, _client_of(admin), by=admin.user.id)

    async def operator_list_users(self) -> list[User]:
        """Every account, by username, for the operator on the machine (the command line)."""
        return await self._store.list_users()

    async def operator_unlock(self, username: str) -> User:
        """``unlock`` by the operator on the machine (the command line), who needs no
        account: whoever can run commands there can open the database anyway."""
        return await self._unlock(await self._user_named(username), "", by=None)

    async def _unlock(self, target: User, client: str, *, by: str | None) -> User:
        def unlock(current: User) -> User:
            return dataclasses.replace(
                current, locked=False, failed_logins=0, last_failed_login_at=None
            )

        now = self._clock()
        user = await self._store.update_user(target.id, unlock)
        if target.locked:
            await self._audit(now, AuditKind.UNLOCKED, user.id, client, by=by)
        return user

    async def set_role(self, admin: Principal, username: str, role: Role) -> User:
        """Give a user another role; their sessions end (a privilege change). The last
        admin cannot be demoted."""
        target = await self._target(admin, username)
        return await self._set_role(target, role, _client_of(admin), by=admin.user.id)

    async def operator_set_role(self, username: str, role: Role) -> User:
        """``set_role`` by the operator on the machine (the command line); the same rules."""
        return await self._set_role(await self._user_named(username), role, "", by=None)

    async def _set_role(self, target: User, role: Role, client: str, *, by: str | None) -> User:
        if target.role is role:
            return target
        now = self._clock()
        user = await self._store.change_role(target.id, role)  # never demotes the last admin
        ended = await self._store.revoke_sessions(user.id, at=now)
        await self._audit(
            now,
            AuditKind.ROLE_CHANGED,
            user.id,
            client,
            previous=target.role.value,
            role=role.value,
            by=by,
            sessions_ended=ended,
        )
        return user

    async def _target(self, admin: Principal, username: str) -> User:
        if not admin.can(Scope.ADMIN):
            raise Forbidden("This needs the admin scope.")
        return await self._user_named(username)

    async def _user_named(self, username: str) -> User:
        user = await self._user_by_name(username)
        if user is None:
            raise NotFound("No user has this name.")
        return user

    async def _user_by_name(self, username: str) -> User | None:
        """The account ``username`` names: by its spelling in the PRECIS profile, or
        else by the spelling names were stored in before it (so no account is lost)."""
        for name in lookup_names(username):
            user = await self._store.user_by_name(name)
            if user is not None:
                return user
        return None

    # -- audit ----------------------------------------------------------------------

    async def audit(
        self, principal: Principal, *, limit: int = 100, before: str | None = None
    ) -> list[AuditEntry]:
        """The caller's own audit entries, newest first (page with ``before``: the last
        id of the previous page); at most ``MAX_AUDIT_PAGE``."""
        page = max(0, min(limit, MAX_AUDIT_PAGE))
        return await self._store.audit_of(principal.user.id, limit=page, before=before)

    async def _audit(
        self,
        now: datetime,
        kind: AuditKind,
        user_id: str | None,
        client: str,
        **detail: Any,
    ) -> None:
        entry = AuditEntry(
            id=self._new_id(now),
            at=now,
            kind=kind,
            user_id=user_id,
            client_address=client[:_MAX_CLIENT_ADDRESS],
            detail={key: value for key, value in detail.items() if value is not None},
        )
        await self._store.append_audit(entry)

    # -- housekeeping ---------------------------------------------------------------

    async def prune_ended(self) -> tuple[int, int]:
        """Delete the sessions and API tokens that ended over ``ENDED_KEPT`` ago; how many
        of each went."""
        return await self._store.prune_ended(self._clock() - ENDED_KEPT)

    # -- plumbing -------------------------------------------------------------------

    def _new_id(self, now: datetime) -> str:
        """A ULID for ``now``, greater than the last one made here in the same millisecond,
        so entries written in one step (unlocked, then logged in) list in that order."""
        value = int(ULID.from_datetime(now))
        with self._id_lock:
            if value >> 80 == self._last_id >> 80 and value <= self._last_id:
                value = self._last_id + 1
            self._last_id = value
        return str(ULID.from_int(value))

    async def _verify(self, hashing: Ticket, phc: str, password: str) -> bool:
        """One argon2 verification, on the admitted request's ticket; counted."""
        if self._on_hash is not None:
            self._on_hash("verify")
        return await hashing.run(self._hasher.verify, phc, password)

    async def _hash(self, hashing: Ticket, password: str) -> str:
        """One argon2 hash of a new password, on the admitted request's ticket; counted."""
        if self._on_hash is not None:
            self._on_hash("hash")
        return await hashing.run(self._hasher.hash, password)


def _session_of(principal: Principal, action: str) -> Session:
    if principal.session is None:
        raise Forbidden(f"An API token cannot {action}; sign in.")
    return principal.session


def _client_of(principal: Principal) -> str:
    if principal.client_address:
        return principal.client_address
    return principal.session.client_address if principal.session is not None else ""


def _hash_codes(codes: list[str]) -> list[str]:
    return [recovery.hash_code(code) for code in codes]
