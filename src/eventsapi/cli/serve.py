"""``eventsapi serve``: the API in the foreground, served by granian."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from pathlib import Path

import click

from eventsapi import __version__, storage
from eventsapi.cli.options import resolve, serve_options
from eventsapi.errors import EventsAPIError
from eventsapi.settings import RESOLVED_SETTINGS_ENV, Settings, encode

logger = logging.getLogger("eventsapi")


def _url(settings: Settings) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"http://{host}:{settings.port}"


def _check_address(settings: Settings) -> None:
    """Fail with one clear line if the address cannot be listened on.

    granian reports a port in use or an unknown host with a long traceback.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            settings.host, settings.port, type=socket.SOCK_STREAM
        )[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise click.ClickException(f"Cannot listen on {_url(settings)}: {reason}.") from None


def _prepare_database(settings: Settings) -> None:
    """Open the database once before forking workers: fail fast, migrate once."""

    async def run() -> None:
        store = storage.load(settings.database, settings)
        await store.open()
        await store.close()

    try:
        asyncio.run(run())
    except EventsAPIError as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@serve_options
def serve(
    database: str | None,
    host: str | None,
    port: int | None,
    workers: int | None,
    log_level: str | None,
    access_log: bool | None,
    config: Path | None,
) -> None:
    """Serve the API in the foreground until SIGTERM or SIGINT (Ctrl+C).

    On a signal it stops accepting connections, lets requests in flight finish,
    commits queued writes and exits 0.
    """
    settings = resolve(
        config,
        database=database,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
    )
    if settings.database in ("memory:", ":memory:") and settings.workers > 1:
        raise click.UsageError("The memory database cannot be shared by several workers.")
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if settings.access_log:
        # The app writes the access log (api/access_log.py), at INFO whatever log_level.
        logging.getLogger("eventsapi.access").setLevel(logging.INFO)
    _check_address(settings)
    _prepare_database(settings)
    from granian import Granian
    from granian.constants import Interfaces, Loops

    os.environ[RESOLVED_SETTINGS_ENV] = encode(settings)
    server = Granian(
        "eventsapi.app:app_from_environment",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        loop=Loops.uvloop if sys.platform != "win32" else Loops.auto,
        websockets=False,
        log_enabled=True,
        log_level="warning" if settings.log_level == "info" else settings.log_level,  # type: ignore[arg-type]
        log_access=False,  # the app writes its own, with the request id
        workers_kill_timeout=max(1, round(settings.shutdown_timeout)),
    )
    workers_text = "1 worker" if settings.workers == 1 else f"{settings.workers} workers"
    logger.info(
        "eventsapi %s serving %s with %s, %s. Press Ctrl+C to stop.",
        __version__,
        _url(settings),
        storage.describe(settings.database),
        workers_text,
    )
    server.serve()
