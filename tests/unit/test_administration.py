"""Administering accounts (``auth/administration.py``) on the memory store: usernames,
creating users, unlocking, roles, by an admin or the operator; and housekeeping."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventsapi.auth.principal import OPERATOR
from eventsapi.auth.service import ENDED_KEPT, AccountService, normalize_username
from eventsapi.auth.throttle import LOCK_AFTER
from eventsapi.domain.accounts import AuditKind, Role, Scope
from eventsapi.errors import (
    AlreadyExists,
    Forbidden,
    NotFound,
    PasswordRejected,
    ValidationFailed,
)
from eventsapi.storage.memory import MemoryStore
from tests.support import FakeClock
from tests.unit.accounts import (
    PASSWORD,
    authenticated,
    fail_logins,
    kinds,
    login,
    signed_in,
    signup,
)

pytestmark = pytest.mark.anyio


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
    user = await service.admin.create_user("Alice", PASSWORD, role=Role.MEMBER, actor=OPERATOR)

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
        await service.admin.create_user("alice", "password1234567", actor=OPERATOR)

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
        await service.admin.create_user("alice", "Vq7#kLp2x!mZ4w", actor=OPERATOR)


async def test_only_an_admin_or_the_operator_creates_users(service: AccountService) -> None:
    await signup(service, "root", role=Role.ADMIN)
    await signup(service, "bob")
    admin, member = await signed_in(service, "root"), await signed_in(service, "bob")

    with pytest.raises(Forbidden):
        await service.admin.create_user("carol", PASSWORD, actor=member)
    carol = await service.admin.create_user("carol", PASSWORD, actor=admin)
    assert carol.role is Role.MEMBER


async def test_a_name_taken_in_another_spelling_is_refused(service: AccountService) -> None:
    await signup(service, "alice")

    with pytest.raises(AlreadyExists):
        await service.admin.create_user("ALICE", PASSWORD, actor=OPERATOR)
    with pytest.raises(ValidationFailed) as invalid:
        await service.admin.create_user("al ice", PASSWORD, actor=OPERATOR)
    assert invalid.value.errors[0].field == "username"


# -- unlocking and roles ----------------------------------------------------------------


async def test_an_admin_unlocks_an_account(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service, "root", role=Role.ADMIN)
    await signup(service)
    admin = await signed_in(service, "root")
    member = await signed_in(service)
    await fail_logins(service, clock, LOCK_AFTER, "alice")

    with pytest.raises(Forbidden):
        await service.admin.unlock(member, "alice")
    with pytest.raises(NotFound):
        await service.admin.unlock(admin, "nobody")
    unlocked = await service.admin.unlock(admin, "Alice")

    assert (unlocked.locked, unlocked.failed_logins) == (False, 0)
    await login(service)
    assert AuditKind.UNLOCKED in await kinds(service, member)


async def test_a_role_change_ends_the_users_sessions(service: AccountService) -> None:
    await signup(service, "root", role=Role.ADMIN)
    await signup(service)
    admin = await signed_in(service, "root")
    _, _, token = await login(service)

    with pytest.raises(Forbidden):
        await service.admin.set_role(await authenticated(service, token), "alice", Role.ADMIN)
    promoted = await service.admin.set_role(admin, "alice", Role.ADMIN)

    assert promoted.role is Role.ADMIN
    assert await service.signin.authenticate(token) is None
    again = await signed_in(service)
    assert Scope.ADMIN in again.scopes
    assert (await kinds(service, again))[1] is AuditKind.ROLE_CHANGED


async def test_the_last_admin_cannot_be_demoted(service: AccountService) -> None:
    await signup(service, "root", role=Role.ADMIN)
    admin = await signed_in(service, "root")

    with pytest.raises(Forbidden, match="last admin"):
        await service.admin.set_role(admin, "root", Role.MEMBER)


async def test_an_admin_token_with_the_admin_scope_may_act_and_one_without_may_not(
    service: AccountService,
) -> None:
    await signup(service, "root", role=Role.ADMIN)
    await signup(service)
    admin = await signed_in(service, "root")
    _, with_admin = await service.own.create_token(admin, "ops", [Scope.ADMIN], None)
    _, without = await service.own.create_token(admin, "read", [Scope.EVENTS_READ], None)

    await service.admin.unlock(await authenticated(service, with_admin), "alice")
    with pytest.raises(Forbidden):
        await service.admin.unlock(await authenticated(service, without), "alice")


async def test_the_audit_log_records_the_admin_and_their_address_and_the_operator_as_neither(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service, "root", role=Role.ADMIN)
    _, _, token = await login(service, "root")
    admin = await service.signin.authenticate(token, client="203.0.113.5")
    assert admin is not None
    administered = (AuditKind.USER_CREATED, AuditKind.UNLOCKED, AuditKind.ROLE_CHANGED)
    logged = {}
    for actor, name in ((admin, "carol"), (OPERATOR, "dave")):
        user = await service.admin.create_user(name, PASSWORD, actor=actor)
        await fail_logins(service, clock, LOCK_AFTER, name)
        await service.admin.unlock(actor, name)
        await service.admin.set_role(actor, name, Role.ADMIN)
        logged[name] = [
            (entry.kind, entry.client_address, entry.detail)
            for entry in reversed(await memory.audit_of(user.id, limit=1000))
            if entry.kind in administered
        ]

    by_admin = {"by": admin.user.id}
    role_change = {"previous": "member", "role": "admin", "sessions_ended": 0}
    assert logged["carol"] == [
        (AuditKind.USER_CREATED, "203.0.113.5", {"role": "member", **by_admin}),
        (AuditKind.UNLOCKED, "203.0.113.5", by_admin),
        (AuditKind.ROLE_CHANGED, "203.0.113.5", {**role_change, **by_admin}),
    ]
    assert logged["dave"] == [
        (AuditKind.USER_CREATED, "", {"role": "member"}),
        (AuditKind.UNLOCKED, "", {}),
        (AuditKind.ROLE_CHANGED, "", role_change),
    ]


# -- housekeeping -----------------------------------------------------------------------


async def test_sessions_and_tokens_are_deleted_a_month_after_they_end(
    service: AccountService, clock: FakeClock
) -> None:
    await signup(service)
    await service.signin.logout(await signed_in(service))  # revoked now
    live = await signed_in(service)  # ends in 24 hours
    await service.own.create_token(live, "ci", [Scope.EVENTS_READ], timedelta(days=1))
    await service.own.create_token(live, "forever", [Scope.EVENTS_READ], None)

    clock.advance((ENDED_KEPT + timedelta(hours=12)).total_seconds())
    first = await service.prune_ended()  # the logout is over 30 days old, the rest not
    clock.advance(timedelta(days=1).total_seconds())
    second = await service.prune_ended()

    assert first == (1, 0)
    assert second == (1, 1)
    assert [token.name for token in await service.own.tokens(live)] == ["forever"]
