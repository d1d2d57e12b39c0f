"""The account part of the storage contract (issue 6), on every backend.

Users (unique usernames, atomic read-modify-write), sessions and API tokens (found by the
hash of their secret with their user, revoked only by their own user), and the append-only
audit log (newest first, paged by id). The last tests run on the SQL backends only: the
database itself refuses changes to the audit log, and a second store on the same database
(another worker or replica) sees a revocation at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest

from eventsapi.domain.accounts import (
    ApiToken,
    AuditEntry,
    AuditKind,
    LoginFailures,
    Role,
    Scope,
    Session,
    User,
)
from eventsapi.domain.ids import new_event_id
from eventsapi.errors import AlreadyExists, Forbidden, NotFound
from eventsapi.storage import Backend
from eventsapi.storage.postgres import PostgresStore
from eventsapi.storage.sqlite import SQLiteStore
from tests.support import START, postgres_schema

pytestmark = pytest.mark.anyio


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def user(name: str = "alice", **fields: Any) -> User:
    values: dict[str, Any] = {
        "id": f"user-{name}",
        "username": name,
        "role": Role.MEMBER,
        "password_hash": f"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${name}",
        "created_at": at(0),
        "password_changed_at": at(0),
    }
    return User(**(values | fields))


def session(owner: User, name: str, *, created: float = 0, **fields: Any) -> Session:
    values: dict[str, Any] = {
        "id": f"session-{name}",
        "user_id": owner.id,
        "token_hash": digest(f"session secret {name}"),
        "created_at": at(created),
        "last_seen_at": at(created),
        "expires_at": at(created + 86_400),
        "client_address": "192.0.2.7",
        "user_agent": "curl/8.5.0",
    }
    return Session(**(values | fields))


def token(owner: User, name: str, *, created: float = 0, **fields: Any) -> ApiToken:
    values: dict[str, Any] = {
        "id": f"token-{name}",
        "user_id": owner.id,
        "name": name,
        "token_hash": digest(f"token secret {name}"),
        "scopes": frozenset({Scope.EVENTS_READ}),
        "created_at": at(created),
        "expires_at": at(created + 30 * 86_400),
    }
    return ApiToken(**(values | fields))


def entry(seconds: float, owner: User | None, kind: AuditKind = AuditKind.LOGIN) -> AuditEntry:
    """An audit entry whose id is a ULID of its time (so ids sort as the entries happened),
    the same on every call: the time part, then a fixed "random" part."""
    return AuditEntry(
        id=new_event_id(at(seconds))[:10] + "0" * 16,
        at=at(seconds),
        kind=kind,
        user_id=None if owner is None else owner.id,
        client_address="198.51.100.4",
        detail={"seconds": seconds},
    )


async def with_users(store: Backend, *names: str) -> list[User]:
    users = [user(name) for name in names]
    for each in users:
        await store.create_user(each)
    return users


# -- users -------------------------------------------------------------------------------


async def test_a_user_reads_back_whole_by_id_and_by_name(opened: Backend) -> None:
    tokyo = timezone(timedelta(hours=9))
    alice = user(
        role=Role.ADMIN,
        created_at=at(0.123456).astimezone(tokyo),
        password_changed_at=at(3600),
        failed_logins=7,
        last_failed_login_at=at(7200.5),
        locked=True,
        totp_secret="JBSWY3DPEHPK3PXP",  # noqa: S106 - a test value
        totp_enabled=True,
        totp_last_step=58_000_123,
        recovery_codes=("$argon2id$one", "$argon2id$two"),
    )
    await opened.create_user(alice)

    assert await opened.user_by_id(alice.id) == alice
    assert await opened.user_by_name("alice") == alice


async def test_a_new_user_has_no_second_factor_and_no_failures(opened: Backend) -> None:
    await opened.create_user(user())

    found = await opened.user_by_name("alice")
    assert found is not None
    assert (found.failed_logins, found.locked, found.totp_secret, found.recovery_codes) == (
        0,
        False,
        None,
        (),
    )


async def test_unknown_users_are_none(opened: Backend) -> None:
    await opened.create_user(user())

    assert await opened.user_by_id("user-nobody") is None
    assert await opened.user_by_name("nobody") is None


async def test_a_taken_username_or_id_is_refused(opened: Backend) -> None:
    alice = user()
    await opened.create_user(alice)

    with pytest.raises(AlreadyExists):
        await opened.create_user(msgspec.structs.replace(alice, id="user-other"))
    with pytest.raises(AlreadyExists):
        await opened.create_user(msgspec.structs.replace(alice, username="other"))

    assert await opened.count_users() == 1
    assert await opened.user_by_name("other") is None
    assert await opened.user_by_id("user-other") is None


async def test_usernames_are_compared_as_given(opened: Backend) -> None:
    # The caller normalizes (NFKC, lower case); the store adds no folding of its own.
    await opened.create_user(user("alice"))
    await opened.create_user(user("Alice", id="user-Alice2"))

    assert await opened.count_users() == 2
    assert await opened.user_by_name("ALICE") is None
    found = await opened.user_by_name("Alice")
    assert found is not None
    assert found.id == "user-Alice2"


async def test_users_are_counted_and_listed_by_username(opened: Backend) -> None:
    assert await opened.count_users() == 0
    assert await opened.list_users() == []

    made = await with_users(opened, "carol", "émile", "alice", "bob")

    assert await opened.count_users() == 4
    by_name = {each.username: each for each in made}
    assert await opened.list_users() == [by_name[n] for n in ("alice", "bob", "carol", "émile")]


async def test_update_user_stores_and_returns_the_change(opened: Backend) -> None:
    [alice] = await with_users(opened, "alice")

    def lock(current: User) -> User:
        return msgspec.structs.replace(
            current, failed_logins=current.failed_logins + 1, locked=True
        )

    updated = await opened.update_user(alice.id, lock)

    assert updated == msgspec.structs.replace(alice, failed_logins=1, locked=True)
    assert await opened.user_by_id(alice.id) == updated


async def test_update_user_of_an_unknown_user_is_not_found(opened: Backend) -> None:
    calls: list[User] = []

    def change(current: User) -> User:
        calls.append(current)
        return current

    with pytest.raises(NotFound):
        await opened.update_user("user-nobody", change)
    assert calls == []


class Refused(Exception):
    pass


async def test_a_change_that_raises_changes_nothing(opened: Backend) -> None:
    [alice] = await with_users(opened, "alice")

    def refuse(current: User) -> User:
        raise Refused

    with pytest.raises(Refused):
        await opened.update_user(alice.id, refuse)
    assert await opened.user_by_id(alice.id) == alice


async def test_a_change_cannot_change_the_id(opened: Backend) -> None:
    [alice] = await with_users(opened, "alice")

    with pytest.raises(ValueError, match="id"):
        await opened.update_user(alice.id, lambda u: msgspec.structs.replace(u, id="user-new"))

    assert await opened.user_by_id(alice.id) == alice
    assert await opened.user_by_id("user-new") is None


async def test_renaming_frees_the_old_name_and_refuses_a_taken_one(opened: Backend) -> None:
    alice, bob = await with_users(opened, "alice", "bob")

    with pytest.raises(AlreadyExists):
        await opened.update_user(alice.id, lambda u: msgspec.structs.replace(u, username="bob"))
    assert await opened.user_by_id(alice.id) == alice

    renamed = await opened.update_user(
        alice.id, lambda u: msgspec.structs.replace(u, username="ally")
    )
    assert await opened.user_by_name("ally") == renamed
    assert await opened.user_by_name("alice") is None
    await opened.create_user(user("alice", id="user-alice-2"))
    assert await opened.user_by_name("bob") == bob


async def test_concurrent_updates_of_one_user_all_count(opened: Backend) -> None:
    [alice] = await with_users(opened, "alice")

    def fail_once(current: User) -> User:
        return msgspec.structs.replace(current, failed_logins=current.failed_logins + 1)

    await asyncio.gather(*(opened.update_user(alice.id, fail_once) for _ in range(50)))

    found = await opened.user_by_id(alice.id)
    assert found is not None
    assert found.failed_logins == 50


# -- roles --------------------------------------------------------------------------------


async def test_change_role_promotes_and_demotes_but_never_the_last_admin(
    opened: Backend,
) -> None:
    [alice, bob] = await with_users(opened, "alice", "bob")

    promoted = await opened.change_role(alice.id, Role.ADMIN)
    with pytest.raises(Forbidden, match="last admin"):
        await opened.change_role(alice.id, Role.MEMBER)
    await opened.change_role(bob.id, Role.ADMIN)
    demoted = await opened.change_role(alice.id, Role.MEMBER)
    with pytest.raises(NotFound):
        await opened.change_role("user-nobody", Role.ADMIN)

    assert promoted == msgspec.structs.replace(alice, role=Role.ADMIN)
    assert demoted == msgspec.structs.replace(alice, role=Role.MEMBER)
    assert await opened.user_by_id(alice.id) == demoted
    found = await opened.user_by_id(bob.id)
    assert found is not None
    assert found.role is Role.ADMIN


async def test_delete_user_takes_the_sessions_and_tokens_but_never_the_last_admin(
    opened: Backend,
) -> None:
    [alice, bob] = await with_users(opened, "alice", "bob")
    alice = await opened.change_role(alice.id, Role.ADMIN)
    await opened.add_session(session(bob, "one"))
    await opened.add_session(session(bob, "two", revoked_at=at(5)))
    await opened.add_token(token(bob, "ci"))
    await opened.add_session(session(alice, "kept"))
    await opened.append_audit(entry(1, bob))

    with pytest.raises(Forbidden, match="last admin"):
        await opened.delete_user(alice.id)
    deleted = await opened.delete_user(bob.id)
    with pytest.raises(NotFound):
        await opened.delete_user(bob.id)

    assert deleted == bob
    assert await opened.user_by_id(bob.id) is None
    assert await opened.user_by_name("bob") is None
    assert await opened.session_by_token(digest("session secret one")) is None
    assert await opened.session_by_token(digest("session secret two")) is None
    assert await opened.token_by_hash(digest("token secret ci")) is None
    assert await opened.session_by_token(digest("session secret kept")) is not None
    assert [e.user_id for e in await opened.audit_of(bob.id)] == [bob.id]  # the log keeps it
    await opened.create_user(user("bob", id="user-bob-again"))  # the name is free again
    with pytest.raises(NotFound):  # the old id names no user
        await opened.add_session(session(bob, "three"))


# -- pruning ended sessions and tokens ---------------------------------------------------


async def test_sessions_and_tokens_that_ended_before_a_time_are_pruned(
    opened: Backend,
) -> None:
    [alice] = await with_users(opened, "alice")
    day = 86_400
    sessions = {
        "expired": session(alice, "expired", created=0),  # ends at day 1
        "revoked": session(alice, "revoked", created=5 * day, revoked_at=at(5 * day + 60)),
        "live": session(alice, "live", created=9 * day),  # ends at day 10
        "ended": session(alice, "ended", created=day),  # ends at day 2
    }
    tokens = {
        "expired": token(alice, "expired", expires_at=at(day)),
        "revoked": token(alice, "revoked", expires_at=None, revoked_at=at(3 * day)),
        "forever": token(alice, "forever", expires_at=None),
        "later": token(alice, "later", expires_at=at(30 * day)),
    }
    for each_session in sessions.values():
        await opened.add_session(each_session)
    for each_token in tokens.values():
        await opened.add_token(each_token)

    pruned = await opened.prune_ended(at(7 * day))
    again = await opened.prune_ended(at(7 * day))

    assert pruned == (3, 2)
    assert again == (0, 0)
    assert [s.id for s in await opened.sessions_of(alice.id)] == ["session-live"]
    assert {t.id for t in await opened.tokens_of(alice.id)} == {"token-forever", "token-later"}
    for name in ("expired", "revoked", "ended"):
        assert await opened.session_by_token(sessions[name].token_hash) is None
    assert await opened.session_by_token(sessions["live"].token_hash) is not None
    for name in ("expired", "revoked"):
        assert await opened.token_by_hash(tokens[name].token_hash) is None


async def test_an_end_at_the_limit_itself_is_kept(opened: Backend) -> None:
    [alice] = await with_users(opened, "alice")
    await opened.add_session(session(alice, "s", created=0))  # expires at 86,400 s
    await opened.add_token(token(alice, "t", expires_at=at(86_400)))

    assert await opened.prune_ended(at(86_400)) == (0, 0)
    assert await opened.prune_ended(at(86_400.5)) == (1, 1)


# -- failed logins of unknown names -------------------------------------------------------

DAY_AGO = at(-86_400)


def failed_at(when: datetime) -> Callable[[LoginFailures], LoginFailures]:
    def count(current: LoginFailures) -> LoginFailures:
        return LoginFailures(current.failures + 1, when)

    return count


async def test_failed_logins_of_an_unknown_name_are_counted_per_name(opened: Backend) -> None:
    first = await opened.update_unknown_login("nobody", failed_at(at(1)), forget_before=DAY_AGO)
    second = await opened.update_unknown_login("nobody", failed_at(at(2)), forget_before=DAY_AGO)
    other = await opened.update_unknown_login("noone", failed_at(at(3)), forget_before=DAY_AGO)

    assert first == LoginFailures(1, at(1))
    assert second == LoginFailures(2, at(2))
    assert other == LoginFailures(1, at(3))


async def test_the_change_sees_what_is_kept_and_no_failure_for_a_new_name(
    opened: Backend,
) -> None:
    seen: list[LoginFailures] = []

    def look(current: LoginFailures) -> LoginFailures:
        seen.append(current)
        return LoginFailures(current.failures + 1, at(len(seen)))

    for _ in range(3):
        await opened.update_unknown_login("nobody", look, forget_before=DAY_AGO)

    assert seen == [LoginFailures(), LoginFailures(1, at(1)), LoginFailures(2, at(2))]


async def test_names_whose_last_failure_is_too_old_are_forgotten(opened: Backend) -> None:
    await opened.update_unknown_login("old", failed_at(at(0)), forget_before=DAY_AGO)
    await opened.update_unknown_login("old", failed_at(at(10)), forget_before=DAY_AGO)
    seen: list[LoginFailures] = []

    def look(current: LoginFailures) -> LoginFailures:
        seen.append(current)
        return LoginFailures(current.failures + 1, at(100_000))

    # A day after the last failure, the name starts again from nothing.
    again = await opened.update_unknown_login("old", look, forget_before=at(11))

    assert seen == [LoginFailures()]
    assert again == LoginFailures(1, at(100_000))


async def test_what_the_change_raises_stops_the_update(opened: Backend) -> None:
    await opened.update_unknown_login("nobody", failed_at(at(1)), forget_before=DAY_AGO)

    def refuse(current: LoginFailures) -> LoginFailures:
        raise LookupError("wait")

    with pytest.raises(LookupError):
        await opened.update_unknown_login("nobody", refuse, forget_before=DAY_AGO)
    with pytest.raises(ValueError, match="time of the failure"):
        await opened.update_unknown_login(
            "nobody", lambda current: LoginFailures(5), forget_before=DAY_AGO
        )
    after = await opened.update_unknown_login("nobody", failed_at(at(2)), forget_before=DAY_AGO)
    assert after == LoginFailures(2, at(2))


async def test_concurrent_failures_of_one_unknown_name_all_count(opened: Backend) -> None:
    await asyncio.gather(
        *(
            opened.update_unknown_login("nobody", failed_at(at(n)), forget_before=DAY_AGO)
            for n in range(50)
        )
    )
    last = await opened.update_unknown_login("nobody", failed_at(at(60)), forget_before=DAY_AGO)

    assert last.failures == 51


# -- sessions ----------------------------------------------------------------------------


async def test_a_session_is_found_by_its_token_hash_with_its_user(opened: Backend) -> None:
    [alice] = await with_users(opened, "alice")
    laptop = session(alice, "laptop", created=12.5, user_agent="Mozilla/5.0 (X11)")
    await opened.add_session(laptop)

    assert await opened.session_by_token(laptop.token_hash) == (laptop, alice)
    assert await opened.session_by_token(digest("a token nobody was given")) is None


async def test_the_user_found_with_a_session_is_as_it_is_now(opened: Backend) -> None:
    [alice] = await with_users(opened, "alice")
    await opened.add_session(session(alice, "laptop"))
    locked = await opened.update_user(alice.id, lambda u: msgspec.structs.replace(u, locked=True))

    found = await opened.session_by_token(digest("session secret laptop"))
    assert found is not None
    assert found[1] == locked


async def test_a_taken_session_id_or_token_hash_is_refused(opened: Backend) -> None:
    [alice] = await with_users(opened, "alice")
    laptop = session(alice, "laptop")
    await opened.add_session(laptop)

    with pytest.raises(AlreadyExists):
        await opened.add_session(msgspec.structs.replace(laptop, token_hash=digest("other")))
    with pytest.raises(AlreadyExists):
        await opened.add_session(msgspec.structs.replace(laptop, id="session-other"))
    assert await opened.sessions_of(alice.id) == [laptop]


async def test_a_session_of_an_unknown_user_is_refused(opened: Backend) -> None:
    ghost = user("ghost")

    with pytest.raises(NotFound):
        await opened.add_session(session(ghost, "laptop"))
    assert await opened.session_by_token(digest("session secret laptop")) is None


async def test_touch_moves_last_seen_forward_only(opened: Backend) -> None:
    [alice] = await with_users(opened, "alice")
    laptop = session(alice, "laptop")
    await opened.add_session(laptop)

    await opened.touch_session(laptop.id, at(60))
    await opened.touch_session(laptop.id, at(30))  # a request that finished late
    await opened.touch_session("session-nobody", at(90))

    found = await opened.session_by_token(laptop.token_hash)
    assert found is not None
    assert found[0] == msgspec.structs.replace(laptop, last_seen_at=at(60))


async def test_sessions_of_a_user_are_the_unrevoked_ones_newest_first(opened: Backend) -> None:
    alice, bob = await with_users(opened, "alice", "bob")
    old, new, same_time = (
        session(alice, "old", created=0),
        session(alice, "new", created=20),
        session(alice, "same-time", created=20),
    )
    for each in (new, old, same_time, session(bob, "bobs")):
        await opened.add_session(each)
    await opened.add_session(session(alice, "gone", created=30, revoked_at=at(31)))

    # Newest first; between two of one instant, the greater id first.
    assert await opened.sessions_of(alice.id) == [same_time, new, old]
    assert await opened.sessions_of("user-nobody") == []


async def test_a_user_revokes_their_own_session_once(opened: Backend) -> None:
    [alice] = await with_users(opened, "alice")
    laptop, phone = session(alice, "laptop"), session(alice, "phone", created=1)
    await opened.add_session(laptop)
    await opened.add_session(phone)

    assert await opened.revoke_session(laptop.id, user_id=alice.id, at=at(100)) is True
    assert await opened.revoke_session(laptop.id, user_id=alice.id, at=at(200)) is False
    assert await opened.revoke_session("session-nobody", user_id=alice.id, at=at(200)) is False

    # Still found (the caller refuses it), revoked at the first revocation's time.
    assert await opened.session_by_token(laptop.token_hash) == (
        msgspec.structs.replace(laptop, revoked_at=at(100)),
        alice,
    )
    assert await opened.sessions_of(alice.id) == [phone]


async def test_a_user_cannot_revoke_another_users_session(opened: Backend) -> None:
    alice, mallory = await with_users(opened, "alice", "mallory")
    laptop = session(alice, "laptop")
    await opened.add_session(laptop)

    assert await opened.revoke_session(laptop.id, user_id=mallory.id, at=at(100)) is False

    assert await opened.session_by_token(laptop.token_hash) == (laptop, alice)
    assert await opened.sessions_of(alice.id) == [laptop]


async def test_revoke_sessions_keeps_the_one_named_and_other_users(opened: Backend) -> None:
    alice, bob = await with_users(opened, "alice", "bob")
    mine = [session(alice, f"s{n}", created=n) for n in range(4)]
    for each in [*mine, session(bob, "bobs")]:
        await opened.add_session(each)
    await opened.revoke_session(mine[0].id, user_id=alice.id, at=at(50))

    assert await opened.revoke_sessions(alice.id, at=at(100), keep=mine[2].id) == 2

    assert await opened.sessions_of(alice.id) == [mine[2]]
    assert await opened.sessions_of(bob.id) == [session(bob, "bobs")]
    first = await opened.session_by_token(mine[0].token_hash)
    assert first is not None
    assert first[0].revoked_at == at(50)  # revoked before: its time stays

    assert await opened.revoke_sessions(alice.id, at=at(200)) == 1
    assert await opened.sessions_of(alice.id) == []
    assert await opened.revoke_sessions(alice.id, at=at(300)) == 0


# -- API tokens --------------------------------------------------------------------------


async def test_a_token_is_found_by_its_hash_with_its_user(opened: Backend) -> None:
    [alice] = await with_users(opened, "alice")
    every_scope = token(alice, "ci", scopes=frozenset(Scope), created=3.25)
    no_expiry = token(alice, "forever", expires_at=None, scopes=frozenset())
    await opened.add_token(every_scope)
    await opened.add_token(no_expiry)

    assert await opened.token_by_hash(every_scope.token_hash) == (every_scope, alice)
    assert await opened.token_by_hash(no_expiry.token_hash) == (no_expiry, alice)
    assert await opened.token_by_hash(digest("a token nobody was given")) is None


async def test_a_taken_token_id_or_hash_and_an_unknown_user_are_refused(
    opened: Backend,
) -> None:
    [alice] = await with_users(opened, "alice")
    ci = token(alice, "ci")
    await opened.add_token(ci)

    with pytest.raises(AlreadyExists):
        await opened.add_token(msgspec.structs.replace(ci, token_hash=digest("other")))
    with pytest.raises(AlreadyExists):
        await opened.add_token(msgspec.structs.replace(ci, id="token-other"))
    with pytest.raises(NotFound):
        await opened.add_token(token(user("ghost"), "ghostly"))
    assert await opened.tokens_of(alice.id) == [ci]


async def test_tokens_of_a_user_are_the_unrevoked_ones_newest_first(opened: Backend) -> None:
    alice, bob = await with_users(opened, "alice", "bob")
    old, new = token(alice, "old", created=0), token(alice, "new", created=10)
    for each in (old, new, token(bob, "bobs"), token(alice, "gone", revoked_at=at(5))):
        await opened.add_token(each)

    assert await opened.tokens_of(alice.id) == [new, old]


async def test_a_token_is_revoked_by_its_own_user_only(opened: Backend) -> None:
    alice, mallory = await with_users(opened, "alice", "mallory")
    ci = token(alice, "ci")
    await opened.add_token(ci)

    assert await opened.revoke_token(ci.id, user_id=mallory.id, at=at(50)) is False
    assert await opened.tokens_of(alice.id) == [ci]

    assert await opened.revoke_token(ci.id, user_id=alice.id, at=at(60)) is True
    assert await opened.revoke_token(ci.id, user_id=alice.id, at=at(70)) is False
    assert await opened.tokens_of(alice.id) == []
    assert await opened.token_by_hash(ci.token_hash) == (
        msgspec.structs.replace(ci, revoked_at=at(60)),
        alice,
    )


async def test_touch_token_records_the_latest_use(opened: Backend) -> None:
    [alice] = await with_users(opened, "alice")
    ci = token(alice, "ci")
    await opened.add_token(ci)

    await opened.touch_token(ci.id, at(40))
    await opened.touch_token(ci.id, at(20))
    await opened.touch_token("token-nobody", at(90))

    assert await opened.token_by_hash(ci.token_hash) == (
        msgspec.structs.replace(ci, last_used_at=at(40)),
        alice,
    )


# -- audit log ---------------------------------------------------------------------------


async def test_audit_entries_read_back_whole_and_per_user(opened: Backend) -> None:
    alice, bob = await with_users(opened, "alice", "bob")
    detail = {"session": "s1", "reasons": ["password", "totp"], "n": 3, "ok": True, "x": None}
    login = msgspec.structs.replace(entry(1, alice), detail=detail)
    failed = entry(2, alice, AuditKind.LOGIN_FAILED)
    for each in (login, entry(3, bob), failed, entry(4, None, AuditKind.LOGIN_FAILED)):
        await opened.append_audit(each)

    assert await opened.audit_of(alice.id) == [failed, login]
    assert await opened.audit_of(bob.id) == [entry(3, bob)]
    assert await opened.audit_of("user-nobody") == []


async def test_an_audit_entry_keeps_what_was_appended(opened: Backend) -> None:
    [alice] = await with_users(opened, "alice")
    detail: dict[str, Any] = {"tags": ["a"]}
    await opened.append_audit(msgspec.structs.replace(entry(1, alice), detail=detail))
    detail["tags"].append("changed after")

    [found] = await opened.audit_of(alice.id)
    found.detail["tags"].append("changed after reading")
    assert [e.detail for e in await opened.audit_of(alice.id)] == [{"tags": ["a"]}]


async def test_a_taken_audit_id_is_refused(opened: Backend) -> None:
    [alice] = await with_users(opened, "alice")
    first = entry(1, alice)
    await opened.append_audit(first)

    with pytest.raises(AlreadyExists):
        await opened.append_audit(msgspec.structs.replace(first, kind=AuditKind.LOGOUT))
    assert await opened.audit_of(alice.id) == [first]


async def test_audit_pages_go_back_in_time_by_id(opened: Backend) -> None:
    alice, bob = await with_users(opened, "alice", "bob")
    mine = [entry(n, alice) for n in range(25)]
    for n, each in enumerate(mine):
        await opened.append_audit(each)
        await opened.append_audit(entry(n + 0.5, bob))
    newest_first = mine[::-1]

    pages, before = [], None
    for _ in range(5):  # bounded: paging that went wrong could go on forever
        page = await opened.audit_of(alice.id, limit=10, before=before)
        if not page:
            break
        pages.append(page)
        before = page[-1].id

    assert [len(page) for page in pages] == [10, 10, 5]
    assert [e for page in pages for e in page] == newest_first
    assert await opened.audit_of(alice.id, limit=3, before=mine[10].id) == newest_first[15:18]
    assert await opened.audit_of(alice.id, limit=0) == []
    assert len(await opened.audit_of(alice.id)) == 25  # 100 by default
    with pytest.raises(ValueError, match="limit"):
        await opened.audit_of(alice.id, limit=-1)


# -- the SQL backends: the database's own rules, and stores sharing one database ----------


@dataclass(frozen=True)
class Database:
    """One SQLite file or PostgreSQL schema: stores on it, and plain SQL run on it."""

    new_store: Callable[[], Backend]
    execute: Callable[[str], None]
    refused: type[Exception]
    """What the driver raises when a trigger refuses a statement."""


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "events.db"

        def sqlite_execute(sql: str) -> None:
            with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
                conn.execute(sql)

        yield Database(lambda: SQLiteStore(path), sqlite_execute, sqlite3.IntegrityError)
        return
    with postgres_schema() as url:

        def postgres_execute(sql: str) -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(sql.encode())

        yield Database(lambda: PostgresStore(url), postgres_execute, psycopg.errors.RaiseException)


@contextlib.asynccontextmanager
async def opened_on(database: Database) -> AsyncIterator[Backend]:
    store = database.new_store()
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET kind = 'logout'",
        "UPDATE audit_log SET detail = '{}' WHERE user_id = 'user-alice'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE user_id = 'user-alice'",
    ],
)
async def test_the_database_refuses_to_change_the_audit_log(
    database: Database, statement: str, anyio_backend: str
) -> None:
    async with opened_on(database) as store:
        [alice] = await with_users(store, "alice")
        logged = [entry(1, alice), entry(2, alice, AuditKind.LOGOUT)]
        for each in logged:
            await store.append_audit(each)

        with pytest.raises(database.refused, match="append-only"):
            database.execute(statement)

        assert await store.audit_of(alice.id) == logged[::-1]


async def test_postgres_refuses_to_truncate_the_audit_log(anyio_backend: str) -> None:
    with postgres_schema() as url:
        store = PostgresStore(url)
        await store.open()
        try:
            [alice] = await with_users(store, "alice")
            await store.append_audit(entry(1, alice))
            with (
                psycopg.connect(url, autocommit=True) as conn,
                pytest.raises(psycopg.errors.RaiseException, match="append-only"),
            ):
                conn.execute("TRUNCATE audit_log")
            assert await store.audit_of(alice.id) == [entry(1, alice)]
        finally:
            await store.close()


async def test_a_revocation_holds_at_once_on_another_store(
    database: Database, anyio_backend: str
) -> None:
    async with opened_on(database) as one, opened_on(database) as two:
        [alice] = await with_users(one, "alice")
        laptop, phone, ci = session(alice, "laptop"), session(alice, "phone"), token(alice, "ci")
        phone = msgspec.structs.replace(phone, token_hash=digest("phone"))
        await one.add_session(laptop)
        await one.add_session(phone)
        await one.add_token(ci)
        for store in (one, two):  # both have read them (a cache would keep them now)
            assert await store.session_by_token(laptop.token_hash) == (laptop, alice)
            assert await store.token_by_hash(ci.token_hash) == (ci, alice)

        assert await two.revoke_session(laptop.id, user_id=alice.id, at=at(10))
        found = await one.session_by_token(laptop.token_hash)
        assert found is not None
        assert found[0].revoked_at == at(10)

        assert await one.revoke_token(ci.id, user_id=alice.id, at=at(20))
        found_token = await two.token_by_hash(ci.token_hash)
        assert found_token is not None
        assert found_token[0].revoked_at == at(20)

        assert await two.revoke_sessions(alice.id, at=at(30)) == 1
        assert await one.sessions_of(alice.id) == []
        locked = await two.update_user(alice.id, lambda u: msgspec.structs.replace(u, locked=True))
        assert await one.user_by_name("alice") == locked


async def test_two_stores_updating_one_user_at_once_lose_no_update(
    database: Database, anyio_backend: str
) -> None:
    async with opened_on(database) as one, opened_on(database) as two:
        [alice] = await with_users(one, "alice")

        def fail_once(current: User) -> User:
            return msgspec.structs.replace(current, failed_logins=current.failed_logins + 1)

        await asyncio.gather(
            *((one if n % 2 else two).update_user(alice.id, fail_once) for n in range(50))
        )

        for store in (one, two):
            found = await store.user_by_id(alice.id)
            assert found is not None
            assert found.failed_logins == 50


async def test_accounts_survive_close_and_reopen(database: Database, anyio_backend: str) -> None:
    async with opened_on(database) as store:
        [alice] = await with_users(store, "alice")
        await store.add_session(session(alice, "laptop"))
        await store.add_token(token(alice, "ci"))
        await store.append_audit(entry(1, alice))

    async with opened_on(database) as again:
        assert await again.list_users() == [alice]
        assert await again.sessions_of(alice.id) == [session(alice, "laptop")]
        assert await again.tokens_of(alice.id) == [token(alice, "ci")]
        assert await again.audit_of(alice.id) == [entry(1, alice)]


async def test_times_read_back_in_utc(database: Database, anyio_backend: str) -> None:
    paris = timezone(timedelta(hours=1))
    async with opened_on(database) as store:
        await store.create_user(user(created_at=at(0).astimezone(paris)))
        found = await store.user_by_name("alice")

    assert found is not None
    assert found.created_at == at(0)
    assert found.created_at.tzinfo == UTC


async def test_unknown_name_failures_are_shared_and_forgotten_by_concurrent_stores(
    database: Database, anyio_backend: str
) -> None:
    async with opened_on(database) as one, opened_on(database) as two:
        for n in range(30):  # names a day old: every update below forgets them
            await one.update_unknown_login(f"old{n}", failed_at(at(n)), forget_before=DAY_AGO)
        fresh = at(200_000)
        await asyncio.gather(
            *(
                store.update_unknown_login(
                    f"new{n % 5}", failed_at(fresh), forget_before=at(100_000)
                )
                for n in range(40)
                for store in (one, two)
            )
        )
        seen: list[LoginFailures] = []

        def look(current: LoginFailures) -> LoginFailures:
            seen.append(current)
            return LoginFailures(current.failures + 1, fresh)

        for name in ("new0", "old0"):
            await two.update_unknown_login(name, look, forget_before=at(100_000))

    assert seen == [LoginFailures(16, fresh), LoginFailures()]


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    database: Database, anyio_backend: str
) -> None:
    async with opened_on(database) as one, opened_on(database) as two:
        for name in ("alice", "bob"):
            await one.create_user(user(name, role=Role.ADMIN))
        for _ in range(10):  # each round: both demote the other at once, then both are back
            results = await asyncio.gather(
                one.change_role("user-alice", Role.MEMBER),
                two.change_role("user-bob", Role.MEMBER),
                return_exceptions=True,
            )
            refused = [r for r in results if isinstance(r, Forbidden)]
            admins = [u.username for u in await one.list_users() if u.role is Role.ADMIN]
            assert len(refused) == 1, results
            assert len(admins) == 1
            for name in ("alice", "bob"):
                await one.change_role(f"user-{name}", Role.ADMIN)


async def test_deleting_an_admin_while_the_other_is_demoted_leaves_one_admin(
    database: Database, anyio_backend: str
) -> None:
    async with opened_on(database) as one, opened_on(database) as two:
        survivor = user("alice", role=Role.ADMIN)
        await one.create_user(survivor)
        for round_ in range(10):  # each round: two admins, one deleted and one demoted at once
            other = user(f"admin{round_}", role=Role.ADMIN)
            await one.create_user(other)
            results = await asyncio.gather(
                one.delete_user(survivor.id),
                two.change_role(other.id, Role.MEMBER),
                return_exceptions=True,
            )
            refused = [r for r in results if isinstance(r, Forbidden)]
            admins = [u for u in await one.list_users() if u.role is Role.ADMIN]
            assert len(refused) == 1, results
            assert len(admins) == 1
            survivor = admins[0]
