"""``eventsapi users``: accounts, managed by the operator on the machine.

Whoever can run commands where the service runs can open its database anyway, so these
commands need no account: they act as the operator (``OPERATOR``, an ``Actor`` of
``auth/administration.py``) with the service's own rules (username normalization, the
password policy, the last admin kept, the audit log). The first admin of a new deployment
is made here.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import click

from eventsapi.auth.principal import OPERATOR
from eventsapi.cli.options import (
    config_option,
    database_option,
    format_option,
    print_json,
    resolve,
)
from eventsapi.cli.stores import opened_store
from eventsapi.clock import system_clock
from eventsapi.domain.accounts import Role, User
from eventsapi.errors import (
    AlreadyExists,
    EventsAPIError,
    NotFound,
    PasswordRejected,
    ValidationFailed,
)
from eventsapi.settings import Settings

if TYPE_CHECKING:
    from eventsapi.auth.administration import Administration

_T = TypeVar("_T")

FIRST_ADMIN_HINT = "create one with `eventsapi users create --admin NAME`"


@click.group("users")
def users_group() -> None:
    """Manage accounts: create (the first admin too), list, unlock, change roles, delete,
    reset a forgotten password, turn off a lost second factor."""


def _run(
    settings: Settings,
    action: Callable[[Administration], Awaitable[_T]],
    *,
    create_database: bool = False,
) -> _T:
    """Open the store of ``settings``, run ``action`` on its accounts, close the store.

    ``create_database``: make and migrate the database if needed (``users create`` may
    come before the first ``serve``); the other commands only read or change accounts
    that exist, so they refuse a missing SQLite file and leave the schema as it is.
    """
    # Imported here: argon2 and the account modules, which other commands need not load.
    from eventsapi.auth.service import AccountService

    async def run() -> _T:
        async with opened_store(settings, create=create_database) as store:
            return await action(AccountService(store, system_clock).admin)

    try:
        return asyncio.run(run())
    except PasswordRejected as exc:
        _refuse_password(exc)
    except ValidationFailed as exc:
        raise click.ClickException("; ".join(error.message for error in exc.errors)) from None
    except EventsAPIError as exc:
        raise click.ClickException(str(exc)) from None


def _refuse_password(exc: PasswordRejected) -> NoReturn:
    lines = ["This password is refused:"]
    lines += [f"  - {problem}" for problem in exc.problems]
    if exc.suggestions:
        lines.append("Suggestions:")
        lines += [f"  - {suggestion}" for suggestion in exc.suggestions]
    click.echo("\n".join(lines), err=True)
    raise SystemExit(1)


@contextlib.contextmanager
def _named(name: str) -> Iterator[None]:
    """Say which name has no account (the service's message does not repeat it)."""
    try:
        yield
    except NotFound:
        raise NotFound(
            f"There is no account named {name!r} (`eventsapi users list` shows them)."
        ) from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # The line ending is the shell's, not the password's (`echo "$P" | ...`).
        return sys.stdin.read().rstrip("\r\n")
    password: str = click.prompt(
        "Password (at least 15 characters; a few unrelated words work well)",
        hide_input=True,
        confirmation_prompt="Repeat the password",
    )
    return password


@users_group.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make an admin (may change any event, manage users).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (for scripts) instead of prompting twice.",
)
@database_option
@config_option
def create_command(
    name: str, admin: bool, password_stdin: bool, database: str | None, config: Path | None
) -> None:
    """Create the account NAME, a member unless --admin.

    The password must pass the policy (NIST SP 800-63B-4: at least 15 characters, not a
    common or guessable one); refusals come with suggestions, and exit 1. The database
    is created and migrated if it does not exist yet.
    """
    settings = resolve(config, database=database)
    password = _read_password(password_stdin)
    role = Role.ADMIN if admin else Role.MEMBER

    async def create(admin: Administration) -> User:
        try:
            return await admin.create_user(name, password, role=role, actor=OPERATOR)
        except AlreadyExists:
            raise AlreadyExists(f"An account named {name!r} exists already.") from None

    user = _run(settings, create, create_database=True)
    click.echo(f"Created {user.role.value} {user.username} (id {user.id}).")


