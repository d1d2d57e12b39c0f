"""Administering accounts: create them, list them, unlock them, change their roles.

Every action takes its ``Actor``: an admin's principal over the API, which needs the
``admin`` scope (a session of an admin has it, an admin's API token only if created with
it), or ``OPERATOR``, the command line. The audit log records who did it: the admin's id
and address as ``by`` and the entry's client, or neither for the operator.

A role change is a privilege change: the user's sessions end.
"""

from __future__ import annotations

import dataclasses

from eventsapi.auth.core import AccountCore, client_of
from eventsapi.auth.principal import Actor, Operator
from eventsapi.auth.usernames import check_new_username
from eventsapi.domain.accounts import AuditKind, Role, Scope, User
from eventsapi.errors import (
    AlreadyExists,
    FieldError,
    Forbidden,
    UsernameTaken,
    ValidationFailed,
)

__all__ = ["Administration"]


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
            return dataclasses.replace(
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


def _authorize(actor: Actor, refusal: str = "This needs the admin scope.") -> None:
    if not isinstance(actor, Operator) and not actor.can(Scope.ADMIN):
        raise Forbidden(refusal)


def _by(actor: Actor) -> str | None:
    """Who did it, as the audit log records it: the admin's user id; nothing for the
    operator."""
    return None if isinstance(actor, Operator) else actor.user.id


def _client(actor: Actor) -> str:
    return "" if isinstance(actor, Operator) else client_of(actor)
