"""A signed-in user's own account (``auth/own_account.py``) on the memory store: sessions,
password, two-step verification, API tokens and the audit log."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from eventsapi.auth.service import AccountService
from eventsapi.auth.throttle import MAX_DELAY
from eventsapi.auth.tokens import token_hash
from eventsapi.domain.accounts import AuditKind, Scope
from eventsapi.errors import (
    AuthenticationFailed,
    Forbidden,
    PasswordRejected,
    SecondFactorRequired,
    ValidationFailed,
)
from eventsapi.storage.memory import MemoryStore
from tests.support import FakeClock
from tests.unit.accounts import (
    NEW_PASSWORD,
    PASSWORD,
    SHORT_PASSWORD,
    authenticated,
    code_at,
    current,
    kinds,
    login,
    signed_in,
    signup,
    turn_on_totp,
)

pytestmark = pytest.mark.anyio


# -- two-step verification --------------------------------------------------------------


async def test_enrolment_stores_a_secret_not_in_force_until_confirmed(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    principal = await signed_in(service)

    secret, uri, svg = await service.own.start_totp(principal)

    assert uri.startswith("otpauth://totp/eventsapi:alice?secret=" + secret)
    assert svg.startswith("<svg")
    stored = await current(memory)
    assert (stored.totp_secret, stored.totp_enabled) == (secret, False)
    await login(service)  # no code needed yet
    with pytest.raises(ValidationFailed):
        await service.own.confirm_totp(principal, code_at(secret, clock, 3), password=PASSWORD)
    with pytest.raises(AuthenticationFailed):
        await service.own.confirm_totp(principal, code_at(secret, clock), password=NEW_PASSWORD)
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
    assert await service.signin.authenticate(other_token) is None
    assert principal.session is not None
    assert await service.own.sessions(await authenticated(service, token))
    assert AuditKind.TOTP_ENABLED in await kinds(service, await authenticated(service, token))
    with pytest.raises(Forbidden):
        await service.own.start_totp(await authenticated(service, token))
    assert secret == stored.totp_secret


async def test_turning_totp_off_needs_the_password_and_a_code(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    secret, _, token = await turn_on_totp(service, clock, await signed_in(service))
    principal = await authenticated(service, token)

    with pytest.raises(AuthenticationFailed):
        await service.own.disable_totp(principal, NEW_PASSWORD, code_at(secret, clock))
    clock.advance(MAX_DELAY.total_seconds())
    with pytest.raises(AuthenticationFailed):
        await service.own.disable_totp(principal, PASSWORD, "123-not-a-code")
    assert (await current(memory)).totp_enabled

    await service.own.disable_totp(principal, PASSWORD, code_at(secret, clock))

    stored = await current(memory)
    assert (stored.totp_enabled, stored.totp_secret, stored.recovery_codes) == (False, None, ())
    await login(service)  # the password alone again
    assert AuditKind.TOTP_DISABLED in await kinds(service, principal)
    with pytest.raises(Forbidden):
        await service.own.disable_totp(principal, PASSWORD, "123456")


async def test_totp_cannot_be_turned_off_while_the_password_is_too_short_alone(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    secret, _, token = await turn_on_totp(service, clock, await signed_in(service))
    _, token = await service.own.change_password(
        await authenticated(service, token), PASSWORD, SHORT_PASSWORD, totp=code_at(secret, clock)
    )
    clock.advance(30)

    with pytest.raises(PasswordRejected, match="15"):
        await service.own.disable_totp(
            await authenticated(service, token), SHORT_PASSWORD, code_at(secret, clock)
        )
    assert (await current(memory)).totp_enabled


# -- sessions ---------------------------------------------------------------------------


async def test_sessions_lists_the_active_ones_and_one_can_be_ended(
    service: AccountService, clock: FakeClock
) -> None:
    await signup(service)
    _, idle, _ = await login(service, client="192.0.2.50")
    clock.advance(31 * 60)
    _, phone, phone_token = await login(service, client="192.0.2.60")
    clock.advance(1)
    principal = await signed_in(service)

    listed = await service.own.sessions(principal)
    assert [session.id for session in listed] == [principal.session.id, phone.id]  # type: ignore[union-attr]
    assert idle.id not in {session.id for session in listed}

    assert await service.own.terminate_session(principal, phone.id)
    assert await service.signin.authenticate(phone_token) is None
    assert not await service.own.terminate_session(principal, phone.id)
    assert AuditKind.SESSION_TERMINATED in await kinds(service, principal)


async def test_no_one_ends_another_users_session(service: AccountService) -> None:
    await signup(service)
    await signup(service, "bob")
    alice = await signed_in(service)
    _, bobs, bobs_token = await login(service, "bob")

    assert not await service.own.terminate_session(alice, bobs.id)
    assert await service.signin.authenticate(bobs_token) is not None


async def test_terminate_other_sessions_keeps_the_current_one(service: AccountService) -> None:
    await signup(service)
    await signup(service, "bob")
    _, _, laptop = await login(service)
    _, _, phone = await login(service)
    _, _, bobs = await login(service, "bob")
    principal = await signed_in(service)

    assert await service.own.terminate_other_sessions(principal) == 2

    assert await service.signin.authenticate(laptop) is None
    assert await service.signin.authenticate(phone) is None
    assert await service.signin.authenticate(bobs) is not None
    assert await service.own.sessions(principal) == [principal.session]


# -- passwords --------------------------------------------------------------------------


async def test_changing_the_password_ends_every_session_and_gives_a_new_one(
    service: AccountService, memory: MemoryStore
) -> None:
    await signup(service)
    _, _, other = await login(service)
    _, _, token = await login(service)
    principal = await authenticated(service, token)

    session, new_token = await service.own.change_password(principal, PASSWORD, NEW_PASSWORD)

    assert await service.signin.authenticate(other) is None
    assert await service.signin.authenticate(token) is None
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
        await service.own.change_password(principal, "not my password at all", NEW_PASSWORD)
    assert (await current(memory)).failed_logins == 1
    with pytest.raises(PasswordRejected) as weak:
        await service.own.change_password(principal, PASSWORD, "alicealicealice1")
    assert {error.field for error in weak.value.errors} == {"new_password"}
    # Nothing changed: the session and the password still work.
    assert await service.signin.authenticate(token) is not None
    await login(service, password=PASSWORD)


async def test_with_totp_a_password_change_needs_a_code_and_allows_8_characters(
    service: AccountService, clock: FakeClock
) -> None:
    await signup(service)
    secret, _, token = await turn_on_totp(service, clock, await signed_in(service))
    principal = await authenticated(service, token)

    with pytest.raises(SecondFactorRequired):
        await service.own.change_password(principal, PASSWORD, SHORT_PASSWORD)
    _, token = await service.own.change_password(
        principal, PASSWORD, SHORT_PASSWORD, totp=code_at(secret, clock)
    )
    clock.advance(30)
    await login(service, password=SHORT_PASSWORD, totp=code_at(secret, clock))


# -- API tokens -------------------------------------------------------------------------


async def test_an_api_token_has_the_scopes_it_was_given(
    service: AccountService, memory: MemoryStore, clock: FakeClock
) -> None:
    await signup(service)
    principal = await signed_in(service)

    token, value = await service.own.create_token(
        principal, " ci ", [Scope.EVENTS_READ], timedelta(days=30)
    )

    assert value.startswith("eat_")
    assert token.token_hash == token_hash(value)
    assert (token.name, token.expires_at) == ("ci", clock.now() + timedelta(days=30))
    by_token = await authenticated(service, value)
    assert by_token.session is None
    assert by_token.token == msgspec.structs.replace(token, last_used_at=clock.now())
    assert by_token.scopes == {Scope.EVENTS_READ}
    assert await service.own.tokens(principal) == [by_token.token]
    assert AuditKind.TOKEN_CREATED in await kinds(service, principal)


async def test_a_token_cannot_get_scopes_its_owner_lacks(service: AccountService) -> None:
    await signup(service)
    principal = await signed_in(service)

    with pytest.raises(Forbidden, match="admin"):
        await service.own.create_token(principal, "ci", [Scope.ADMIN], None)
    with pytest.raises(ValidationFailed):
        await service.own.create_token(principal, "ci", [], None)
    with pytest.raises(ValidationFailed):
        await service.own.create_token(principal, "  ", [Scope.EVENTS_READ], None)
    with pytest.raises(ValidationFailed):
        await service.own.create_token(principal, "ci", [Scope.EVENTS_READ], timedelta(0))


async def test_a_token_cannot_manage_the_account(service: AccountService) -> None:
    await signup(service)
    principal = await signed_in(service)
    _, value = await service.own.create_token(
        principal, "ci", [Scope.EVENTS_READ, Scope.EVENTS_WRITE], None
    )
    by_token = await authenticated(service, value)

    with pytest.raises(Forbidden):
        await service.own.create_token(by_token, "more", [Scope.EVENTS_READ], None)
    with pytest.raises(Forbidden):
        await service.own.sessions(by_token)
    with pytest.raises(Forbidden):
        await service.own.terminate_other_sessions(by_token)
    with pytest.raises(Forbidden):
        await service.own.change_password(by_token, PASSWORD, NEW_PASSWORD)
    with pytest.raises(Forbidden):
        await service.own.start_totp(by_token)
    with pytest.raises(Forbidden):
        await service.signin.logout(by_token)
    assert await service.own.sessions(principal)


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

    logged = await service.own.audit(principal)
    assert [entry.kind for entry in logged] == [AuditKind.LOGIN, AuditKind.USER_CREATED]
    assert {entry.user_id for entry in logged} == {principal.user.id}
    [first] = await service.own.audit(principal, limit=1)
    assert await service.own.audit(principal, before=first.id) == logged[1:]
