"""``eventsapi settings``: what is in effect, and where each value came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from eventsapi.cli.options import format_option, print_json, resolve, serve_options
from eventsapi.settings_info import schema


@click.command("settings")
@serve_options
@format_option
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
def settings_command(config: Path | None, output: str, as_json: bool, **cli: Any) -> None:
    """Show every setting's value in effect, with its environment variable.

    Takes the options serve takes, to show what `eventsapi serve` would run
    with them. With --format json: one object, a member per setting.
    """
    settings = resolve(config, **cli)
    if as_json or output == "json":
        print_json(settings)
        return
    # The value last, as its environment variable takes it: a list can be long.
    name_width = max(len("SETTING"), *(len(info.name) for info in schema()))
    env_width = max(len("ENVIRONMENT VARIABLE"), *(len(info.env_var) for info in schema()))
    click.echo(f"{'SETTING':<{name_width}}  {'ENVIRONMENT VARIABLE':<{env_width}}  VALUE")
    for info in schema():
        value = getattr(settings, info.name)
        changed = "  (changed)" if value != info.default else ""
        click.echo(
            f"{info.name:<{name_width}}  {info.env_var:<{env_width}}  {as_typed(value)}{changed}"
        )


def as_typed(value: object) -> str:
    """A value as one writes it in its environment variable (lists comma-separated,
    true/false), and an empty one as ``""`` so that the column is not blank."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) or '""'
    return str(value) or '""'
