"""The command line behaves as operators expect of click tools (issue 19): a mistyped
command is named with a suggestion although ``serve`` is the default, shell completion
offers the commands, ``-V``, ``--access-log/--no-access-log``, and ``--format json`` on
every listing command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from eventsapi import __version__
from eventsapi.cli import main
from eventsapi.settings_info import schema

PASSWORD = "violet tractor humming seashell"  # noqa: S105 - a test account's


def usage_error(result: Result) -> str:
    """The one ``Error:`` line of a usage error (exit status 2)."""
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    return errors[0].removeprefix("Error: ")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("stauts", "No such command 'stauts'. (Did you mean one of: 'db status', 'slo status'?)"),
        ("setings", "No such command 'setings'. Did you mean 'settings'?"),
        ("exprot", "No such command 'exprot'. Did you mean 'export'?"),
        ("webhook", "No such command 'webhook'. Did you mean 'webhooks'?"),
        ("migrat", "No such command 'migrat'. Did you mean 'db migrate'?"),
        ("frobnicate", "No such command 'frobnicate'."),
    ],
)
def test_a_mistyped_command_is_named_with_a_suggestion(
    runner: CliRunner, typed: str, message: str
) -> None:
    result = runner.invoke(main, [typed, "--port", "9000"])

    assert usage_error(result) == message
    assert "Try 'eventsapi --help' for help." in result.output


def test_a_mistyped_subcommand_is_named_with_a_suggestion(runner: CliRunner) -> None:
    assert usage_error(runner.invoke(main, ["users", "lsit"])) == (
        "No such command 'lsit'. Did you mean 'list'?"
    )


def test_options_alone_still_run_serve(runner: CliRunner) -> None:
    # serve's own check of its options: the arguments reached it, not the group.
    assert "port" in usage_error(runner.invoke(main, ["--port", "0"]))
    assert usage_error(runner.invoke(main, ["--prot", "9000"])).startswith(
        "No such option '--prot'."
    )


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version_short_and_long(runner: CliRunner, flag: str) -> None:
    result = runner.invoke(main, [flag])

    assert result.exit_code == 0
    assert result.output == f"eventsapi, version {__version__}\n"


def complete(runner: CliRunner, line: str) -> list[str]:
    """What bash would offer after ``line`` (click's ``bash_complete`` protocol: one
    ``type,value`` a line)."""
    words = line.split(" ")
    env = {
        "_EVENTSAPI_COMPLETE": "bash_complete",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words) - 1),
    }
    result = runner.invoke(main, [], env=env)
    assert result.exit_code == 0, result.output
    return [row.split(",", 1)[1] for row in result.output.splitlines()]


def test_completion_offers_the_commands(runner: CliRunner) -> None:
    assert complete(runner, "eventsapi ") == sorted(main.commands)
    assert complete(runner, "eventsapi se") == ["serve", "settings"]
    assert complete(runner, "eventsapi users ") == [
        "create",
        "delete",
        "disable-2fa",
        "list",
        "reset-password",
        "set-role",
        "unlock",
    ]
    assert complete(runner, "eventsapi db st") == ["status"]


def test_completion_offers_the_default_commands_options(runner: CliRunner) -> None:
    assert complete(runner, "eventsapi --po") == ["--port"]
    assert "--version" in complete(runner, "eventsapi --")
    assert complete(runner, "eventsapi --port 9000 --wo") == ["--workers"]
    assert complete(runner, "eventsapi --log-level ") == ["debug", "info", "warning", "error"]
    assert complete(runner, "eventsapi users list --for") == ["--format"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_documented_completion_scripts_are_made(runner: CliRunner, shell: str) -> None:
    result = runner.invoke(main, [], env={"_EVENTSAPI_COMPLETE": f"{shell}_source"})

    assert result.exit_code == 0, result.output
    assert "_EVENTSAPI_COMPLETE" in result.output
    documented = (Path(__file__).parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    assert f"_EVENTSAPI_COMPLETE={shell}_source eventsapi" in documented


def effective(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = runner.invoke(main, ["settings", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    settings: dict[str, Any] = json.loads(result.output)
    return settings


def test_access_log_is_a_pair_of_flags(runner: CliRunner) -> None:
    on = {"EVENTSAPI_ACCESS_LOG": "true"}

    assert effective(runner)["access_log"] is False
    assert effective(runner, "--access-log")["access_log"] is True
    result = runner.invoke(main, ["settings", "--format", "json", "--no-access-log"], env=on)
    assert json.loads(result.output)["access_log"] is False
    # A flag takes no value: "true" would be an argument nobody takes.
    assert "true" in usage_error(runner.invoke(main, ["settings", "--access-log", "true"]))


def test_settings_json_is_the_same_by_either_flag(runner: CliRunner) -> None:
    alias = runner.invoke(main, ["settings", "--json", "--port", "9000"])

    assert json.loads(alias.output) == effective(runner, "--port", "9000")


def test_the_settings_table_is_aligned(runner: CliRunner) -> None:
    result = runner.invoke(main, ["settings"], env={"EVENTSAPI_RATE_LIMITS": "read=1/1"})
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()

    assert header.split() == ["SETTING", "ENVIRONMENT", "VARIABLE", "VALUE"]
    env_column = header.index("ENVIRONMENT")
    value_column = header.index("VALUE")
    assert len(rows) == len(schema())
    for row, info in zip(rows, schema(), strict=True):
        assert row[:env_column].rstrip() == info.name
        assert row[env_column:value_column].rstrip() == info.env_var
        assert not row[value_column].isspace(), row
    by_name = {row.split()[0]: row[value_column:] for row in rows}
    assert by_name["rate_limits"] == "read=1/1  (changed)"
    assert by_name["public_url"] == '""'
    assert by_name["access_log"] == "false"


def listing(runner: CliRunner, *args: str) -> Any:
    result = runner.invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_users_list_as_json(runner: CliRunner, tmp_path: Path) -> None:
    database = str(tmp_path / "events.db")
    for name, flags in (("root", ["--admin"]), ("alice", [])):
        made = runner.invoke(
            main,
            ["users", "create", name, *flags, "--password-stdin", "--database", database],
            input=PASSWORD,
        )
        assert made.exit_code == 0, made.output

    users = listing(runner, "users", "list", "--database", database)
    table = runner.invoke(main, ["users", "list", "--database", database]).output

    assert [(u["username"], u["role"], u["locked"], u["totp_enabled"]) for u in users] == [
        ("alice", "member", False, False),
        ("root", "admin", False, False),
    ]
    assert [line.split()[0] for line in table.splitlines()[1:]] == ["alice", "root"]
    for user in users:
        assert set(user) == {
            "id",
            "username",
            "role",
            "totp_enabled",
            "locked",
            "created_at",
            "password_changed_at",
        }
        assert user["created_at"].endswith("Z")


def test_db_status_as_json(runner: CliRunner, tmp_path: Path) -> None:
    database = str(tmp_path / "events.db")
    pending = listing(runner, "db", "status", "--database", database)
    assert runner.invoke(main, ["db", "migrate", "--database", database]).exit_code == 0

    applied = listing(runner, "db", "status", "--database", database)

    assert [m["version"] for m in pending] == [m["version"] for m in applied]
    assert [m["version"] for m in applied] == sorted(m["version"] for m in applied)
    assert {m["applied_at"] for m in pending} == {None}
    assert all(isinstance(m["applied_at"], str) for m in applied)
    assert set(applied[0]) == {"version", "name", "applied_at"}


def all_commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*path, name))
        if isinstance(command, click.Group):
            found += all_commands(command, (*path, name))
    return found


LISTINGS = {
    ("users", "list"),
    ("db", "status"),
    ("settings",),
    ("webhooks", "list"),
    ("webhooks", "deliveries"),
    ("slo", "status"),
    ("sla", "report"),
    ("changes",),
}


def test_every_listing_command_takes_format_json() -> None:
    commands = dict.fromkeys(all_commands(main))
    for path in LISTINGS:
        assert path in commands, path
        command: click.Command = main
        for name in path:
            assert isinstance(command, click.Group)
            found = command.commands[name]
            command = found
        option = next(p for p in command.params if "--format" in p.opts)
        assert isinstance(option.type, click.Choice)
        assert "json" in option.type.choices, path
    # A command that lists is named so: a new one must join LISTINGS.
    listing_names = {"list", "status", "deliveries", "report", "settings", "changes"}
    assert {path for path in commands if path[-1] in listing_names} <= LISTINGS
