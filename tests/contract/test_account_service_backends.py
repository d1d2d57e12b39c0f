"""``AccountService`` end to end on the SQL backends, as replicas would run it: two services,
each with its own store, on one SQLite file or one PostgreSQL schema. What one replica
decides (a session ended, a failure counted, a TOTP code spent) holds at once on the other,
because the database is the only state they share.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import UTC

import msgspec
import pyotp
import pytest

from eventsapi.auth.hashing import HashingGate
from eventsapi.auth.passwords import Hasher
from eventsapi.auth.principal import OPERATOR
from eventsapi.auth.service import AccountService, Principal
from eventsapi.auth.throttle import FREE_FAILURES, LOCK_AFTER, MAX_DELAY
from eventsapi.domain.accounts import AuditKind, Role, Scope
from eventsapi.errors import AuthenticationFailed, TooManyAttempts
from eventsapi.storage import Backend
from tests.support import FakeClock

pytestmark = pytest.mark.anyio

PASSWORD = "plum tractor whisper eleven lagoon"  # noqa: S105 (a test account's)
NEW_PASSWORD = "quiet harbor pencil marmalade"  # noqa: S105 (a test account's)
AGENT = "test-agent/1.0"


@dataclasses.dataclass
class Replicas:
    one: AccountService
    two: AccountService
    store: Backend
    clock: FakeClock


@pytest.fixture
async def replicas(
    new_store: Callable[[], Backend], clock: FakeClock, anyio_backend: str
) -> AsyncIterator[Replicas]:
    async with contextlib.AsyncExitStack() as stack:
        services = []
        stores = []
        for _ in range(2):
            store = new_store()
            await store.open()
            stack.push_async_callback(store.close)
            stores.append(store)
            # Room in the hashing queue for the logins sent at once: what the database
            # decides is tested here (tests/unit/test_hashing.py has the queue's rules).
            roomy = HashingGate(queue=100, per_client=100)
            services.append(
                AccountService(store, clock.now, hasher=Hasher.for_tests(), hashing=roomy)
            )
        await services[0].admin.create_user("alice", PASSWORD, actor=OPERATOR)
        yield Replicas(services[0], services[1], stores[0], clock)


async def login(
    service: AccountService, password: str = PASSWORD, *, totp: str | None = None
) -> str:
    _, _, token = await service.signin.login(
        "alice", password, totp=totp, client="192.0.2.1", user_agent=AGENT
    )
    return token


async def authenticated(service: AccountService, token: str) -> Principal:
    principal = await service.signin.authenticate(token)
    assert principal is not None
    return principal


async def test_a_login_is_used_listed_and_ended(replicas: Replicas) -> None:
    service, clock = replicas.one, replicas.clock
    token = await login(service)
    clock.advance(120)

    principal = await authenticated(service, token)

    assert principal.scopes == {Scope.EVENTS_READ, Scope.EVENTS_WRITE}
    [session] = await service.own.sessions(principal)
    assert session == principal.session
    assert session.last_seen_at == clock.now()
    assert session.last_seen_at.tzinfo is UTC
    assert await service.signin.logout(principal)
    assert await service.signin.authenticate(token) is None
    assert [entry.kind for entry in await service.own.audit(principal)] == [
        AuditKind.LOGOUT,
        AuditKind.LOGIN,
        AuditKind.USER_CREATED,
    ]


async def test_a_session_ended_on_one_replica_is_refused_at_once_on_the_other(
    replicas: Replicas,
) -> None:
    one, two = replicas.one, replicas.two
    laptop, phone, tablet = await login(one), await login(one), await login(one)
    for service in (one, two):  # both have served them
        for token in (laptop, phone, tablet):
            await authenticated(service, token)

    on_phone = await authenticated(two, phone)
    laptop_session = (await authenticated(one, laptop)).session
    assert laptop_session is not None
    assert await two.own.terminate_session(on_phone, laptop_session.id)
    assert await one.signin.authenticate(laptop) is None

    assert await two.own.terminate_other_sessions(on_phone) == 1
    assert await one.signin.authenticate(tablet) is None
    assert await one.signin.authenticate(phone) is not None


async def test_a_password_changed_on_one_replica_ends_the_sessions_on_the_other(
    replicas: Replicas,
) -> None:
    one, two = replicas.one, replicas.two
    old = await login(two)
    principal = await authenticated(one, await login(one))

    _, new = await one.own.change_password(principal, PASSWORD, NEW_PASSWORD)

    assert await two.signin.authenticate(old) is None
    assert await two.signin.authenticate(new) is not None
    with pytest.raises(AuthenticationFailed):
        await login(two, PASSWORD)
    await login(two, NEW_PASSWORD)


async def test_failures_and_the_lock_are_shared_by_the_replicas(replicas: Replicas) -> None:
    one, two, clock = replicas.one, replicas.two, replicas.clock
    for n in range(FREE_FAILURES + 1):
        with pytest.raises(AuthenticationFailed):
            await login(one if n % 2 else two, NEW_PASSWORD)
    with pytest.raises(TooManyAttempts):
        await login(one)
    with pytest.raises(TooManyAttempts):
        await login(two)

    alice = await replicas.store.user_by_name("alice")
    assert alice is not None
    await replicas.store.update_user(
        alice.id, lambda user: msgspec.structs.replace(user, failed_logins=LOCK_AFTER - 1)
    )
    clock.advance(MAX_DELAY.total_seconds())
    with pytest.raises(AuthenticationFailed):
        await login(two, NEW_PASSWORD)
    clock.advance(MAX_DELAY.total_seconds())
    with pytest.raises(AuthenticationFailed):
        await login(one)  # the right password: locked
    [locked] = [
        entry for entry in await replicas.store.audit_of(alice.id) if entry.kind is AuditKind.LOCKED
    ]
    assert locked.detail == {"failures": LOCK_AFTER}


async def test_logins_sent_at_once_to_both_replicas_are_counted_before_they_are_checked(
    replicas: Replicas,
) -> None:
    async def attempt(service: AccountService, password: str) -> str:
        try:
            await login(service, password)
        except TooManyAttempts:
            return "wait"
        except AuthenticationFailed:
            return "failed"
        return "in"

    guesses = [f"guess number {n} of many" for n in range(20)]
    results = await asyncio.gather(
        *(attempt(replicas.one if n % 2 else replicas.two, g) for n, g in enumerate(guesses))
    )

    assert sorted(results) == ["failed"] * (FREE_FAILURES + 1) + ["wait"] * (19 - FREE_FAILURES)


async def test_guesses_from_one_address_sent_at_once_to_both_replicas_share_its_budget(
    replicas: Replicas,
) -> None:
    # Names with no account and other accounts: no per-account wait stops them, only the
    # address's budget (20 per 5 minutes), which both replicas reserve in the database.
    await replicas.one.admin.create_user("bob", PASSWORD, actor=OPERATOR)

    async def attempt(service: AccountService, name: str) -> str:
        try:
            await service.signin.login(name, NEW_PASSWORD, client="192.0.2.7", user_agent=AGENT)
        except TooManyAttempts:
            return "wait"
        except AuthenticationFailed:
            return "failed"
        return "in"

    names = ["alice", "bob"] + [f"nobody{n}" for n in range(58)]
    results = await asyncio.gather(
        *(attempt(replicas.one if n % 2 else replicas.two, name) for n, name in enumerate(names))
    )

    assert results.count("failed") == 20
    assert results.count("wait") == 40
    # Another address is not affected; the right password still works from it.
    _, _, token = await replicas.two.signin.login(
        "alice", PASSWORD, client="192.0.2.8", user_agent=AGENT
    )
    assert token


async def test_a_totp_code_spent_on_one_replica_is_refused_on_the_other(
    replicas: Replicas,
) -> None:
    one, two, clock = replicas.one, replicas.two, replicas.clock
    principal = await authenticated(one, await login(one))
    secret, _, _ = await one.own.start_totp(principal)
    codes, _, _ = await two.own.confirm_totp(
        principal, pyotp.TOTP(secret).at(clock.now()), password=PASSWORD
    )
    clock.advance(30)
    code = pyotp.TOTP(secret).at(clock.now())

    await login(one, totp=code)
    with pytest.raises(AuthenticationFailed):
        await login(two, totp=code)

    clock.advance(30)
    both = await asyncio.gather(
        login(one, totp=codes[0]), login(two, totp=codes[0]), return_exceptions=True
    )
    assert sorted(type(result).__name__ for result in both) == ["AuthenticationFailed", "str"]


async def test_a_role_change_on_one_replica_holds_on_the_other(replicas: Replicas) -> None:
    one, two = replicas.one, replicas.two
    await one.admin.create_user("root", PASSWORD, role=Role.ADMIN, actor=OPERATOR)
    _, _, admin_token = await one.signin.login(
        "root", PASSWORD, client="192.0.2.9", user_agent=AGENT
    )
    member = await login(two)

    await one.admin.set_role(await authenticated(one, admin_token), "alice", Role.ADMIN)

    assert await two.signin.authenticate(member) is None
    assert Scope.ADMIN in (await authenticated(two, await login(two))).scopes
