"""``AccountService`` on the memory store: every rule of logins, sessions, passwords,
two-step verification, API tokens, admin actions and the audit log (issue 6).

Passwords are hashed with ``Hasher.for_tests()`` (microseconds) except in the one test
that compares the time of an unknown user's login with a wrong password's.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, cast

import pyotp
import pytest
from argon2 import Parameters, extract_parameters

from eventsapi.auth.hashing import HashingGate
from eventsapi.auth.passwords import TEST_PARAMETERS, Hasher
from eventsapi.auth.service import ENDED_KEPT, AccountService, Principal, normalize_username
from eventsapi.auth.sessions import SessionPolicy
from eventsapi.auth.throttle import FREE_FAILURES, LOCK_AFTER, MAX_DELAY
from eventsapi.auth.tokens import token_hash
from eventsapi.domain.accounts import AuditKind, Role, Scope, Session, User
from eventsapi.errors import (
    AlreadyExists,
    AuthenticationFailed,
    Forbidden,
    NotFound,
    PasswordRejected,
    SecondFactorRequired,
    TooManyAttempts,
    ValidationFailed,
)
from eventsapi.storage.base import EventStore
from eventsapi.storage.memory import MemoryStore
from tests.support import FakeClock

pytestmark = pytest.mark.anyio

# Passwords of test accounts, not secrets:
PASSWORD = "plum tractor whisper eleven lagoon"  # noqa: S105
NEW_PASSWORD = "quiet harbor pencil marmalade"  # noqa: S105
SHORT_PASSWORD = "Vq7#kLp2x!"  # noqa: S105
"""10 characters: enough with two-step verification (8), not without (15)."""
CLIENT = "192.0.2.1"
AGENT = "test-agent/1.0"


@pytest.fixture
async def memory(anyio_backend: str) -> AsyncIterator[MemoryStore]:
    store = MemoryStore()
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def service(memory: MemoryStore, clock: FakeClock) -> AccountService:
    return AccountService(memory, clock.now, hasher=Hasher.for_tests())


async def signup(service: AccountService, name: str = "alice", *, role: Role = Role.MEMBER) -> User:
    return await service.create_user(name, PASSWORD, role=role, actor=None)


async def login(
    service: AccountService,
    name: str = "alice",
    password: str = PASSWORD,
    *,
    totp: str | None = None,
    client: str = CLIENT,
) -> tuple[User, Session, str]:
    return await service.login(name, password, totp=totp, client=client, user_agent=AGENT)


async def signed_in(service: AccountService, name: str = "alice", **kwargs: str) -> Principal:
    _, _, token = await login(service, name, **kwargs)
    return await authenticated(service, token)


async def authenticated(service: AccountService, token: str) -> Principal:
    principal = await service.authenticate(token)
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
    secret, _, _ = await service.start_totp(principal)
    codes, _, token = await service.confirm_totp(
        principal, code_at(secret, clock), password=PASSWORD
    )
    clock.advance(30)
    return secret, codes, token


async def kinds(service: AccountService, principal: Principal) -> list[AuditKind]:
    return [entry.kind for entry in await service.audit(principal)]


async def fail_logins(service: AccountService, clock: FakeClock, count: int, name: str) -> None:
    """``count`` wrong passwords for ``name``, each after the wait the last one asked for."""
    for _ in range(count):
        with pytest.raises(AuthenticationFailed):
            await login(service, name, "wrong password, wrong password")
        clock.advance(MAX_DELAY.total_seconds())


# -- usernames --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Alice", "alice"),
        ("  bob.smith_2-x ", "bob.smith_2-x"),
        ("\uff21\uff4c\uff49\uff43\uff45", "alice"),  # full-width letters
        ("STRASSE", "strasse"),
        ("Stra\u00dfe", "stra\u00dfe"),  # RFC 8265 lower-cases; it does not fold ß to ss
        ("Jos\u0065\u0301", "jos\u00e9"),  # decomposed accent composed
        ("a" * 64, "a" * 64),
    ],
)
def test_usernames_have_one_spelling(typed: str, stored: str) -> None:
    assert normalize_username(typed) == stored


@pytest.mark.parametrize("typed", ["", "   ", "a" * 65, "al ice", "alice@example", "a/b", "x\x00"])
def test_names_that_cannot_be_usernames_are_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="username"):
        normalize_username(typed)


# -- creating users ---------------------------------------------------------------------


async def test_a_new_user_is_stored_with_an_argon2id_hash_and_audited(
    service: AccountService, memory: MemoryStore
) -> None:
    user = await service.create_user("Alice", PASSWORD, role=Role.MEMBER, actor=None)

    assert user.username == "alice"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert await memory.user_by_name("alice") == user
    [entry] = await memory.audit_of(user.id)
    assert entry.kind is AuditKind.USER_CREATED
    assert entry.detail == {"role": "member"}


async def test_a_password_the_policy_refuses_stores_no_user(
    service: AccountService, memory: MemoryStore
) -> None:
    with pytest.raises(PasswordRejected) as refused:
        await service.create_user("alice", "password1234567", actor=None)

    assert refused.value.problems
    assert refused.value.suggestions
    assert [error.field for error in refused.value.errors] == ["password"] * len(
        refused.value.problems
    )
    assert await memory.count_users() == 0


async def test_a_password_of_14_characters_is_too_short_for_a_new_account(
    service: AccountService,
) -> None:
    with pytest.raises(PasswordRejected, match="at least 15"):
        await service.create_user("alice", "Vq7#kLp2x!mZ4w", actor=None)


async def test_only_an_admin_or_the_operator_creates_users(service: AccountService) -> None:
    admin = await signup(service, "root", role=Role.ADMIN)
    member = await signup(service, "bob")

    with pytest.raises(Forbidden):
        await service.create_user("carol", PASSWORD, actor=member)
    carol = await service.create_user("carol", PASSWORD, actor=admin)
    assert carol.role is Role.MEMBER


async def test_a_name_taken_in_another_spelling_is_refused(service: AccountService) -> None:
    await signup(service, "alice")

    with pytest.raises(AlreadyExists):
        await service.create_user("ALICE", PASSWORD, actor=None)
    with pytest.raises(ValidationFailed) as invalid:
        await service.create_user("al ice", PASSWORD, actor=None)
    assert invalid.value.errors[0].field == "username"


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
    [entry, _] = await service.audit(principal)
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


class WorkLog:
    """What a login does: each store call and each argon2 computation, in order."""

    def __init__(self, store: MemoryStore) -> None:
        self.calls: list[str] = []
        self.store = store

    def recording_store(self) -> EventStore:
        log, inner = self, self.store

        class Recording:
            def __getattr__(self, name: str) -> Any:
                method = getattr(inner, name)

                async def call(*args: Any, **kwargs: Any) -> Any:
                    log.calls.append(f"store.{name}")
                    return await method(*args, **kwargs)

                return call

        return cast(EventStore, Recording())

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
    await service.create_user("alice", PASSWORD, actor=None)

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

    await memory.update_user(alice.id, lambda user: dataclasses.replace(user, locked=True))

    with pytest.raises(AuthenticationFailed):
        await login(service)
    assert await service.authenticate(token) is not None


async def test_a_locked_account_answers_the_right_password_as_a_wrong_one(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    # Including the wait that follows: a 429 right after the right password but not after
    # a wrong one would tell a guesser which was right.
    await signup(service)
    await memory.update_user(
        (await current(memory)).id,
        lambda user: dataclasses.replace(user, failed_logins=LOCK_AFTER, locked=True),
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


async def test_an_admin_unlocks_an_account(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service, "root", role=Role.ADMIN)
    await signup(service)
    admin = await signed_in(service, "root")
    member = await signed_in(service)
    await fail_logins(service, clock, LOCK_AFTER, "alice")

    with pytest.raises(Forbidden):
        await service.unlock(member, "alice")
    with pytest.raises(NotFound):
        await service.unlock(admin, "nobody")
    unlocked = await service.unlock(admin, "Alice")

    assert (unlocked.locked, unlocked.failed_logins) == (False, 0)
    await login(service)
    assert AuditKind.UNLOCKED in await kinds(service, member)


# -- two-step verification --------------------------------------------------------------


async def test_enrolment_stores_a_secret_not_in_force_until_confirmed(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    principal = await signed_in(service)

    secret, uri, svg = await service.start_totp(principal)

    assert uri.startswith("otpauth://totp/eventsapi:alice?secret=" + secret)
    assert svg.startswith("<svg")
    stored = await current(memory)
    assert (stored.totp_secret, stored.totp_enabled) == (secret, False)
    await login(service)  # no code needed yet
    with pytest.raises(ValidationFailed):
        await service.confirm_totp(principal, code_at(secret, clock, 3), password=PASSWORD)
    with pytest.raises(AuthenticationFailed):
        await service.confirm_totp(principal, code_at(secret, clock), password=NEW_PASSWORD)
    assert not (await current(memory)).totp_enabled


async def test_confirming_turns_it_on_gives_recovery_codes_and_a_new_session(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    principal = await signed_in(service)
    _, _, other_token = await login(service)

    secret, codes, token = await turn_on_totp(service, clock, principal)

    stored = await current(memory)
    assert stored.totp_enabled
    assert len(codes) == len(set(codes)) == 10
    assert len(stored.recovery_codes) == 10
    assert not set(codes) & set(stored.recovery_codes)
    # Every older session ended (a privilege change); the new one works.
    assert await service.authenticate(other_token) is None
    assert principal.session is not None
    assert await service.sessions(await authenticated(service, token))
    assert AuditKind.TOTP_ENABLED in await kinds(service, await authenticated(service, token))
    with pytest.raises(Forbidden):
        await service.start_totp(await authenticated(service, token))
    assert secret == stored.totp_secret


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
    logged = await service.audit(principal)
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
        lambda user: dataclasses.replace(user, failed_logins=LOCK_AFTER, locked=True),
    )
    clock.advance(MAX_DELAY.total_seconds())
    principal = await signed_in(service, totp=code_at(secret, clock))

    after = await current(memory)
    assert (after.locked, after.failed_logins) == (False, 0)
    assert (await kinds(service, principal))[:2] == [AuditKind.LOGIN, AuditKind.UNLOCKED]


async def test_turning_totp_off_needs_the_password_and_a_code(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    secret, _, token = await turn_on_totp(service, clock, await signed_in(service))
    principal = await authenticated(service, token)

    with pytest.raises(AuthenticationFailed):
        await service.disable_totp(principal, NEW_PASSWORD, code_at(secret, clock))
    clock.advance(MAX_DELAY.total_seconds())
    with pytest.raises(AuthenticationFailed):
        await service.disable_totp(principal, PASSWORD, "123-not-a-code")
    assert (await current(memory)).totp_enabled

    await service.disable_totp(principal, PASSWORD, code_at(secret, clock))

    stored = await current(memory)
    assert (stored.totp_enabled, stored.totp_secret, stored.recovery_codes) == (False, None, ())
    await login(service)  # the password alone again
    assert AuditKind.TOTP_DISABLED in await kinds(service, principal)
    with pytest.raises(Forbidden):
        await service.disable_totp(principal, PASSWORD, "123456")


async def test_totp_cannot_be_turned_off_while_the_password_is_too_short_alone(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    secret, _, token = await turn_on_totp(service, clock, await signed_in(service))
    _, token = await service.change_password(
        await authenticated(service, token), PASSWORD, SHORT_PASSWORD, totp=code_at(secret, clock)
    )
    clock.advance(30)

    with pytest.raises(PasswordRejected, match="15"):
        await service.disable_totp(
            await authenticated(service, token), SHORT_PASSWORD, code_at(secret, clock)
        )
    assert (await current(memory)).totp_enabled


# -- sessions ---------------------------------------------------------------------------


async def test_authenticate_refuses_what_is_not_a_live_token(
    service: AccountService, clock: FakeClock
) -> None:
    await signup(service)
    _, _, token = await login(service)

    assert await service.authenticate("") is None
    assert await service.authenticate("Bearer " + token) is None
    assert await service.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert await service.authenticate("eas_" + "x" * 43) is None
    assert await service.authenticate(token) is not None


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
        assert await service.authenticate(token) is not None
    assert await service.authenticate(token, now=clock.now() + timedelta(minutes=10)) is None

    # The absolute timeout ends it however active it was.
    clock.advance(9 * 60)
    assert await service.authenticate(token) is not None
    clock.advance(6 * 60 + 1)
    assert clock.now() > session.created_at + timedelta(hours=1)
    assert await service.authenticate(token) is None


async def test_activity_is_written_at_most_once_a_minute(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    _, session, token = await login(service)

    clock.advance(30)
    await service.authenticate(token)
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

    assert await service.logout(principal)
    assert await service.authenticate(token) is None
    assert not await service.logout(principal)
    assert (await kinds(service, principal))[0] is AuditKind.LOGOUT


async def test_sessions_lists_the_active_ones_and_one_can_be_ended(
    service: AccountService, clock: FakeClock
) -> None:
    await signup(service)
    _, idle, _ = await login(service, client="192.0.2.50")
    clock.advance(31 * 60)
    _, phone, phone_token = await login(service, client="192.0.2.60")
    clock.advance(1)
    principal = await signed_in(service)

    listed = await service.sessions(principal)
    assert [session.id for session in listed] == [principal.session.id, phone.id]  # type: ignore[union-attr]
    assert idle.id not in {session.id for session in listed}

    assert await service.terminate_session(principal, phone.id)
    assert await service.authenticate(phone_token) is None
    assert not await service.terminate_session(principal, phone.id)
    assert AuditKind.SESSION_TERMINATED in await kinds(service, principal)


async def test_no_one_ends_another_users_session(service: AccountService) -> None:
    await signup(service)
    await signup(service, "bob")
    alice = await signed_in(service)
    _, bobs, bobs_token = await login(service, "bob")

    assert not await service.terminate_session(alice, bobs.id)
    assert await service.authenticate(bobs_token) is not None


async def test_terminate_other_sessions_keeps_the_current_one(service: AccountService) -> None:
    await signup(service)
    await signup(service, "bob")
    _, _, laptop = await login(service)
    _, _, phone = await login(service)
    _, _, bobs = await login(service, "bob")
    principal = await signed_in(service)

    assert await service.terminate_other_sessions(principal) == 2

    assert await service.authenticate(laptop) is None
    assert await service.authenticate(phone) is None
    assert await service.authenticate(bobs) is not None
    assert await service.sessions(principal) == [principal.session]


# -- passwords --------------------------------------------------------------------------


async def test_changing_the_password_ends_every_session_and_gives_a_new_one(
    service: AccountService, memory: MemoryStore
) -> None:
    await signup(service)
    _, _, other = await login(service)
    _, _, token = await login(service)
    principal = await authenticated(service, token)

    session, new_token = await service.change_password(principal, PASSWORD, NEW_PASSWORD)

    assert await service.authenticate(other) is None
    assert await service.authenticate(token) is None
    assert (await authenticated(service, new_token)).session == session
    with pytest.raises(AuthenticationFailed):
        await login(service, password=PASSWORD)
    await login(service, password=NEW_PASSWORD)
    assert (await current(memory)).password_changed_at == session.created_at
    assert AuditKind.PASSWORD_CHANGED in await kinds(
        service, await authenticated(service, new_token)
    )


async def test_a_password_change_needs_the_current_password_and_counts_failures(
    service: AccountService, memory: MemoryStore
) -> None:
    await signup(service)
    _, _, token = await login(service)
    principal = await authenticated(service, token)

    with pytest.raises(AuthenticationFailed):
        await service.change_password(principal, "not my password at all", NEW_PASSWORD)
    assert (await current(memory)).failed_logins == 1
    with pytest.raises(PasswordRejected) as weak:
        await service.change_password(principal, PASSWORD, "alicealicealice1")
    assert {error.field for error in weak.value.errors} == {"new_password"}
    # Nothing changed: the session and the password still work.
    assert await service.authenticate(token) is not None
    await login(service, password=PASSWORD)


async def test_with_totp_a_password_change_needs_a_code_and_allows_8_characters(
    service: AccountService, clock: FakeClock
) -> None:
    await signup(service)
    secret, _, token = await turn_on_totp(service, clock, await signed_in(service))
    principal = await authenticated(service, token)

    with pytest.raises(SecondFactorRequired):
        await service.change_password(principal, PASSWORD, SHORT_PASSWORD)
    _, token = await service.change_password(
        principal, PASSWORD, SHORT_PASSWORD, totp=code_at(secret, clock)
    )
    clock.advance(30)
    await login(service, password=SHORT_PASSWORD, totp=code_at(secret, clock))


async def test_a_hash_made_with_old_parameters_is_replaced_at_login(
    memory: MemoryStore, clock: FakeClock
) -> None:
    old = AccountService(memory, clock.now, hasher=Hasher.for_tests())
    await old.create_user("alice", PASSWORD, actor=None)
    stronger = Parameters(**{**dataclasses.asdict(TEST_PARAMETERS), "time_cost": 2})
    service = AccountService(memory, clock.now, hasher=Hasher(stronger))

    user, _, _ = await login(service)

    assert extract_parameters(user.password_hash) == stronger
    assert (await current(memory)).password_hash == user.password_hash
    await login(service)


# -- API tokens -------------------------------------------------------------------------


async def test_an_api_token_has_the_scopes_it_was_given(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    principal = await signed_in(service)

    token, value = await service.create_token(
        principal, " ci ", [Scope.EVENTS_READ], timedelta(days=30)
    )

    assert value.startswith("eat_")
    assert token.token_hash == token_hash(value)
    assert (token.name, token.expires_at) == ("ci", clock.now() + timedelta(days=30))
    by_token = await authenticated(service, value)
    assert by_token.session is None
    assert by_token.token == dataclasses.replace(token, last_used_at=clock.now())
    assert by_token.scopes == {Scope.EVENTS_READ}
    assert await service.tokens(principal) == [by_token.token]
    assert AuditKind.TOKEN_CREATED in await kinds(service, principal)


async def test_a_token_cannot_get_scopes_its_owner_lacks(service: AccountService) -> None:
    await signup(service)
    principal = await signed_in(service)

    with pytest.raises(Forbidden, match="admin"):
        await service.create_token(principal, "ci", [Scope.ADMIN], None)
    with pytest.raises(ValidationFailed):
        await service.create_token(principal, "ci", [], None)
    with pytest.raises(ValidationFailed):
        await service.create_token(principal, "  ", [Scope.EVENTS_READ], None)
    with pytest.raises(ValidationFailed):
        await service.create_token(principal, "ci", [Scope.EVENTS_READ], timedelta(0))


async def test_a_token_cannot_manage_the_account(service: AccountService) -> None:
    await signup(service)
    principal = await signed_in(service)
    _, value = await service.create_token(
        principal, "ci", [Scope.EVENTS_READ, Scope.EVENTS_WRITE], None
    )
    by_token = await authenticated(service, value)

    with pytest.raises(Forbidden):
        await service.create_token(by_token, "more", [Scope.EVENTS_READ], None)
    with pytest.raises(Forbidden):
        await service.sessions(by_token)
    with pytest.raises(Forbidden):
        await service.terminate_other_sessions(by_token)
    with pytest.raises(Forbidden):
        await service.change_password(by_token, PASSWORD, NEW_PASSWORD)
    with pytest.raises(Forbidden):
        await service.start_totp(by_token)
    with pytest.raises(Forbidden):
        await service.logout(by_token)
    assert await service.sessions(principal)


async def test_expired_and_revoked_tokens_are_refused(
    service: AccountService, clock: FakeClock
) -> None:
    await signup(service)
    await signup(service, "bob")
    principal = await signed_in(service)
    bob = await signed_in(service, "bob")
    short, short_value = await service.create_token(
        principal, "short", [Scope.EVENTS_READ], timedelta(hours=1)
    )
    kept, kept_value = await service.create_token(principal, "kept", [Scope.EVENTS_READ], None)

    assert not await service.revoke_token(bob, kept.id)
    assert await service.revoke_token(principal, kept.id)
    assert await service.authenticate(kept_value) is None
    assert await service.authenticate(short_value) is not None
    assert await service.authenticate(short_value, now=short.expires_at) is None
    assert [token.id for token in await service.tokens(principal)] == [short.id]


async def test_a_demoted_admins_token_loses_the_admin_scope(service: AccountService) -> None:
    await signup(service, "root", role=Role.ADMIN)
    await signup(service, "boss", role=Role.ADMIN)
    root = await signed_in(service, "root")
    _, value = await service.create_token(root, "ops", [Scope.ADMIN, Scope.EVENTS_READ], None)
    assert (await authenticated(service, value)).scopes == {Scope.ADMIN, Scope.EVENTS_READ}

    await service.set_role(await signed_in(service, "boss"), "root", Role.MEMBER)

    assert (await authenticated(service, value)).scopes == {Scope.EVENTS_READ}


async def test_token_use_is_recorded(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    principal = await signed_in(service)
    token, value = await service.create_token(principal, "ci", [Scope.EVENTS_READ], None)

    for _ in range(3):
        clock.advance(61)
        await service.authenticate(value, client="198.51.100.9")

    [stored] = await memory.tokens_of(token.user_id)
    assert stored.last_used_at == clock.now()
    used = [entry for entry in await service.audit(principal) if entry.kind is AuditKind.TOKEN_USED]
    assert [(entry.client_address, entry.detail) for entry in used] == [
        ("198.51.100.9", {"token_id": token.id})
    ]


# -- admin ------------------------------------------------------------------------------


async def test_a_role_change_ends_the_users_sessions(service: AccountService) -> None:
    await signup(service, "root", role=Role.ADMIN)
    await signup(service)
    admin = await signed_in(service, "root")
    _, _, token = await login(service)

    with pytest.raises(Forbidden):
        await service.set_role(await authenticated(service, token), "alice", Role.ADMIN)
    promoted = await service.set_role(admin, "alice", Role.ADMIN)

    assert promoted.role is Role.ADMIN
    assert await service.authenticate(token) is None
    again = await signed_in(service)
    assert Scope.ADMIN in again.scopes
    assert (await kinds(service, again))[1] is AuditKind.ROLE_CHANGED


async def test_the_last_admin_cannot_be_demoted(service: AccountService) -> None:
    await signup(service, "root", role=Role.ADMIN)
    admin = await signed_in(service, "root")

    with pytest.raises(Forbidden, match="last admin"):
        await service.set_role(admin, "root", Role.MEMBER)


async def test_an_admin_token_with_the_admin_scope_may_act_and_one_without_may_not(
    service: AccountService,
) -> None:
    await signup(service, "root", role=Role.ADMIN)
    await signup(service)
    admin = await signed_in(service, "root")
    _, with_admin = await service.create_token(admin, "ops", [Scope.ADMIN], None)
    _, without = await service.create_token(admin, "read", [Scope.EVENTS_READ], None)

    await service.unlock(await authenticated(service, with_admin), "alice")
    with pytest.raises(Forbidden):
        await service.unlock(await authenticated(service, without), "alice")


# -- audit ------------------------------------------------------------------------------


async def test_a_user_sees_only_their_own_audit_entries_newest_first(
    service: AccountService, clock: FakeClock
) -> None:
    await signup(service)
    await signup(service, "bob")
    with pytest.raises(AuthenticationFailed):
        await login(service, "bob", NEW_PASSWORD)
    clock.advance(1)
    principal = await signed_in(service)

    logged = await service.audit(principal)
    assert [entry.kind for entry in logged] == [AuditKind.LOGIN, AuditKind.USER_CREATED]
    assert {entry.user_id for entry in logged} == {principal.user.id}
    [first] = await service.audit(principal, limit=1)
    assert await service.audit(principal, before=first.id) == logged[1:]


# -- housekeeping ---------------------------------------------------------------------


async def test_sessions_and_tokens_are_deleted_a_month_after_they_end(
    service: AccountService, clock: FakeClock
) -> None:
    await signup(service)
    await service.logout(await signed_in(service))  # revoked now
    live = await signed_in(service)  # ends in 24 hours
    await service.create_token(live, "ci", [Scope.EVENTS_READ], timedelta(days=1))
    await service.create_token(live, "forever", [Scope.EVENTS_READ], None)

    clock.advance((ENDED_KEPT + timedelta(hours=12)).total_seconds())
    first = await service.prune_ended()  # the logout is over 30 days old, the rest not
    clock.advance(timedelta(days=1).total_seconds())
    second = await service.prune_ended()

    assert first == (1, 0)
    assert second == (1, 1)
    assert [token.name for token in await service.tokens(live)] == ["forever"]
