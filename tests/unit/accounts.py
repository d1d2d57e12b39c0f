"""What the account service's unit tests share: test passwords, and helpers that sign
users up, log them in and turn on two-step verification (the fixtures ``memory`` and
``service`` are in ``conftest.py``)."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from eventsapi.auth.principal import OPERATOR
from eventsapi.auth.service import AccountService, Principal
from eventsapi.auth.throttle import MAX_DELAY
from eventsapi.domain.accounts import AuditKind, Role, Session, User
from eventsapi.errors import AuthenticationFailed
from eventsapi.storage.memory import MemoryStore
from tests.support import FakeClock

# Passwords of test accounts, not secrets:
PASSWORD = "plum tractor whisper eleven lagoon"  # noqa: S105
NEW_PASSWORD = "quiet harbor pencil marmalade"  # noqa: S105
SHORT_PASSWORD = "Vq7#kLp2x!"  # noqa: S105
"""10 characters: enough with two-step verification (8), not without (15)."""
CLIENT = "192.0.2.1"
AGENT = "test-agent/1.0"


async def signup(service: AccountService, name: str = "alice", *, role: Role = Role.MEMBER) -> User:
    return await service.admin.create_user(name, PASSWORD, role=role, actor=OPERATOR)


async def login(
    service: AccountService,
    name: str = "alice",
    password: str = PASSWORD,
    *,
    totp: str | None = None,
    client: str = CLIENT,
) -> tuple[User, Session, str]:
    return await service.signin.login(name, password, totp=totp, client=client, user_agent=AGENT)


async def signed_in(service: AccountService, name: str = "alice", **kwargs: str) -> Principal:
    _, _, token = await login(service, name, **kwargs)
    return await authenticated(service, token)


async def authenticated(service: AccountService, token: str) -> Principal:
    principal = await service.signin.authenticate(token)
    assert principal is not None
    return principal


async def current(memory: MemoryStore, name: str = "alice") -> User:
    user = await memory.user_by_name(name)
    assert user is not None
    return user


def code_at(secret: str, clock: FakeClock, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now() + timedelta(seconds=30 * steps))


async def turn_on_totp(
    service: AccountService, clock: FakeClock, principal: Principal
) -> tuple[str, list[str], str]:
    """Enrol and confirm; returns the secret, the recovery codes and the new session token.
    The clock is then moved to the next step, so that a login may use a fresh code."""
    secret, _, _ = await service.own.start_totp(principal)
    codes, _, token = await service.own.confirm_totp(
        principal, code_at(secret, clock), password=PASSWORD
    )
    clock.advance(30)
    return secret, codes, token


async def kinds(service: AccountService, principal: Principal) -> list[AuditKind]:
    return [entry.kind for entry in await service.own.audit(principal)]


async def fail_logins(service: AccountService, clock: FakeClock, count: int, name: str) -> None:
    """``count`` wrong passwords for ``name``, each after the wait the last one asked for."""
    for _ in range(count):
        with pytest.raises(AuthenticationFailed):
            await login(service, name, "wrong password, wrong password")
        clock.advance(MAX_DELAY.total_seconds())
