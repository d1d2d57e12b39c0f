"""The ``eventsapi`` command: one group; ``serve`` is the default command."""

from __future__ import annotations

import click

from eventsapi import __version__
from eventsapi.cli.group import HELP_FLAGS, VERSION_FLAGS, DefaultGroup

# Imported when named (DefaultGroup): serve's process should not hold the others' modules.
COMMANDS = {
    "serve": "eventsapi.cli.serve:serve",
    "db": "eventsapi.cli.db:db",
    "settings": "eventsapi.cli.settings:settings_command",
    "export": "eventsapi.cli.transfer:export_command",
    "import": "eventsapi.cli.transfer:import_command",
    "changes": "eventsapi.cli.changes:changes_command",
    "slo": "eventsapi.cli.slo_status:slo_group",
    "sla": "eventsapi.cli.slo:sla_group",
    "users": "eventsapi.cli.users:users_group",
    "webhooks": "eventsapi.cli.webhooks:webhooks_group",
    "registrations": "eventsapi.cli.registrations:registrations_group",
}


@click.group(
    cls=DefaultGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": list(HELP_FLAGS), "max_content_width": 100},
)
@click.version_option(__version__, *VERSION_FLAGS, prog_name="eventsapi")
def main() -> None:
    """eventsapi: a durable, fast events REST API.

    With no command, runs `serve`: the API on http://127.0.0.1:8001 with its
    events in the SQLite file ./eventsapi.db. Every option can also be set with
    an EVENTSAPI_<NAME> environment variable or in a TOML settings file
    (--config); `eventsapi settings` shows what is in effect.
    """
