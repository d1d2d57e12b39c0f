"""The ``eventsapi`` command: one group; ``serve`` is the default command."""

from __future__ import annotations

import click

from eventsapi import __version__
from eventsapi.cli.changes import changes_command
from eventsapi.cli.db import db
from eventsapi.cli.group import HELP_FLAGS, VERSION_FLAGS, DefaultGroup
from eventsapi.cli.registrations import registrations_group
from eventsapi.cli.serve import serve
from eventsapi.cli.settings import settings_command
from eventsapi.cli.slo import sla_group, slo_group
from eventsapi.cli.slo_status import rules_command, status_command
from eventsapi.cli.transfer import export_command, import_command
from eventsapi.cli.users import users_group
from eventsapi.cli.webhooks import webhooks_group


@click.group(
    cls=DefaultGroup,
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


main.add_command(serve)
main.add_command(db)
main.add_command(settings_command)
main.add_command(export_command)
main.add_command(import_command)
main.add_command(changes_command)
slo_group.add_command(status_command)
slo_group.add_command(rules_command)
main.add_command(slo_group)
main.add_command(sla_group)
main.add_command(users_group)
main.add_command(webhooks_group)
main.add_command(registrations_group)
