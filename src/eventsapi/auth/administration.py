"""Administering accounts: create, list, unlock, change roles, delete, reset a forgotten
password, turn off a lost second factor.

Every action takes its ``Actor``: an admin's principal over the API, which needs the
``admin`` scope (a session of an admin has it, an admin's API token only if created with
it), or ``OPERATOR``, the command line. The audit log records who did it: the admin's id
and address as ``by`` and the entry's client, or neither for the operator.

A role change is a privilege change: the user's sessions end. So do a password reset
and turning off two-step verification (whoever held a session may be who stole the
phone or the password); deleting an account ends its sessions and API tokens too.

What a deleted account leaves: its audit entries (the log keeps what happened); its
events and registrations, which name its id. Ids are ULIDs, never given again, so a new
account of the same name does not own them: only admins can change or delete them.
"""

from __future__ import annotations

import secrets
from typing import Final

import msgspec

from eventsapi.auth.core import AccountCore, client_of
from eventsapi.auth.principal import Actor, Operator
from eventsapi.auth.sessions import session_state
from eventsapi.auth.usernames import check_new_username
from eventsapi.domain.accounts import AuditKind, Role, Scope, User
from eventsapi.errors import (
    AlreadyExists,
    FieldError,
    Forbidden,
    UsernameTaken,
    ValidationFailed,
)

__all__ = ["GENERATED_PASSWORD_BYTES", "Administration"]

GENERATED_PASSWORD_BYTES: Final = 18
"""A reset password's randomness: 144 bits, 24 URL-safe characters (the policy asks 15)."""


