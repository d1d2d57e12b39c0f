"""``eventsapi users``: the operator makes, lists, unlocks, promotes, deletes accounts,
resets passwords and turns off second factors."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import msgspec
import pytest
from click.testing import CliRunner, Result
from starlette.testclient import TestClient

from eventsapi import storage
from eventsapi.app import create_app
from eventsapi.cli import main
from eventsapi.domain.accounts import AuditEntry, AuditKind, Role, User
from eventsapi.settings import Settings
from eventsapi.storage import Backend
from tests.support import postgres_schema

PASSWORD = "violet tractor humming seashell"  # noqa: S105 - a test account's
CHOSEN = "amber kettle whistling lighthouse"
T = TypeVar("T")


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        with postgres_schema() as url:
            yield url
    else:
        yield str(tmp_path / "events.db")


def users(runner: CliRunner, database: str, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(main, ["users", *args, "--database", database], input=stdin)


def create(runner: CliRunner, database: str, name: str, *flags: str) -> Result:
    result = users(runner, database, "create", name, *flags, "--password-stdin", stdin=PASSWORD)
    assert result.exit_code == 0, result.output
    return result


def with_store(database: str, action: Callable[[Backend], Awaitable[T]]) -> T:
    async def run() -> T:
        store = storage.load(database, Settings(database=database))
        await store.open()
        try:
            return await action(store)
        finally:
            await store.close()

    return asyncio.run(run())


def user(database: str, name: str) -> User:
    async def find(store: Backend) -> User | None:
        return await store.user_by_name(name)

    found = with_store(database, find)
    assert found is not None
    return found


def audit(database: str, name: str) -> list[AuditEntry]:
    target = user(database, name)

    async def entries(store: Backend) -> list[AuditEntry]:
        return await store.audit_of(target.id)

    return with_store(database, entries)


# --- create ---------------------------------------------------------------------------


def test_the_first_admin_is_made_before_the_first_serve(runner: CliRunner, database: str) -> None:
    result = create(runner, database, "Alice", "--admin")

    made = user(database, "alice")  # names are kept in one spelling
    assert result.output == f"Created admin alice (id {made.id}).\n"
    assert made.role is Role.ADMIN
    assert made.password_hash.startswith("$argon2id$")
    assert PASSWORD not in made.password_hash
    assert [entry.kind for entry in audit(database, "alice")] == [AuditKind.USER_CREATED]


def test_without_admin_the_account_is_a_member(runner: CliRunner, database: str) -> None:
    create(runner, database, "bob")

    assert user(database, "bob").role is Role.MEMBER


def test_the_password_is_asked_twice_without_echo(runner: CliRunner, tmp_path: Path) -> None:
    database = str(tmp_path / "events.db")

    result = users(
        runner,
        database,
        "create",
        "carol",
        stdin=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n",
    )

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert "do not match" in result.output
    assert result.output.count("Repeat the password") == 2
    assert user(database, "carol").role is Role.MEMBER


def test_a_weak_password_is_refused_with_suggestions_and_nothing_is_made(
    runner: CliRunner, tmp_path: Path
) -> None:
    database = str(tmp_path / "events.db")

    result = users(runner, database, "create", "dave", "--password-stdin", stdin="password\n")

    assert result.exit_code == 1
    assert "This password is refused:" in result.output
    assert "at least 15 characters" in result.output
    assert "Suggestions:" in result.output
    assert "passphrase" in result.output
    listed = users(runner, database, "list")
    assert listed.output.startswith("No accounts yet")


def test_a_taken_name_or_a_bad_one_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    database = str(tmp_path / "events.db")
    create(runner, database, "erin")

    taken = users(runner, database, "create", "ERIN", "--password-stdin", stdin=PASSWORD)
    bad = users(runner, database, "create", "no spaces", "--password-stdin", stdin=PASSWORD)

    assert taken.exit_code == 1
    assert "An account named 'ERIN' exists already." in taken.output
    assert bad.exit_code == 1
    assert bad.output.startswith("Error: ")


# --- list -----------------------------------------------------------------------------


def test_list_shows_names_roles_and_states_and_never_a_hash(
    runner: CliRunner, database: str
) -> None:
    create(runner, database, "zed")
    create(runner, database, "amy", "--admin")

    result = users(runner, database, "list")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["USERNAME", "ROLE", "STATE", "2FA", "CREATED", "(UTC)"]
    assert [line.split()[:4] for line in lines[1:]] == [
        ["amy", "admin", "active", "off"],
        ["zed", "member", "active", "off"],
    ]
    assert "argon2" not in result.output


def test_list_of_an_empty_database_says_how_to_make_the_first_admin(
    runner: CliRunner, tmp_path: Path
) -> None:
    database = str(tmp_path / "events.db")
    assert runner.invoke(main, ["db", "migrate", "--database", database]).exit_code == 0

    result = users(runner, database, "list")

    assert result.exit_code == 0
    assert result.output == (
        "No accounts yet: create one with `eventsapi users create --admin NAME`.\n"
    )


@pytest.mark.parametrize("command", [["list"], ["unlock", "x"], ["set-role", "x", "admin"]])
def test_commands_on_accounts_do_not_make_a_database(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    database = tmp_path / "none.db"

    result = users(runner, str(database), *command)

    assert result.exit_code == 1
    assert "There is no database at" in result.output
    assert not database.exists()


# --- unlock and set-role --------------------------------------------------------------


def test_unlock_lifts_the_lock_and_forgets_the_failures(runner: CliRunner, database: str) -> None:
    create(runner, database, "frank")
    locked = user(database, "frank")

    async def lock(store: Backend) -> User:
        return await store.update_user(
            locked.id, lambda u: msgspec.structs.replace(u, locked=True, failed_logins=100)
        )

    with_store(database, lock)

    result = users(runner, database, "unlock", "frank")

    assert result.exit_code == 0, result.output
    assert result.output == "frank is unlocked.\n"
    after = user(database, "frank")
    assert (after.locked, after.failed_logins) == (False, 0)
    assert AuditKind.UNLOCKED in [entry.kind for entry in audit(database, "frank")]


def test_unlock_and_set_role_name_a_missing_account(runner: CliRunner, tmp_path: Path) -> None:
    database = str(tmp_path / "events.db")
    create(runner, database, "gina")

    for command in (["unlock", "nobody"], ["set-role", "nobody", "admin"]):
        result = users(runner, database, *command)
        assert result.exit_code == 1
        assert "There is no account named 'nobody'" in result.output


def test_set_role_promotes_and_demotes_but_keeps_the_last_admin(
    runner: CliRunner, database: str
) -> None:
    create(runner, database, "hana", "--admin")
    create(runner, database, "ivan")

    last = users(runner, database, "set-role", "hana", "member")
    promoted = users(runner, database, "set-role", "ivan", "admin")
    demoted = users(runner, database, "set-role", "hana", "member")

    assert last.exit_code == 1
    assert "last admin" in last.output
    assert promoted.output == "ivan is now an admin.\n"
    assert demoted.output == "hana is now a member.\n"
    assert (user(database, "hana").role, user(database, "ivan").role) == (
        Role.MEMBER,
        Role.ADMIN,
    )
    assert AuditKind.ROLE_CHANGED in [entry.kind for entry in audit(database, "ivan")]


def test_set_role_takes_only_the_two_roles(runner: CliRunner, tmp_path: Path) -> None:
    database = str(tmp_path / "events.db")
    create(runner, database, "jack")

    result = users(runner, database, "set-role", "jack", "owner")

    assert result.exit_code == 2
    assert "'admin', 'member'" in result.output


# --- delete, reset-password, disable-2fa ----------------------------------------------
# Each ends the account's sessions: shown with the service's own HTTP app on the same
# database, whose old session cookie is refused afterwards.


@contextlib.contextmanager
def signed_in(database: str, name: str, password: str = PASSWORD) -> Iterator[TestClient]:
    """A client of the service on ``database``, holding ``name``'s session cookie."""
    with TestClient(create_app(Settings(database=database))) as client:
        response = client.post("/auth/login", json={"username": name, "password": password})
        assert response.status_code == 200, response.text
        assert client.get("/auth/me").status_code == 200
        yield client


