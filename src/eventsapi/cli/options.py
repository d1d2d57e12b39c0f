"""Options shared by commands: each is a setting from the one schema."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, get_args

import click
import msgspec

from eventsapi.errors import ConfigurationError
from eventsapi.settings import LogFormat, Settings
from eventsapi.settings_info import schema
from eventsapi.settings_load import load_settings

F = TypeVar("F", bound=Callable[..., Any])

_HELP = {info.name: info for info in schema()}


def setting_option(name: str, *flags: str, switch: bool = False, **kwargs: Any) -> Callable[[F], F]:
    """A click option for setting ``name``: help and env var name from the schema.

    The option's default is ``None`` so that an absent option leaves the
    environment, the file or the schema default in charge. ``switch``: a true/false
    setting as a pair of flags, ``--name/--no-name``.
    """
    info = _HELP[name]
    help_text = f"{info.help} [default: {info.default}; env: {info.env_var}]"
    flag = f"--{name.replace('_', '-')}"
    if switch:
        flag = f"{flag}/--no-{flag[2:]}"
    return click.option(flag, *flags, name, default=None, help=help_text, **kwargs)


format_option = click.option(
    "--format",
    "output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table for people, or JSON for scripts.",
)
"""The one machine-readable switch of every listing command: ``--format json``."""


def print_json(value: Any) -> None:
    """``value`` as one line of JSON (msgspec: dates as RFC 3339, structs as objects)."""
    click.echo(msgspec.json.encode(value).decode())


config_option = click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML settings file (keys are setting names). [env: EVENTSAPI_CONFIG]",
)

database_option = setting_option("database", metavar="PATH|URL")


def resolve(config: Path | None, **cli: Any) -> Settings:
    """Settings from the command line, the environment and the file, or a usage error."""
    try:
        return load_settings(cli=cli, environ=os.environ, config_file=config)
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None


def serve_options(command: F) -> F:
    """The options of ``serve``; ``settings`` takes them too, to show what serve would use."""
    decorators = [
        database_option,
        setting_option("host", metavar="ADDRESS"),
        setting_option("port", type=int),
        setting_option("workers", type=int),
        setting_option("log_level", type=click.Choice(["debug", "info", "warning", "error"])),
        setting_option("log_format", type=click.Choice(get_args(LogFormat))),
        setting_option("access_log", switch=True),
        config_option,
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command
