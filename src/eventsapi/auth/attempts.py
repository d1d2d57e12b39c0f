"""A password check counted and throttled: at login, and whenever a signed-in user proves
the password again (a password change, two-step verification on or off).

- **Attempts are counted before they are checked.** An attempt first reserves one attempt
  of its client address's budget (``ClientBudget``, in the database), then records a
  failure on the account (``failed_logins + 1``, ``last_failed_login_at = now``) in the
  same atomic update that checks the account's wait, then verifies; a success sets the
  count back to 0 and gives the address's reservation back. So many logins sent at once
  cannot all slip through before the first failure is recorded, on one replica or
  several: N concurrent guesses cost at most the budget in argon2 checks.
  (``SecondFactorRequired`` takes both back: a user who sends the password first and
  the code next is not slowed down.)
- **Checks outside, compare-and-set inside.** argon2 runs in a worker thread on the user
  as read; the update that records the success re-checks that the password hash, the
  TOTP step and the recovery code are still what was checked, so a code is spent once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Final, NoReturn

import msgspec

from eventsapi.auth.core import AccountCore, client_of
from eventsapi.auth.hashing import Ticket
from eventsapi.auth.principal import Principal
from eventsapi.auth.second_factor import Proof
from eventsapi.auth.second_factor import check as check_second_factor
from eventsapi.auth.throttle import client_key, retry_after, should_lock
from eventsapi.domain.accounts import AuditKind, User
from eventsapi.errors import (
    AuthenticationFailed,
    Forbidden,
    PasswordChangeRequired,
    SecondFactorRequired,
    TooManyAttempts,
    ValidationFailed,
)

__all__ = ["Attempt", "Attempts", "Stale"]

_NOT_A_GUESS: Final = (
    TooManyAttempts,
    SecondFactorRequired,
    PasswordChangeRequired,
    Forbidden,
    ValidationFailed,
)
"""What an attempt raises when it was refused before its check, or its credentials were
right: its reservation of the client's budget is given back."""


class Stale(Exception):
    """What was checked outside the transaction no longer holds inside it."""


class Attempt(msgspec.Struct, frozen=True):
    """A counted attempt: the user before the count and as counted."""

    before: User
    counted: User


class Attempts:
    """Counting, failing and recording password checks over ``core``'s store."""

    def __init__(self, core: AccountCore) -> None:
        self._core = core

    @contextlib.asynccontextmanager
    async def client_attempt(self, client: str, now: datetime) -> AsyncIterator[None]:
        """Reserve one attempt of ``client``'s budget for the block (``TooManyAttempts``
        if it is spent): kept if the block fails (``AuthenticationFailed``), or ends with
        another error but one of ``_NOT_A_GUESS``; given back otherwise."""
        store, budget = self._core.store, self._core.budget
        key = client_key(client)
        forget_before = now - budget.window
        await store.update_client_logins(key, budget.reserve(now), forget_before=forget_before)
        try:
            yield
        except _NOT_A_GUESS:
            await store.update_client_logins(key, budget.release(now), forget_before=forget_before)
            raise
        await store.update_client_logins(key, budget.release(now), forget_before=forget_before)

    async def count(self, user_id: str, now: datetime) -> Attempt:
        """Count an attempt as failed before checking it; ``TooManyAttempts`` if the
        account must still wait (that attempt is not counted)."""
        before: list[User] = []

        def count(current: User) -> User:
            wait = retry_after(current.failed_logins, current.last_failed_login_at, now)
            if wait is not None:
                raise TooManyAttempts(wait)
            before[:] = [current]
            return msgspec.structs.replace(
                current, failed_logins=current.failed_logins + 1, last_failed_login_at=now
            )

        counted = await self._core.store.update_user(user_id, count)
        return Attempt(before[0], counted)

    async def uncount(self, attempt: Attempt) -> None:
        """Take back a counted attempt, unless another has been counted since."""
        counted, before = attempt.counted, attempt.before

        def uncount(current: User) -> User:
            if (current.failed_logins, current.last_failed_login_at) != (
                counted.failed_logins,
                counted.last_failed_login_at,
            ):
                return current
            return msgspec.structs.replace(
                current,
                failed_logins=before.failed_logins,
                last_failed_login_at=before.last_failed_login_at,
            )

        await self._core.store.update_user(counted.id, uncount)

    async def fail(self, counted: User, client: str, now: datetime, reason: str) -> NoReturn:
        """A failed attempt (already counted, on the account and the client's budget):
        lock at ``LOCK_AFTER``, audit, refuse."""
        core = self._core
        if should_lock(counted.failed_logins) and not counted.locked:
            newly: list[bool] = []

            def lock(current: User) -> User:
                newly[:] = [not current.locked and should_lock(current.failed_logins)]
                return msgspec.structs.replace(current, locked=True) if newly[0] else current

            await core.store.update_user(counted.id, lock)
            if newly[0]:
                await core.audit(
                    now, AuditKind.LOCKED, counted.id, client, failures=counted.failed_logins
                )
        await core.audit(now, AuditKind.LOGIN_FAILED, counted.id, client, reason=reason)
        raise AuthenticationFailed

    async def succeed(
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
                raise Stale
            if proof is not None:
                if not proof.holds(current):
                    raise Stale
                current = proof.spend(current)
            was_locked[:] = [current.locked and proof is not None]
            return change(
                msgspec.structs.replace(
                    current,
                    failed_logins=0,
                    last_failed_login_at=None,
                    locked=current.locked and proof is None,
                )
            )

        try:
            user = await self._core.store.update_user(counted.id, succeed)
        except Stale:
            await self.fail(counted, client, now, "password" if proof is None else "second_factor")
        if proof is not None and proof.kind == "recovery_code":
            left = len(user.recovery_codes)
            await self._core.audit(
                now, AuditKind.RECOVERY_CODE_USED, user.id, client, remaining=left
            )
        if was_locked[0]:
            await self._core.audit(now, AuditKind.UNLOCKED, user.id, client, by=by)
        return user

    async def reauthenticate(
        self,
        hashing: Ticket,
        principal: Principal,
        password: str,
        code: str | None,
        now: datetime,
    ) -> tuple[Attempt, Proof | None]:
        """Check the password (and the second factor, if on) of a signed-in user, counted
        and throttled as a login is: a stolen session must not become a password oracle.
        Call it inside ``client_attempt``; record the success with ``succeed``."""
        client = client_of(principal)
        attempt = await self.count(principal.user.id, now)
        counted = attempt.counted
        if not await self._core.verify(hashing, counted.password_hash, password):
            await self.fail(counted, client, now, "password")
        if not counted.totp_enabled:
            return attempt, None
        if not code:
            await self.uncount(attempt)
            raise SecondFactorRequired
        proof = await check_second_factor(counted, code, now)
        if proof is None:
            await self.fail(counted, client, now, "second_factor")
        return attempt, proof