def test_delete_ends_the_sessions_and_tokens_and_keeps_the_audit_log(
    runner: CliRunner, database: str
) -> None:
    create(runner, database, "kate", "--admin")
    create(runner, database, "liam")
    gone = user(database, "liam")
    with signed_in(database, "liam") as client:
        session = client.post("/auth/login", json={"username": "liam", "password": PASSWORD})
        made = client.post(
            "/auth/tokens",
            json={"name": "ci", "scopes": ["events:read"]},
            headers={"Authorization": f"Bearer {session.json()['token']}"},
        )
        assert made.status_code == 201, made.text
        api_token = made.json()["token"]

        result = users(runner, database, "delete", "liam", "--yes")

        assert result.exit_code == 0, result.output
        assert result.output == (
            f"Deleted member liam (id {gone.id}); 2 session(s) and 1 API token(s) ended.\n"
        )
        assert client.get("/auth/me").status_code == 401  # the old cookie
        bearer = {"Authorization": f"Bearer {api_token}"}
        assert client.get("/auth/me", headers=bearer).status_code == 401
        relogin = client.post("/auth/login", json={"username": "liam", "password": PASSWORD})
        assert relogin.status_code == 401

    async def after(store: Backend) -> tuple[User | None, list[AuditEntry]]:
        return await store.user_by_name("liam"), await store.audit_of(gone.id)

    found, entries = with_store(database, after)
    assert found is None
    assert entries[0].kind is AuditKind.USER_DELETED
    assert entries[0].detail == {
        "username": "liam",
        "role": "member",
        "sessions_ended": 2,
        "tokens_revoked": 1,
    }
    assert AuditKind.LOGIN in [entry.kind for entry in entries]  # the log keeps the rest
    create(runner, database, "liam")  # the name is free again, with a new id
    assert user(database, "liam").id != gone.id