class Administration:
    """User management, by an admin or the operator."""

    def __init__(self, core: AccountCore) -> None:
        self._core = core

    async def create_user(
        self, username: str, password: str, *, role: Role = Role.MEMBER, actor: Actor
    ) -> User:
        """A new account; ``UsernameTaken`` if the name is taken, in its spelling or in the
        one names had before the PRECIS profile (``auth/usernames.py``)."""
        _authorize(actor, "Only an admin may create accounts.")
        core = self._core
        try:
            name = check_new_username(username)
        except ValueError as exc:
            raise ValidationFailed([FieldError("username", str(exc))], subject="request") from None
        if await core.user_by_name(username) is not None:
            raise UsernameTaken(name)
        client = _client(actor)
        with core.hashing.admitted(client) as hashing:
            await core.check_policy(
                hashing, password, username=name, two_factor=False, field="password"
            )
            now = core.clock()
            user = User(
                id=core.new_id(now),
                username=name,
                role=role,
                password_hash=await core.hash(hashing, password),
                created_at=now,
                password_changed_at=now,
            )
        try:
            await core.store.create_user(user)
        except AlreadyExists:
            raise UsernameTaken(name) from None  # created meanwhile (an id cannot collide)
        await core.audit(
            now, AuditKind.USER_CREATED, user.id, client, role=role.value, by=_by(actor)
        )
        return user

    async def users(self, actor: Actor) -> list[User]:
        """Every account, by username."""
        _authorize(actor)
        return await self._core.store.list_users()

    async def unlock(self, actor: Actor, username: str) -> User:
        """Lift a lock and forget the failed logins (``NotFound`` for no such user)."""
        _authorize(actor)
        target = await self._core.user_named(username)

        def unlock(current: User) -> User:
            return msgspec.structs.replace(
                current, locked=False, failed_logins=0, last_failed_login_at=None
            )

        now = self._core.clock()
        user = await self._core.store.update_user(target.id, unlock)
        if target.locked:
            await self._core.audit(now, AuditKind.UNLOCKED, user.id, _client(actor), by=_by(actor))
        return user

    async def set_role(self, actor: Actor, username: str, role: Role) -> User:
        """Give a user another role; their sessions end (a privilege change). The last
        admin cannot be demoted."""
        _authorize(actor)
        target = await self._core.user_named(username)
        if target.role is role:
            return target
        now = self._core.clock()
        user = await self._core.store.change_role(target.id, role)  # never demotes the last admin
        ended = await self._core.store.revoke_sessions(user.id, at=now)
        await self._core.audit(
            now,
            AuditKind.ROLE_CHANGED,
            user.id,
            _client(actor),
            previous=target.role.value,
            role=role.value,
            by=_by(actor),
            sessions_ended=ended,
        )
        return user

    async def end_sessions(self, actor: Actor, username: str) -> int:
        """End every session of a user (a stolen laptop, a departure); returns how many
        were live. Their API tokens stay: each is revoked on its own."""
        _authorize(actor)
        target = await self._core.user_named(username)
        now = self._core.clock()
        ended = await self._core.store.revoke_sessions(target.id, at=now)
        if ended:
            await self._core.audit(
                now,
                AuditKind.SESSION_TERMINATED,
                target.id,
                _client(actor),
                count=ended,
                by=_by(actor),
            )
        return ended

    async def delete_user(self, actor: Actor, username: str) -> tuple[User, int, int]:
        """Delete an account with its sessions and API tokens; returns it, and how many
        live sessions and tokens ended. The last admin cannot be deleted."""
        _authorize(actor)
        core = self._core
        target = await core.user_named(username)
        now = core.clock()
        sessions = await core.store.sessions_of(target.id)
        live_sessions = sum(
            1 for s in sessions if session_state(s, now, core.session_policy) == "active"
        )
        live_tokens = sum(
            1
            for token in await core.store.tokens_of(target.id)
            if token.expires_at is None or token.expires_at > now
        )
        user = await core.store.delete_user(target.id)  # never the last admin
        await core.audit(
            now,
            AuditKind.USER_DELETED,
            user.id,
            _client(actor),
            username=user.username,
            role=user.role.value,
            by=_by(actor),
            sessions_ended=live_sessions,
            tokens_revoked=live_tokens,
        )
        return user, live_sessions, live_tokens

    async def reset_password(self, actor: Actor, username: str) -> tuple[User, str]:
        """Give a user a new, generated password (returned: show it once) for one who
        forgot theirs. It works for one login, which must choose a new password
        (``SignIn.login``'s ``new_password``). Their sessions end and the lock after failed
        logins is lifted; their API tokens stay, as on a password change. Two-step
        verification stays on."""
        _authorize(actor)
        core = self._core
        target = await core.user_named(username)
        password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
        client = _client(actor)
        with core.hashing.admitted(client) as hashing:
            await core.check_policy(
                hashing, password, username=target.username, two_factor=False, field="password"
            )
            new_hash = await core.hash(hashing, password)
        now = core.clock()

        def reset(current: User) -> User:
            return msgspec.structs.replace(
                current,
                password_hash=new_hash,
                password_changed_at=now,
                password_must_change=True,
                locked=False,
                failed_logins=0,
                last_failed_login_at=None,
            )

        user = await core.store.update_user(target.id, reset)
        ended = await core.store.revoke_sessions(user.id, at=now)
        await core.audit(
            now,
            AuditKind.PASSWORD_RESET,
            user.id,
            client,
            by=_by(actor),
            sessions_ended=ended,
            unlocked=True if target.locked else None,
        )
        return user, password

    async def disable_second_factor(self, actor: Actor, username: str) -> tuple[User, int]:
        """Turn off a user's two-step verification (TOTP and recovery codes), for one who
        lost the phone and the codes; their sessions end. Returns the user and how many
        sessions ended; ``Forbidden`` if it was not on (nor being set up)."""
        _authorize(actor)
        core = self._core
        target = await core.user_named(username)

        def disable(current: User) -> User:
            if not current.totp_enabled and current.totp_secret is None:
                raise Forbidden("Two-step verification is not on for this account.")
            return msgspec.structs.replace(
                current,
                totp_secret=None,
                totp_enabled=False,
                totp_last_step=None,
                recovery_codes=(),
            )

        now = core.clock()
        user = await core.store.update_user(target.id, disable)
        ended = await core.store.revoke_sessions(user.id, at=now)
        await core.audit(
            now,
            AuditKind.TOTP_RESET,
            user.id,
            _client(actor),
            by=_by(actor),
            sessions_ended=ended,
        )
        return user, ended


def _authorize(actor: Actor, refusal: str = "This needs the admin scope.") -> None:
    if not isinstance(actor, Operator) and not actor.can(Scope.ADMIN):
        raise Forbidden(refusal)


def _by(actor: Actor) -> str | None:
    """Who did it, as the audit log records it: the admin's user id; nothing for the
    operator."""
    return None if isinstance(actor, Operator) else actor.user.id


def _client(actor: Actor) -> str:
    return "" if isinstance(actor, Operator) else client_of(actor)
