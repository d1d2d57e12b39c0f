"""``eventsapi settings``: what is in effect, and where each value came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import msgspec

from eventsapi.cli.options import resolve, serve_options
from eventsapi.settings_info import schema


@click.command("settings")
@serve_options
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
def settings_command(config: Path | None, as_json: bool, **cli: Any) -> None:
    """Show every setting's value in effect, with its environment variable.

    Takes the options serve takes, to show what `eventsapi serve` would run
    with them.
    """
    settings = resolve(config, **cli)
    if as_json:
        click.echo(msgspec.json.encode(settings).decode())
        return
    for info in schema():
        value = getattr(settings, info.name)
        marker = "" if value == info.default else "  (changed)"
        click.echo(f"{info.name:<16} {value!s:<24} {info.env_var}{marker}")
