"""``eventsapi webhooks``: webhook endpoints, managed by the operator on the machine.

As ``eventsapi users``, these commands read and change the store directly and need no
account; the rules are the service's own (``webhooks/registry.py``: types, the URL and the
SSRF guard with the settings in effect). ``add`` prints the signing secret, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from eventsapi.cli.options import config_option, database_option, format_option, print_json, resolve
from eventsapi.cli.stores import opened_store
from eventsapi.clock import system_clock
from eventsapi.domain.webhooks import Attempt, Endpoint
from eventsapi.errors import EventsAPIError, ValidationFailed
from eventsapi.settings import Settings
from eventsapi.webhooks.delivery import Deliveries, Sender
from eventsapi.webhooks.registry import Registry
from eventsapi.webhooks.ssrf import UrlPolicy

_T = TypeVar("_T")


@click.group("webhooks")
def webhooks_group() -> None:
    """Manage webhook endpoints: list, add, remove, and see their deliveries."""


def _run(settings: Settings, action: Callable[[Registry], Awaitable[_T]]) -> _T:
    from eventsapi.api.clients import local_mode

    policy = UrlPolicy(
        allow_private=settings.webhook_allow_private, require_https=not local_mode(settings)
    )

    async def run() -> _T:
        sender = Sender(policy)
        try:
            async with opened_store(settings) as store:
                deliveries = Deliveries(store, sender, system_clock)
                return await action(Registry(store, system_clock, deliveries, policy))
        finally:
            await sender.close()

    try:
        return asyncio.run(run())
    except ValidationFailed as exc:
        lines = "; ".join(f"{error.field}: {error.message}" for error in exc.errors)
        raise click.ClickException(lines) from None
    except EventsAPIError as exc:
        raise click.ClickException(str(exc)) from None


def _endpoint_document(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "types": list(endpoint.types),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": endpoint.created_at,
    }


@webhooks_group.command("list")
@format_option
@database_option
@config_option
def list_command(output: str, database: str | None, config: Path | None) -> None:
    """List the endpoints (never their secrets)."""
    settings = resolve(config, database=database)
    endpoints = _run(settings, lambda registry: registry.endpoints())
    if output == "json":
        print_json([_endpoint_document(endpoint) for endpoint in endpoints])
        return
    if not endpoints:
        click.echo("No webhooks yet: add one with `eventsapi webhooks add URL`.")
        return
    click.echo("ID                          STATE  TYPES                URL")
    for endpoint in endpoints:
        state = "on" if endpoint.enabled else "off"
        types = ",".join(endpoint.types)
        click.echo(f"{endpoint.id}  {state:<5}  {types:<19}  {endpoint.url}")


@webhooks_group.command("add")
@click.argument("url")
@click.option(
    "--type",
    "-t",
    "types",
    multiple=True,
    default=("*",),
    show_default=True,
    help="A change type (event.created...), kind.* or *; repeat for several.",
)
@click.option("--description", default="", help="What the endpoint is for (one line).")
@database_option
@config_option
def add_command(
    url: str, types: tuple[str, ...], description: str, database: str | None, config: Path | None
) -> None:
    """Register URL for the changes made from now on, and print its signing secret once."""
    settings = resolve(config, database=database)
    endpoint, secret = _run(settings, lambda registry: registry.create(url, types, description))
    click.echo(f"Added webhook {endpoint.id} for {endpoint.url}.")
    click.echo(f"Signing secret (shown this once; keep it to verify signatures): {secret}")


@webhooks_group.command("remove")
@click.argument("webhook_id")
@database_option
@config_option
def remove_command(webhook_id: str, database: str | None, config: Path | None) -> None:
    """Remove the endpoint WEBHOOK_ID, with its queued messages and attempts."""
    settings = resolve(config, database=database)
    _run(settings, lambda registry: registry.delete(webhook_id))
    click.echo(f"Removed webhook {webhook_id}.")


def _attempt_document(attempt: Attempt) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "message_id": attempt.message_id,
        "type": attempt.type,
        "attempt": attempt.number,
        "at": attempt.at,
        "status_code": attempt.status_code,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
        "next_attempt_at": attempt.next_attempt_at,
    }


def _when(instant: datetime | None) -> str:
    return "-" if instant is None else f"{instant.astimezone(UTC):%Y-%m-%d %H:%M:%S}"


@webhooks_group.command("deliveries")
@click.argument("webhook_id")
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=50,
    show_default=True,
    help="How many attempts to show.",
)
@format_option
@database_option
@config_option
def deliveries_command(
    webhook_id: str, limit: int, output: str, database: str | None, config: Path | None
) -> None:
    """The latest delivery attempts of WEBHOOK_ID, newest first."""
    settings = resolve(config, database=database)
    attempts = _run(
        settings, lambda registry: registry.attempts(webhook_id, before=None, limit=limit)
    )
    if output == "json":
        print_json([_attempt_document(attempt) for attempt in attempts])
        return
    if not attempts:
        click.echo("No deliveries yet.")
        return
    click.echo(
        "AT (UTC)             STATUS  MS     MESSAGE                         #  NEXT / ERROR"
    )
    for attempt in attempts:
        status = "-" if attempt.status_code is None else str(attempt.status_code)
        after = attempt.error or ""
        if attempt.next_attempt_at is not None:
            after = f"next {_when(attempt.next_attempt_at)}; {after}"
        click.echo(
            f"{_when(attempt.at)}  {status:<6}  {attempt.duration_ms:<5}  "
            f"{attempt.message_id}  {attempt.number:<2} {after}"
        )