@users_group.command("list")
@format_option
@database_option
@config_option
def list_command(output: str, database: str | None, config: Path | None) -> None:
    """List the accounts: name, role, whether locked, two-step verification, created.

    With --format json: an array of the documents GET /users answers with."""
    settings = resolve(config, database=database)

    async def everyone(admin: Administration) -> list[User]:
        return await admin.users(OPERATOR)

    users = _run(settings, everyone)
    if output == "json":
        from eventsapi.api.account_io import user_info

        print_json([user_info(user) for user in users])
        return
    if not users:
        click.echo(f"No accounts yet: {FIRST_ADMIN_HINT}.")
        return
    width = max(len("USERNAME"), *(len(user.username) for user in users))
    click.echo(f"{'USERNAME':<{width}}  ROLE    STATE   2FA  CREATED (UTC)")
    for user in users:
        click.echo(
            f"{user.username:<{width}}  {user.role.value:<6}  "
            f"{'locked' if user.locked else 'active':<6}  "
            f"{'on' if user.totp_enabled else 'off':<3}  {user.created_at:%Y-%m-%d %H:%M}"
        )


@users_group.command("unlock")
@click.argument("name")
@database_option
@config_option
def unlock_command(name: str, database: str | None, config: Path | None) -> None:
    """Lift the lock of account NAME (after too many failed logins) and reset its count."""
    settings = resolve(config, database=database)

    async def unlock(admin: Administration) -> User:
        with _named(name):
            return await admin.unlock(OPERATOR, name)

    user = _run(settings, unlock)
    click.echo(f"{user.username} is unlocked.")


@users_group.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice([role.value for role in Role]))
@database_option
@config_option
def set_role_command(name: str, role: str, database: str | None, config: Path | None) -> None:
    """Make account NAME an admin or a member. Their sessions end (they log in again);
    the last admin cannot be made a member."""
    settings = resolve(config, database=database)

    async def assign(admin: Administration) -> User:
        with _named(name):
            return await admin.set_role(OPERATOR, name, Role(role))

    user = _run(settings, assign)
    click.echo(
        f"{user.username} is now {'an' if user.role is Role.ADMIN else 'a'} {user.role.value}."
    )


@users_group.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@database_option
@config_option
def delete_command(name: str, yes: bool, database: str | None, config: Path | None) -> None:
    """Delete the account NAME: its sessions and API tokens end and are deleted at once.

    Its events and registrations stay, naming the deleted account's id, which no account
    will have again (a new account of the same name does not own them): only admins can
    change or delete them. The audit log keeps its entries. The last admin cannot be
    deleted. Asks for confirmation unless --yes."""
    settings = resolve(config, database=database)
    if not yes:
        click.confirm(
            f"Delete the account {name!r}, its sessions and API tokens? This cannot be undone",
            abort=True,
        )

    async def delete(admin: Administration) -> tuple[User, int, int]:
        with _named(name):
            return await admin.delete_user(OPERATOR, name)

    user, sessions, tokens = _run(settings, delete)
    click.echo(
        f"Deleted {user.role.value} {user.username} (id {user.id}); "
        f"{sessions} session(s) and {tokens} API token(s) ended."
    )


@users_group.command("reset-password")
@click.argument("name")
@database_option
@config_option
def reset_password_command(name: str, database: str | None, config: Path | None) -> None:
    """Give account NAME a new generated password, printed once, for a forgotten one.

    It works for one login, which must choose a new password (`new_password` of POST
    /auth/login). Its sessions end and a lock after failed logins is lifted; its API
    tokens stay (as on a password change) and so does two-step verification. Pass the
    password on by a safe channel."""
    settings = resolve(config, database=database)

    async def reset(admin: Administration) -> tuple[User, str]:
        with _named(name):
            return await admin.reset_password(OPERATOR, name)

    user, password = _run(settings, reset)
    click.echo(f"New password of {user.username} (shown once): {password}")
    click.echo("It works for one login, which must choose a new password.", err=True)


@users_group.command("disable-2fa")
@click.argument("name")
@database_option
@config_option
def disable_2fa_command(name: str, database: str | None, config: Path | None) -> None:
    """Turn off two-step verification (its app and recovery codes) of account NAME, who
    lost them; its sessions end. With two-step verification a password may be as short
    as 8 characters; without it 15 are needed: if theirs may be shorter, reset it too."""
    settings = resolve(config, database=database)

    async def disable(admin: Administration) -> tuple[User, int]:
        with _named(name):
            return await admin.disable_second_factor(OPERATOR, name)

    user, sessions = _run(settings, disable)
    click.echo(f"Two-step verification of {user.username} is off; {sessions} session(s) ended.")
