"""``eventsapi settings``: what is in effect, and where each value came from."""

from __future__ import annotations

from pathlib import Path

import click
import msgspec

from eventsapi.cli.options import config_option, resolve
from eventsapi.settings import schema


@click.command("settings")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
def settings_command(config: Path | None, as_json: bool) -> None:
    """Show every setting's value in effect, with its environment variable."""
    settings = resolve(config)
    if as_json:
        click.echo(msgspec.json.encode(settings).decode())
        return
    for info in schema():
        value = getattr(settings, info.name)
        marker = "" if value == info.default else "  (changed)"
        click.echo(f"{info.name:<16} {value!s:<24} {info.env_var}{marker}")
