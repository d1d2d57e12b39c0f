"""Logging in and out and authenticating each request (``auth/signin.py``), with the
counting of attempts it shares (``auth/attempts.py``), on the memory store.

Passwords are hashed with ``Hasher.for_tests()`` (microseconds) except in the one test
that compares the time of an unknown user's login with a wrong password's.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any, cast

import msgspec
import pytest
from argon2 import Parameters, extract_parameters

from eventsapi.auth.hashing import HashingGate
from eventsapi.auth.passwords import TEST_PARAMETERS, Hasher
from eventsapi.auth.principal import OPERATOR
from eventsapi.auth.service import AccountService
from eventsapi.auth.sessions import SessionPolicy
from eventsapi.auth.throttle import FREE_FAILURES, LOCK_AFTER, MAX_DELAY
from eventsapi.auth.tokens import token_hash
from eventsapi.domain.accounts import AuditKind, Role, Scope
from eventsapi.errors import (
    AuthenticationFailed,
    SecondFactorRequired,
    TooManyAttempts,
)
from eventsapi.storage import Backend
from eventsapi.storage.memory import MemoryStore
from tests.support import FakeClock
from tests.unit.accounts import (
    AGENT,
    CLIENT,
    NEW_PASSWORD,
    PASSWORD,
    authenticated,
    code_at,
    current,
    fail_logins,
    kinds,
    login,
    signed_in,
    signup,
    turn_on_totp,
)

pytestmark = pytest.mark.anyio


# -- login ------------------------------------------------------------------------------


async def test_login_gives_a_session_whose_token_is_stored_only_as_a_hash(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    alice = await signup(service)

    user, session, token = await login(service, "ALICE")

    assert user.id == alice.id
    assert token.startswith("eas_")
    assert session.token_hash == token_hash(token) != token.encode()
    assert (session.client_address, session.user_agent) == (CLIENT, AGENT)
    assert session.expires_at == clock.now() + timedelta(hours=24)
    assert await memory.session_by_token(token_hash(token)) == (session, user)
    principal = await authenticated(service, token)
    assert principal.session == session
    assert principal.scopes == {Scope.EVENTS_READ, Scope.EVENTS_WRITE}
    [entry, _] = await service.own.audit(principal)
    assert entry.kind is AuditKind.LOGIN
    assert entry.detail == {"session_id": session.id}


async def test_every_login_gets_a_new_session_and_token(service: AccountService) -> None:
    await signup(service)

    _, first, first_token = await login(service)
    _, second, second_token = await login(service)

    assert first.id != second.id
    assert first_token != second_token


async def test_an_unknown_user_and_a_wrong_password_fail_alike(
    service: AccountService, memory: MemoryStore
) -> None:
    alice = await signup(service)

    with pytest.raises(AuthenticationFailed) as unknown:
        await login(service, "mallory")
    with pytest.raises(AuthenticationFailed) as wrong:
        await login(service, "alice", NEW_PASSWORD)
    with pytest.raises(AuthenticationFailed) as invalid_name:
        await login(service, "not a name!")

    assert type(unknown.value) is type(wrong.value) is type(invalid_name.value)
    assert str(unknown.value) == str(wrong.value) == str(invalid_name.value)
    [failed, _] = await memory.audit_of(alice.id)
    assert (failed.kind, failed.detail) == (AuditKind.LOGIN_FAILED, {"reason": "password"})


async def test_an_unknown_user_is_throttled_at_the_same_attempts_as_a_real_one(
    service: AccountService,
) -> None:
    await signup(service)

    seen: dict[str, list[str | int]] = {"alice": [], "mallory": []}
    for name, results in seen.items():
        for _ in range(FREE_FAILURES + 3):
            try:
                await login(service, name, NEW_PASSWORD, client=f"198.51.100.{len(name)}")
            except TooManyAttempts as exc:
                results.append(exc.retry_after)
            except AuthenticationFailed:
                results.append("failed")

    assert seen["alice"] == seen["mallory"]
    assert seen["alice"] == ["failed"] * (FREE_FAILURES + 1) + [1, 1]


async def test_an_unknown_name_s_failures_are_forgotten_a_year_after_its_last(
    service: AccountService, clock: FakeClock
) -> None:
    async def attempt(name: str) -> str | int:
        try:
            await login(service, name, "wrong password, wrong password")
        except TooManyAttempts as exc:
            return exc.retry_after
        except AuthenticationFailed:
            return "failed"
        raise AssertionError("an unknown name logged in")

    for name in ("mallory", "trudy"):
        assert [await attempt(name) for _ in range(FREE_FAILURES + 1)] == ["failed"] * 6
    clock.advance(timedelta(days=365).total_seconds() - 1)
    assert [await attempt("mallory"), await attempt("mallory")] == ["failed", 2]  # kept
    clock.advance(2)
    assert [await attempt("trudy"), await attempt("trudy")] == ["failed", "failed"]  # anew


class WorkLog:
    """What a login does: each store call and each argon2 computation, in order."""

    def __init__(self, store: MemoryStore) -> None:
        self.calls: list[str] = []
        self.store = store

    def recording_store(self) -> Backend:
        log, inner = self, self.store

        class Recording:
            def __getattr__(self, name: str) -> Any:
                method = getattr(inner, name)

                async def call(*args: Any, **kwargs: Any) -> Any:
                    log.calls.append(f"store.{name}")
                    return await method(*args, **kwargs)

                return call

        return cast(Backend, Recording())

    def hasher(self) -> Hasher:
        log = self

        class Recording(Hasher):
            # verify_unknown_user verifies against a dummy hash: it comes here too.
            def verify(self, phc: str, password: str) -> bool:
                log.calls.append("argon2")
                return super().verify(phc, password)

        return Recording(TEST_PARAMETERS)


async def test_an_unknown_user_costs_the_work_of_a_wrong_password(
    memory: MemoryStore, clock: FakeClock
) -> None:
    # The same store calls in the same order (counting writes before the hash, the audit
    # entry after) and one argon2 each: then they take the same time, which
    # bench/login_timing.py measures with the real parameters (docs/benchmarks.md).
    log = WorkLog(memory)
    service = AccountService(log.recording_store(), clock.now, hasher=log.hasher())
    await service.admin.create_user("alice", PASSWORD, actor=OPERATOR)

    log.calls.clear()
    with pytest.raises(AuthenticationFailed):
        await login(service, "alice", NEW_PASSWORD)
    wrong = list(log.calls)
    log.calls.clear()
    with pytest.raises(AuthenticationFailed):
        await login(service, "mallory", NEW_PASSWORD)
    unknown = list(log.calls)

    assert wrong == [
        "store.update_client_logins",
        "store.user_by_name",
        "store.update_user",
        "argon2",
        "store.append_audit",
    ]
    assert unknown == [
        "store.update_client_logins",
        "store.user_by_name",
        "store.update_unknown_login",
        "argon2",
        "store.append_audit",
    ]


async def test_a_hash_made_with_old_parameters_is_replaced_at_login(
    memory: MemoryStore, clock: FakeClock
) -> None:
    old = AccountService(memory, clock.now, hasher=Hasher.for_tests())
    await old.admin.create_user("alice", PASSWORD, actor=OPERATOR)
    stronger = Parameters(**{**dataclasses.asdict(TEST_PARAMETERS), "time_cost": 2})
    service = AccountService(memory, clock.now, hasher=Hasher(stronger))

    user, _, _ = await login(service)

    assert extract_parameters(user.password_hash) == stronger
    assert (await current(memory)).password_hash == user.password_hash
    await login(service)


# -- throttling and the lock ------------------------------------------------------------


async def test_after_five_failures_the_account_waits_and_a_waiting_attempt_is_not_counted(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    for _ in range(FREE_FAILURES + 1):
        with pytest.raises(AuthenticationFailed):
            await login(service, password=NEW_PASSWORD)

    with pytest.raises(TooManyAttempts) as waiting:
        await login(service)  # even the right password waits
    assert waiting.value.retry_after == 1
    assert (await current(memory)).failed_logins == FREE_FAILURES + 1

    clock.advance(1)
    await login(service)
    after = await current(memory)
    assert (after.failed_logins, after.last_failed_login_at) == (0, None)


async def test_logins_sent_at_once_are_counted_before_they_are_checked(
    memory: MemoryStore, clock: FakeClock
) -> None:
    # Room for all of them in the hashing queue: the account's count is what is tested.
    roomy = HashingGate(queue=100, per_client=100)
    service = AccountService(memory, clock.now, hasher=Hasher.for_tests(), hashing=roomy)
    await signup(service)

    async def attempt(password: str) -> str:
        try:
            await login(service, password=password)
        except TooManyAttempts:
            return "wait"
        except AuthenticationFailed:
            return "failed"
        return "in"

    guesses = [f"guess number {n} of many" for n in range(20)] + [PASSWORD]
    results = await asyncio.gather(*(attempt(guess) for guess in guesses))

    # Only the first FREE_FAILURES + 1 were checked; the right password came too late.
    assert results == ["failed"] * (FREE_FAILURES + 1) + ["wait"] * (21 - FREE_FAILURES - 1)


async def test_what_is_not_a_failed_guess_gives_the_address_budget_back(
    service: AccountService, clock: FakeClock
) -> None:
    # Each login reserves one of the address's 20 attempts before it is checked: a right
    # password, or a password waiting for its two-step code, gives it back.
    await signup(service)
    await signup(service, "carol")
    principal = await signed_in(service, "carol")
    await turn_on_totp(service, clock, principal)
    for _ in range(30):
        await login(service)
        with pytest.raises(SecondFactorRequired):
            await login(service, "carol")
    for n in range(20):
        with pytest.raises(AuthenticationFailed):
            await login(service, f"nobody{n}")

    with pytest.raises(TooManyAttempts):
        await login(service)  # the 21st failure would be next: the budget is spent


async def test_a_client_failing_on_many_names_is_throttled_on_every_name(
    service: AccountService,
) -> None:
    await signup(service)
    for n in range(10):  # wrong passwords for real accounts, and names with none
        await signup(service, f"bob{n}")
        with pytest.raises(AuthenticationFailed):
            await login(service, f"bob{n}", NEW_PASSWORD)
        with pytest.raises(AuthenticationFailed):
            await login(service, f"nobody{n}")

    with pytest.raises(TooManyAttempts):
        await login(service, "alice")  # the right password, from that client
    await login(service, "alice", client="192.0.2.2")


async def test_the_100th_failure_locks_the_account(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    alice = await signup(service)

    await fail_logins(service, clock, LOCK_AFTER - 1, "alice")
    assert not (await current(memory)).locked
    await fail_logins(service, clock, 1, "alice")

    assert (await current(memory)).locked
    logged = await memory.audit_of(alice.id, limit=1000)
    assert [entry.kind for entry in logged].count(AuditKind.LOCKED) == 1
    with pytest.raises(AuthenticationFailed):
        await login(service)  # the right password


async def test_a_lock_stops_logins_not_the_sessions_already_open(
    service: AccountService, memory: MemoryStore
) -> None:
    alice = await signup(service)
    _, _, token = await login(service)

    await memory.update_user(alice.id, lambda user: msgspec.structs.replace(user, locked=True))

    with pytest.raises(AuthenticationFailed):
        await login(service)
    assert await service.signin.authenticate(token) is not None


async def test_a_locked_account_answers_the_right_password_as_a_wrong_one(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    # Including the wait that follows: a 429 right after the right password but not after
    # a wrong one would tell a guesser which was right.
    await signup(service)
    await memory.update_user(
        (await current(memory)).id,
        lambda user: msgspec.structs.replace(user, failed_logins=LOCK_AFTER, locked=True),
    )

    results: dict[str, list[type[Exception]]] = {}
    for label, password in (("right", PASSWORD), ("wrong", NEW_PASSWORD)):
        clock.advance(MAX_DELAY.total_seconds())
        found: list[type[Exception]] = []
        for _ in range(2):
            try:
                await login(service, password=password)
            except (AuthenticationFailed, TooManyAttempts) as exc:
                found.append(type(exc))
        results[label] = found

    assert results["right"] == results["wrong"] == [AuthenticationFailed, TooManyAttempts]


# -- the second factor at login ---------------------------------------------------------


async def test_with_totp_on_the_code_is_asked_only_after_the_right_password(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    secret, _, _ = await turn_on_totp(service, clock, await signed_in(service))

    with pytest.raises(AuthenticationFailed):
        await login(service, password=NEW_PASSWORD)
    with pytest.raises(SecondFactorRequired):
        await login(service)
    assert (await current(memory)).failed_logins == 1  # the wrong password only

    user, _, _ = await login(service, totp=code_at(secret, clock))
    assert user.failed_logins == 0


async def test_a_totp_code_is_accepted_once(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    secret, _, _ = await turn_on_totp(service, clock, await signed_in(service))
    code = code_at(secret, clock)

    await login(service, totp=code)
    with pytest.raises(AuthenticationFailed):
        await login(service, totp=code)  # replayed
    assert (await current(memory)).failed_logins == 1

    newer = code_at(secret, clock, 1)
    await login(service, totp=newer)
    with pytest.raises(AuthenticationFailed):
        await login(service, totp=code_at(secret, clock, -1))  # older than the last one


async def test_a_replayed_code_sent_at_once_wins_once(
    service: AccountService, clock: FakeClock
) -> None:
    await signup(service)
    secret, _, _ = await turn_on_totp(service, clock, await signed_in(service))
    code = code_at(secret, clock)

    results = await asyncio.gather(
        *(login(service, totp=code) for _ in range(3)), return_exceptions=True
    )

    assert sum(isinstance(result, tuple) for result in results) == 1
    assert sum(isinstance(result, AuthenticationFailed) for result in results) == 2


async def test_a_recovery_code_logs_in_once(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    _, codes, _ = await turn_on_totp(service, clock, await signed_in(service))

    await login(service, totp=codes[0].upper())
    with pytest.raises(AuthenticationFailed):
        await login(service, totp=codes[0])

    assert len((await current(memory)).recovery_codes) == 9
    principal = await signed_in(service, totp=codes[1])
    logged = await service.own.audit(principal)
    used = [entry for entry in logged if entry.kind is AuditKind.RECOVERY_CODE_USED]
    assert [entry.detail for entry in used] == [{"remaining": 8}, {"remaining": 9}]


async def test_a_wrong_code_counts_as_a_failure_and_the_second_factor_lifts_a_lock(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    secret, _, _ = await turn_on_totp(service, clock, await signed_in(service))

    with pytest.raises(AuthenticationFailed):
        await login(service, totp="000000" if code_at(secret, clock) != "000000" else "111111")
    assert (await current(memory)).failed_logins == 1

    await memory.update_user(
        (await current(memory)).id,
        lambda user: msgspec.structs.replace(user, failed_logins=LOCK_AFTER, locked=True),
    )
    clock.advance(MAX_DELAY.total_seconds())
    principal = await signed_in(service, totp=code_at(secret, clock))

    after = await current(memory)
    assert (after.locked, after.failed_logins) == (False, 0)
    assert (await kinds(service, principal))[:2] == [AuditKind.LOGIN, AuditKind.UNLOCKED]


# -- sessions at each request, and logout -----------------------------------------------


async def test_authenticate_refuses_what_is_not_a_live_token(
    service: AccountService, clock: FakeClock
) -> None:
    await signup(service)
    _, _, token = await login(service)

    assert await service.signin.authenticate("") is None
    assert await service.signin.authenticate("Bearer " + token) is None
    assert (
        await service.signin.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    )
    assert await service.signin.authenticate("eas_" + "x" * 43) is None
    assert await service.signin.authenticate(token) is not None


async def test_an_idle_session_is_refused_and_activity_keeps_it_alive(
    memory: MemoryStore, clock: FakeClock
) -> None:
    service = AccountService(
        memory,
        clock.now,
        hasher=Hasher.for_tests(),
        session_policy=SessionPolicy(idle=timedelta(minutes=10), absolute=timedelta(hours=1)),
    )
    await signup(service)
    _, session, token = await login(service)

    for _ in range(5):  # 5 x 9 minutes: each request within the idle timeout
        clock.advance(9 * 60)
        assert await service.signin.authenticate(token) is not None
    assert await service.signin.authenticate(token, now=clock.now() + timedelta(minutes=10)) is None

    # The absolute timeout ends it however active it was.
    clock.advance(9 * 60)
    assert await service.signin.authenticate(token) is not None
    clock.advance(6 * 60 + 1)
    assert clock.now() > session.created_at + timedelta(hours=1)
    assert await service.signin.authenticate(token) is None


async def test_activity_is_written_at_most_once_a_minute(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    _, session, token = await login(service)

    clock.advance(30)
    await service.signin.authenticate(token)
    found = await memory.session_by_token(session.token_hash)
    assert found is not None
    assert found[0].last_seen_at == session.created_at

    clock.advance(30)
    principal = await authenticated(service, token)
    found = await memory.session_by_token(session.token_hash)
    assert found is not None
    assert found[0].last_seen_at == clock.now()
    assert principal.session == found[0]


async def test_logout_ends_the_session(service: AccountService) -> None:
    await signup(service)
    _, _, token = await login(service)
    principal = await authenticated(service, token)

    assert await service.signin.logout(principal)
    assert await service.signin.authenticate(token) is None
    assert not await service.signin.logout(principal)
    assert (await kinds(service, principal))[0] is AuditKind.LOGOUT


# -- API tokens at each request ---------------------------------------------------------


async def test_expired_and_revoked_tokens_are_refused(
    service: AccountService, clock: FakeClock
) -> None:
    await signup(service)
    await signup(service, "bob")
    principal = await signed_in(service)
    bob = await signed_in(service, "bob")
    short, short_value = await service.own.create_token(
        principal, "short", [Scope.EVENTS_READ], timedelta(hours=1)
    )
    kept, kept_value = await service.own.create_token(principal, "kept", [Scope.EVENTS_READ], None)

    assert not await service.own.revoke_token(bob, kept.id)
    assert await service.own.revoke_token(principal, kept.id)
    assert await service.signin.authenticate(kept_value) is None
    assert await service.signin.authenticate(short_value) is not None
    assert await service.signin.authenticate(short_value, now=short.expires_at) is None
    assert [token.id for token in await service.own.tokens(principal)] == [short.id]


async def test_a_demoted_admins_token_loses_the_admin_scope(service: AccountService) -> None:
    await signup(service, "root", role=Role.ADMIN)
    await signup(service, "boss", role=Role.ADMIN)
    root = await signed_in(service, "root")
    _, value = await service.own.create_token(root, "ops", [Scope.ADMIN, Scope.EVENTS_READ], None)
    assert (await authenticated(service, value)).scopes == {Scope.ADMIN, Scope.EVENTS_READ}

    await service.admin.set_role(await signed_in(service, "boss"), "root", Role.MEMBER)

    assert (await authenticated(service, value)).scopes == {Scope.EVENTS_READ}


async def test_token_use_is_recorded(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    principal = await signed_in(service)
    token, value = await service.own.create_token(principal, "ci", [Scope.EVENTS_READ], None)

    for _ in range(3):
        clock.advance(61)
        await service.signin.authenticate(value, client="198.51.100.9")

    [stored] = await memory.tokens_of(token.user_id)
    assert stored.last_used_at == clock.now()
    used = [
        entry for entry in await service.own.audit(principal) if entry.kind is AuditKind.TOKEN_USED
    ]
    assert [(entry.client_address, entry.detail) for entry in used] == [
        ("198.51.100.9", {"token_id": token.id})
    ]
