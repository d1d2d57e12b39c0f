"""The ``eventsapi`` group: ``serve`` when no command is named, yet a mistyped command is
reported as one, and shell completion offers the commands.

A group with a default command cannot tell ``eventsapi stauts`` from serve's arguments by
itself: click would pass ``stauts`` on to ``serve`` and answer "unexpected extra argument".
``serve`` takes options only, so a first word that is not an option is meant as a command.

Each command's module is imported when the command is looked up (click's "lazily loading
subcommands" pattern): ``eventsapi serve`` runs granian's main process, which stays alive
beside the worker it forks, so what it imports is memory the server holds for as long as
it runs (docs/benchmarks.md, "Idle memory and start-up").
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping
from typing import Any

import click
from click.shell_completion import CompletionItem

VERSION_FLAGS = ("-V", "--version")
HELP_FLAGS = ("-h", "--help")


class DefaultGroup(click.Group):
    """A group that runs ``default_command`` when the arguments start with an option or
    there are none (``eventsapi --port 9000``, ``eventsapi``)."""

    default_command = "serve"

    def __init__(self, *args: Any, lazy: Mapping[str, str], **kwargs: Any) -> None:
        """``lazy``: each command's name and where it is, as ``"module:attribute"``."""
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        runs_default = not args or (
            args[0].startswith("-") and args[0] not in (*HELP_FLAGS, *VERSION_FLAGS)
        )
        # While completing (resilient parsing), nothing typed yet means "offer the
        # commands", not "complete serve".
        if runs_default and not (ctx.resilient_parsing and not args):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        if self.get_command(ctx, name) is None and not ctx.resilient_parsing:
            # click's wording (click 8.4 words it so too, without looking into subgroups).
            message = f"No such command {name!r}."
            suggestions = self.close_commands(ctx, name)
            if len(suggestions) == 1:
                message += f" Did you mean {suggestions[0]!r}?"
            elif suggestions:
                message += f" (Did you mean one of: {', '.join(map(repr, suggestions))}?)"
            raise click.UsageError(message, ctx)
        return super().resolve_command(ctx, args)

    def close_commands(self, ctx: click.Context, name: str) -> list[str]:
        """Commands whose name is close to ``name`` (difflib's measure, as click's own
        suggestions for options): of this group first, else of its subgroups, with
        their path (``db status``)."""
        close = difflib.get_close_matches(name, self.list_commands(ctx))
        if close:
            return close
        nested: dict[str, list[str]] = {}
        for group_name in self.list_commands(ctx):
            group = self.get_command(ctx, group_name)
            if isinstance(group, click.Group):
                for sub in group.list_commands(ctx):
                    nested.setdefault(sub, []).append(f"{group_name} {sub}")
        return sorted(
            path for sub in difflib.get_close_matches(name, nested) for path in nested[sub]
        )

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """The commands, and, for an option, the default command's options too (the
        options ``eventsapi --port 9000`` takes)."""
        found = super().shell_complete(ctx, incomplete)
        default = self.get_command(ctx, self.default_command)
        if default is not None and incomplete.startswith("-"):
            with click.Context(default, parent=ctx, info_name=self.default_command) as sub:
                found += [
                    item
                    for item in default.shell_complete(sub, incomplete)
                    if item.value not in {existing.value for existing in found}
                ]
        return found
