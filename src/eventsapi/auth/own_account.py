"""What signed-in users do with their own account: their sessions, password, two-step
verification (with its recovery codes), API tokens and audit log.

- **Account management needs a session.** API tokens are for the events API: they cannot
  list or end sessions, change the password or two-step verification, or manage tokens
  (a leaked token cannot entrench itself).
- **A password is proven again, counted as a login** (``attempts.py``) before it is
  changed or two-step verification is turned on or off: a stolen session must not become
  a password oracle.
- **New token on privilege change.** A password change and turning on two-step
  verification issue a new session and revoke the old ones. API tokens survive a
  password change (as on GitHub): revoke them explicitly.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

import anyio.to_thread
import msgspec

from eventsapi.auth import recovery, totp
from eventsapi.auth.attempts import Attempts, Stale
from eventsapi.auth.core import AccountCore, client_of, session_of
from eventsapi.auth.hashing import Ticket
from eventsapi.auth.password_policy import check_password
from eventsapi.auth.principal import Principal
from eventsapi.auth.sessions import session_state
from eventsapi.auth.tokens import API_TOKEN_PREFIX, new_token
from eventsapi.domain.accounts import ApiToken, AuditEntry, AuditKind, Scope, Session, User
from eventsapi.errors import FieldError, Forbidden, PasswordRejected, ValidationFailed

__all__ = ["MAX_AUDIT_PAGE", "MAX_TOKEN_NAME", "OwnAccount"]

MAX_TOKEN_NAME: Final = 100
MAX_AUDIT_PAGE: Final = 1000
_TEMPORARY_DISABLE_ADVICE: Final = (
    "Two-step verification allows passwords of 8 characters, a password alone needs 15:"
    " change your password before turning two-step verification off."
)


class OwnAccount:
    """The caller's own account; every method takes the caller (``Principal``)."""

    def __init__(self, core: AccountCore, attempts: Attempts) -> None:
        self._core = core
        self._attempts = attempts

    # -- sessions -------------------------------------------------------------------

    async def sessions(self, principal: Principal) -> list[Session]:
        """The caller's active sessions, newest first (the caller's own among them)."""
        session_of(principal, "list sessions")
        now = self._core.clock()
        return [
            session
            for session in await self._core.store.sessions_of(principal.user.id)
            if session_state(session, now, self._core.session_policy) == "active"
        ]

    async def terminate_session(self, principal: Principal, session_id: str) -> bool:
        """End one of the caller's sessions; false if there is no such live session of
        theirs (another user's session is never touched, nor said to exist)."""
        session_of(principal, "end sessions")
        now = self._core.clock()
        user_id = principal.user.id
        ended = await self._core.store.revoke_session(session_id, user_id=user_id, at=now)
        if ended:
            await self._core.audit(
                now,
                AuditKind.SESSION_TERMINATED,
                user_id,
                client_of(principal),
                session_id=session_id,
            )
        return ended

    async def terminate_other_sessions(self, principal: Principal) -> int:
        """End every session of the caller's but the current one; how many were ended."""
        current = session_of(principal, "end sessions")
        now = self._core.clock()
        user_id = principal.user.id
        count = await self._core.store.revoke_sessions(user_id, at=now, keep=current.id)
        if count:
            await self._core.audit(
                now,
                AuditKind.SESSION_TERMINATED,
                user_id,
                client_of(principal),
                count=count,
                kept=current.id,
            )
        return count

    # -- password -------------------------------------------------------------------

    async def change_password(
        self, principal: Principal, current: str, new: str, *, totp: str | None = None
    ) -> tuple[Session, str]:
        """Change the caller's password; every session of theirs ends and the caller gets
        a new one (returned with its token). Needs the current password, and a second
        factor if the account has one; the new password must pass the policy."""
        session_of(principal, "change the password")
        core, attempts = self._core, self._attempts
        fresh = await core.store.user_by_id(principal.user.id)
        two_factor = principal.user.totp_enabled if fresh is None else fresh.totp_enabled
        client = client_of(principal)
        with core.hashing.admitted(client) as hashing:
            await core.check_policy(
                hashing,
                new,
                username=principal.user.username,
                two_factor=two_factor,
                field="new_password",
            )
            now = core.clock()
            async with attempts.client_attempt(client, now):
                attempt, proof = await attempts.reauthenticate(
                    hashing, principal, current, totp, now
                )
                new_hash = await core.hash(hashing, new)

                def set_password(user: User) -> User:
                    if user.totp_enabled != two_factor:
                        raise Stale  # the policy was checked for the other minimum length
                    return msgspec.structs.replace(
                        user,
                        password_hash=new_hash,
                        password_changed_at=now,
                        password_must_change=False,
                    )

                user = await attempts.succeed(
                    attempt.counted, proof, now, client, set_password, by="password_change"
                )
        session, token = await core.replace_sessions(
            msgspec.structs.replace(principal, user=user), now
        )
        await core.audit(now, AuditKind.PASSWORD_CHANGED, user.id, client, session_id=session.id)
        return session, token

    # -- two-step verification ------------------------------------------------------

    async def start_totp(self, principal: Principal) -> tuple[str, str, str]:
        """Begin enrolment: a new secret, stored but not yet in force, with its
        ``otpauth://`` URI and that URI as a QR code (SVG). Starting again replaces it."""
        session_of(principal, "set up two-step verification")
        secret = totp.new_secret()

        def enrol(current: User) -> User:
            if current.totp_enabled:
                raise Forbidden("Two-step verification is on already; turn it off first.")
            return msgspec.structs.replace(
                current, totp_secret=secret, totp_last_step=None, recovery_codes=()
            )

        now = self._core.clock()
        user = await self._core.store.update_user(principal.user.id, enrol)
        await self._core.audit(now, AuditKind.TOTP_ENROLLED, user.id, client_of(principal))
        uri = totp.provisioning_uri(secret, user.username)
        return secret, uri, await anyio.to_thread.run_sync(totp.qr_svg, uri)

    async def confirm_totp(
        self, principal: Principal, code: str, *, password: str
    ) -> tuple[list[str], Session, str]:
        """Turn two-step verification on with a code from the app just set up (and the
        password: a stolen session must not be able to put the account behind the thief's
        phone). Returns the 10 recovery codes (show them once), and a new session with its
        token: every session of the user ends, as on any privilege change."""
        session_of(principal, "set up two-step verification")
        core, attempts = self._core, self._attempts
        now = core.clock()
        pending = await core.store.user_by_id(principal.user.id)
        if pending is None or pending.totp_enabled or pending.totp_secret is None:
            raise Forbidden("Start the set-up of two-step verification first.")
        secret = pending.totp_secret
        step = totp.verify(secret, code, now, None)
        if step is None:
            raise ValidationFailed(
                [FieldError("code", "This code is not the one the app shows now; try again.")],
                subject="request",
            )
        client = client_of(principal)
        with core.hashing.admitted(client) as hashing:
            async with attempts.client_attempt(client, now):
                attempt, _ = await attempts.reauthenticate(hashing, principal, password, None, now)
                codes = recovery.new_recovery_codes()
                hashes = tuple(await hashing.run(_hash_codes, codes))

                def enable(current: User) -> User:
                    if current.totp_enabled or current.totp_secret != secret:
                        raise Forbidden("Two-step verification changed meanwhile; start again.")
                    return msgspec.structs.replace(
                        current, totp_enabled=True, totp_last_step=step, recovery_codes=hashes
                    )

                user = await attempts.succeed(
                    attempt.counted, None, now, client, enable, by="totp_enable"
                )
        session, token = await core.replace_sessions(
            msgspec.structs.replace(principal, user=user), now
        )
        await core.audit(now, AuditKind.TOTP_ENABLED, user.id, client, session_id=session.id)
        return codes, session, token

    async def disable_totp(self, principal: Principal, password: str, code: str) -> None:
        """Turn two-step verification off: needs the password and a code (TOTP or
        recovery). Refused if the password is too short to stand alone (8 characters do
        with a second factor, 15 without)."""
        session_of(principal, "turn off two-step verification")
        now = self._core.clock()
        client = client_of(principal)
        with self._core.hashing.admitted(client) as hashing:
            async with self._attempts.client_attempt(client, now):
                user = await self._disable_totp(hashing, principal, password, code, now)
        await self._core.audit(now, AuditKind.TOTP_DISABLED, user.id, client)

    async def _disable_totp(
        self, hashing: Ticket, principal: Principal, password: str, code: str, now: datetime
    ) -> User:
        attempts = self._attempts
        attempt, proof = await attempts.reauthenticate(hashing, principal, password, code, now)
        if proof is None:  # two-step verification was off
            await attempts.uncount(attempt)
            raise Forbidden("Two-step verification is not on.")
        alone = await hashing.run(
            functools.partial(
                check_password, password, username=attempt.counted.username, two_factor=False
            )
        )
        if not alone.ok:
            await attempts.uncount(attempt)
            raise PasswordRejected([*alone.problems, _TEMPORARY_DISABLE_ADVICE], alone.suggestions)

        def disable(current: User) -> User:
            return msgspec.structs.replace(
                current,
                totp_secret=None,
                totp_enabled=False,
                totp_last_step=None,
                recovery_codes=(),
            )

        client = client_of(principal)
        return await attempts.succeed(
            attempt.counted, proof, now, client, disable, by="totp_disable"
        )

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
        session_of(principal, "create API tokens")
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
        now = self._core.clock()
        value, digest = new_token(API_TOKEN_PREFIX)
        token = ApiToken(
            id=self._core.new_id(now),
            user_id=principal.user.id,
            name=label,
            token_hash=digest,
            scopes=wanted,
            created_at=now,
            expires_at=None if expires_in is None else now + expires_in,
        )
        await self._core.store.add_token(token)
        await self._core.audit(
            now,
            AuditKind.TOKEN_CREATED,
            token.user_id,
            client_of(principal),
            token_id=token.id,
            name=label,
            scopes=sorted(scope.value for scope in wanted),
        )
        return token, value

    async def tokens(self, principal: Principal) -> list[ApiToken]:
        """The caller's API tokens that are not revoked (expired ones too), newest first."""
        session_of(principal, "list API tokens")
        return await self._core.store.tokens_of(principal.user.id)

    async def revoke_token(self, principal: Principal, token_id: str) -> bool:
        """Revoke one of the caller's API tokens; false if there is no such live token."""
        session_of(principal, "revoke API tokens")
        now = self._core.clock()
        revoked = await self._core.store.revoke_token(token_id, user_id=principal.user.id, at=now)
        if revoked:
            await self._core.audit(
                now,
                AuditKind.TOKEN_REVOKED,
                principal.user.id,
                client_of(principal),
                token_id=token_id,
            )
        return revoked

    # -- audit ----------------------------------------------------------------------

    async def audit(
        self, principal: Principal, *, limit: int = 100, before: str | None = None
    ) -> list[AuditEntry]:
        """The caller's own audit entries, newest first (page with ``before``: the last
        id of the previous page); at most ``MAX_AUDIT_PAGE``."""
        page = max(0, min(limit, MAX_AUDIT_PAGE))
        return await self._core.store.audit_of(principal.user.id, limit=page, before=before)


def _hash_codes(codes: list[str]) -> list[str]:
    return [recovery.hash_code(code) for code in codes]
