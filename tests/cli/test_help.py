"""``eventsapi --help`` and every subcommand's help are complete."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from eventsapi import __version__
from eventsapi.cli import main
from eventsapi.cli.settings import as_typed
from eventsapi.settings_info import schema

COMMANDS = [
    ("serve",),
    ("db",),
    ("db", "migrate"),
    ("db", "status"),
    ("db", "copy"),
    ("settings",),
    ("export",),
    ("import",),
    ("changes",),
    ("slo",),
    ("slo", "init"),
    ("slo", "check"),
    ("slo", "export"),
    ("slo", "import"),
    ("slo", "status"),
    ("slo", "rules"),
    ("sla",),
    ("sla", "report"),
    ("users",),
    ("users", "create"),
    ("users", "list"),
    ("users", "unlock"),
    ("users", "set-role"),
    ("users", "delete"),
    ("users", "reset-password"),
    ("users", "disable-2fa"),
    ("webhooks",),
    ("webhooks", "list"),
    ("webhooks", "add"),
    ("webhooks", "remove"),
    ("webhooks", "deliveries"),
    ("registrations",),
    ("registrations", "export"),
]
SERVE_SETTINGS = {"database", "host", "port", "workers"}
"""Settings the issue requires ``serve`` to take as options."""


def all_commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> dict[tuple[str, ...], click.Command]:
    found: dict[tuple[str, ...], click.Command] = {}
    for name, command in group.commands.items():
        found[(*path, name)] = command
        if isinstance(command, click.Group):
            found.update(all_commands(command, (*path, name)))
    return found


def flat(text: str) -> str:
    """Help text with its line wrapping undone."""
    return re.sub(r"\s+", " ", text)


def test_the_commands_are_the_documented_ones() -> None:
    assert isinstance(main, click.Group)
    assert sorted(all_commands(main)) == sorted(COMMANDS)


def test_main_help_lists_every_command_and_the_default(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: eventsapi ")
    text = flat(result.output)
    for name, command in main.commands.items():
        summary = command.get_short_help_str(limit=200)
        assert summary, f"{name} has no help"
        assert re.search(rf"\n  {name} +\S", result.output), f"{name} not listed"
    assert "With no command, runs `serve`" in text
    assert "http://127.0.0.1:8001" in text
    assert "EVENTSAPI_<NAME>" in text


def test_short_help_flag_and_version(runner: CliRunner) -> None:
    long = runner.invoke(main, ["--help"])
    short = runner.invoke(main, ["-h"])
    assert short.exit_code == 0
    assert short.output == long.output
    version = runner.invoke(main, ["--version"])
    assert version.exit_code == 0
    assert version.output.strip() == f"eventsapi, version {__version__}"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_option_of_every_command_is_documented(
    runner: CliRunner, path: tuple[str, ...]
) -> None:
    command = all_commands(main)[path]
    assert command.help, f"eventsapi {' '.join(path)} has no description"
    result = runner.invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: eventsapi {' '.join(path)} ")
    first_line = command.help.strip().splitlines()[0]
    assert flat(first_line) in flat(result.output)
    with click.Context(command, info_name=path[-1]) as ctx:
        params = command.get_params(ctx)
    options = [param for param in params if isinstance(param, click.Option)]
    assert any("--help" in option.opts for option in options)
    for option in options:
        assert option.help, f"{option.opts} has no help"
        assert option.help.strip(), f"{option.opts} has no help"
        for flag in option.opts:
            assert re.search(rf"(^|[\s,]){re.escape(flag)}\b", result.output), flag


def test_serve_help_shows_every_setting_it_takes(runner: CliRunner) -> None:
    serve = main.commands["serve"]
    result = runner.invoke(main, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    taken = {param.name for param in serve.params}
    assert taken >= SERVE_SETTINGS
    shown = 0
    for info in schema():
        if info.name not in taken:
            continue
        shown += 1
        flag = "--" + info.name.replace("_", "-")
        assert re.search(rf"(^|\s){flag}\b", result.output), flag
        # The help text, default and variable come from the one settings schema.
        assert info.env_var in text
        option = next(p for p in serve.params if p.name == info.name)
        assert isinstance(option, click.Option)
        assert option.help is not None
        assert info.help in option.help
        assert f"default: {info.default}" in option.help
        assert f"env: {info.env_var}" in option.help
    assert shown == len(taken & {info.name for info in schema()})
    assert "--config" in result.output
    assert "EVENTSAPI_CONFIG" in text


def test_every_setting_is_shown_by_the_settings_command(runner: CliRunner) -> None:
    result = runner.invoke(main, ["settings"])
    assert result.exit_code == 0, result.output
    for info in schema():
        line = next(
            (line for line in result.output.splitlines() if line.split()[0] == info.name), None
        )
        assert line is not None, f"{info.name} missing from `eventsapi settings`"
        assert info.env_var in line
        assert line.endswith(f"  {as_typed(info.default)}")