def test_delete_asks_first_and_keeps_the_last_admin(runner: CliRunner, database: str) -> None:
    create(runner, database, "mona", "--admin")

    declined = users(runner, database, "delete", "mona", stdin="n\n")
    last = users(runner, database, "delete", "mona", stdin="y\n")

    assert declined.exit_code == 1
    assert "Delete the account 'mona'" in declined.output
    assert "Aborted" in declined.output
    assert last.exit_code == 1
    assert "last admin" in last.output
    assert user(database, "mona").role is Role.ADMIN


def test_reset_password_prints_a_new_one_once_and_ends_the_sessions(
    runner: CliRunner, database: str
) -> None:
    create(runner, database, "nina")
    locked = user(database, "nina")

    async def lock(store: Backend) -> User:
        return await store.update_user(
            locked.id, lambda u: msgspec.structs.replace(u, locked=True, failed_logins=100)
        )

    with signed_in(database, "nina") as client:
        with_store(database, lock)

        result = users(runner, database, "reset-password", "nina")

        assert result.exit_code == 0, result.output
        match = re.fullmatch(r"New password of nina \(shown once\): (\S{24})\n", result.stdout)
        assert match is not None, result.output
        assert "must choose a new password" in result.stderr
        assert client.get("/auth/me").status_code == 401  # the old cookie
        old = client.post("/auth/login", json={"username": "nina", "password": PASSWORD})
        assert old.status_code == 401
    generated = match.group(1)
    with TestClient(create_app(Settings(database=database))) as client:
        login = {"username": "nina", "password": generated}  # unlocked
        asked = client.post("/auth/login", json=login)
        weak = client.post("/auth/login", json=login | {"new_password": "password123"})
        same = client.post("/auth/login", json=login | {"new_password": generated})
        chosen = client.post("/auth/login", json=login | {"new_password": CHOSEN})
        assert chosen.status_code == 200, chosen.text
        kinds = [entry["kind"] for entry in client.get("/auth/audit").json()]
        again_generated = client.post("/auth/login", json=login)
    assert asked.status_code == 401
    assert asked.json()["type"].endswith("/password-change-required")
    assert weak.status_code == 422
    assert same.status_code == 422
    assert "one of your own" in same.text
    assert kinds[:4] == ["password_changed", "login", "login_failed", "password_reset"]
    assert again_generated.status_code == 401  # it worked once
    assert again_generated.json()["type"].endswith("/authentication-failed")
    with signed_in(database, "nina", CHOSEN):
        pass
    again = users(runner, database, "reset-password", "nina")
    assert again.stdout.split()[-1] != generated
    assert AuditKind.PASSWORD_RESET in [entry.kind for entry in audit(database, "nina")]


def test_disable_2fa_turns_off_the_code_and_the_recovery_codes(
    runner: CliRunner, database: str
) -> None:
    create(runner, database, "omar")
    enrolled = user(database, "omar")

    async def enrol(store: Backend) -> User:
        return await store.update_user(
            enrolled.id,
            lambda u: msgspec.structs.replace(
                u,
                totp_secret="JBSWY3DPEHPK3PXP",  # noqa: S106 - a test account's
                totp_enabled=True,
                recovery_codes=("x",),
            ),
        )

    with signed_in(database, "omar") as client:
        with_store(database, enrol)
        asked = client.post("/auth/login", json={"username": "omar", "password": PASSWORD})
        assert asked.status_code == 401, asked.text  # a second factor is asked for now

        result = users(runner, database, "disable-2fa", "omar")

        assert result.exit_code == 0, result.output
        assert result.output == "Two-step verification of omar is off; 1 session(s) ended.\n"
        assert client.get("/auth/me").status_code == 401  # the old cookie
    after = user(database, "omar")
    assert (after.totp_enabled, after.totp_secret, after.recovery_codes) == (False, None, ())
    with signed_in(database, "omar") as client:  # the password alone signs in again
        kinds = [entry["kind"] for entry in client.get("/auth/audit").json()]
    assert "totp_reset" in kinds
    twice = users(runner, database, "disable-2fa", "omar")
    assert twice.exit_code == 1
    assert "not on" in twice.output


def test_the_new_commands_name_a_missing_account(runner: CliRunner, tmp_path: Path) -> None:
    database = str(tmp_path / "events.db")
    create(runner, database, "pia")

    for command in (
        ["delete", "nobody", "--yes"],
        ["reset-password", "nobody"],
        ["disable-2fa", "nobody"],
    ):
        result = users(runner, database, *command)
        assert result.exit_code == 1
        assert "There is no account named 'nobody'" in result.output
