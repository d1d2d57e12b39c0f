"""``eventsapi serve``: the API in the foreground, served by granian."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click

from eventsapi import __version__, logs, storage
from eventsapi.cli import footprint
from eventsapi.cli.options import resolve, serve_options
from eventsapi.cli.stores import opened_store
from eventsapi.cli.users import FIRST_ADMIN_HINT
from eventsapi.errors import EventsAPIError
from eventsapi.settings import RESOLVED_SETTINGS_ENV, Settings
from eventsapi.settings_info import encode

logger = logging.getLogger("eventsapi")


MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's name for it


@contextlib.contextmanager
def _metrics_directory() -> Iterator[None]:
    """A directory where each worker process keeps its metrics, for /metrics to add up.

    prometheus_client's multiprocess mode (the variable must be set before a worker imports
    it). A directory the operator gives is emptied first, as prometheus_client asks, so that
    counters restart with the server; otherwise a private one is made and removed at exit.
    With a read-only root file system, point TMPDIR or PROMETHEUS_MULTIPROC_DIR at a
    writable volume (an emptyDir in Kubernetes).
    """
    given = os.environ.get(MULTIPROCESS_ENV)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        yield
        return
    made = tempfile.mkdtemp(prefix="eventsapi-metrics-")
    os.environ[MULTIPROCESS_ENV] = made
    try:
        yield
    finally:
        del os.environ[MULTIPROCESS_ENV]
        shutil.rmtree(made, ignore_errors=True)


def _warn_about_drills(settings: Settings) -> None:
    if settings.drill_error_ratio or settings.drill_slow_ratio:
        logger.warning(
            "FAULT-INJECTION DRILL ON: %.2f%% of API requests will fail with 503 and %.2f%% "
            "be delayed by %d ms, on purpose (drill_error_ratio, drill_slow_ratio). "
            "Never leave this on in production.",
            settings.drill_error_ratio * 100,
            settings.drill_slow_ratio * 100,
            settings.drill_slow_ms,
        )


_LISTEN_BACKLOG = 4096
# Descriptors a worker needs besides its connections: the database, logs, metrics files.
_SPARE_DESCRIPTORS = 256


def _allow_connections(settings: Settings) -> None:
    """Raise the open-file limit so that each worker can hold ``max_connections``.

    Worker processes inherit it. Past the limit a worker cannot accept a connection at
    all, whoever sends it: one client holding descriptors would lock every other out.
    Process managers often start services with a soft limit of 1,024.
    """
    needed = settings.max_connections + _SPARE_DESCRIPTORS
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    unlimited = resource.RLIM_INFINITY
    if soft != unlimited and soft < needed:
        soft = needed if hard == unlimited else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft != unlimited and soft < needed:
        logger.warning(
            "the open-file limit (%d) is below what max_connections (%d) needs (%d): "
            "past about %d connections a worker stops accepting any. Raise the hard limit "
            "(LimitNOFILE= in a systemd unit, ulimit -Hn) or lower max_connections.",
            soft,
            settings.max_connections,
            needed,
            soft - _SPARE_DESCRIPTORS,
        )


def _warn_about_slow_clients(settings: Settings) -> None:
    from eventsapi.api.clients import local_mode

    # In local mode only requests through a proxy are capped; without a cap there, one
    # such client can still take the capacity, but the machine's own user is not at risk.
    if settings.max_requests_per_client == 0 and not local_mode(settings):
        logger.warning(
            "no cap on requests in flight per client (max_requests_per_client=0): one "
            "client's slow requests can take every worker's capacity.",
        )


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


def _prepare_database(settings: Settings) -> int:
    """Open the database once before forking workers: fail fast, migrate once.

    Returns how many accounts it has (for the first-run guidance)."""

    async def run() -> int:
        async with opened_store(settings, create=True) as store:
            return await store.count_users()

    try:
        return asyncio.run(run())
    except EventsAPIError as exc:
        raise click.ClickException(str(exc)) from None


class WriteMode(enum.StrEnum):
    """Who may change events, as the start line says it."""

    LOCAL = "anonymous writes ON (listening on loopback only)"
    OPEN = "anonymous writes ON"
    ACCOUNTS = "writes need an account"


def _write_mode(settings: Settings) -> WriteMode:
    # Imported here, as granian is: the HTTP side is not needed by the other commands.
    from eventsapi.api.clients import is_loopback

    if settings.anonymous_writes == "off" or (
        settings.anonymous_writes == "auto" and not is_loopback(settings.host)
    ):
        return WriteMode.ACCOUNTS
    return WriteMode.LOCAL if is_loopback(settings.host) else WriteMode.OPEN


def _limits_text(settings: Settings) -> str:
    """What the start line says of rate limits, when local requests are spared them."""
    from eventsapi.api.clients import local_mode

    if settings.rate_limits and local_mode(settings) and not settings.rate_limit_local:
        return "; requests from this machine are not rate-limited"
    return ""


def _warn_about_proxies(settings: Settings) -> None:
    from eventsapi.settings import parse_networks

    if any(network.prefixlen == 0 for network in parse_networks(settings.trusted_proxies)):
        logger.warning(
            "trusted_proxies trusts every address (%s): any client can choose the address it "
            "is rate-limited, throttled and audited as, with an X-Forwarded-For field. List "
            "only your reverse proxies' addresses.",
            ", ".join(settings.trusted_proxies),
        )


def _warn_about_writes(settings: Settings, mode: WriteMode, accounts: int) -> None:
    """Warn when anyone may change events, or when nobody can yet (first run)."""
    if mode is WriteMode.OPEN:
        logger.warning(
            "anonymous writes ON on %s (anonymous_writes=on): anyone who can reach the port "
            "can create, change and delete events. Keep this only if something in front of "
            "the service (a firewall, an authenticating proxy) decides who reaches it.",
            _url(settings),
        )
    elif mode is WriteMode.ACCOUNTS and accounts == 0:
        logger.warning(
            "no accounts yet: %s (with the same database settings); until then nobody can "
            "create, change or delete events.",
            FIRST_ADMIN_HINT,
        )


@click.command()
@serve_options
def serve(
    database: str | None,
    host: str | None,
    port: int | None,
    workers: int | None,
    log_level: str | None,
    log_format: str | None,
    access_log: bool | None,
    config: Path | None,
) -> None:
    """Serve the API in the foreground until SIGTERM or SIGINT (Ctrl+C).

    On a signal it stops accepting connections, lets requests in flight finish,
    commits queued writes and exits 0.
    """
    # Settings may warn (an unknown EVENTSAPI_* variable) before they say how to log.
    with logs.held_back() as held:
        settings = resolve(
            config,
            database=database,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            log_format=log_format,
            access_log=access_log,
        )
    logs.configure(settings)
    held.write()
    if settings.database in ("memory:", ":memory:") and settings.workers > 1:
        raise click.UsageError("The memory database cannot be shared by several workers.")
    _check_address(settings)
    accounts = _prepare_database(settings)
    _allow_connections(settings)
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.http import HTTP1Settings

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
        log_dictconfig=logs.granian_config(settings),  # its lines in our format too
        log_access=False,  # the app writes its own, with the request id
        workers_kill_timeout=max(1, round(settings.shutdown_timeout)),
        # granian counts connections, not requests, against backpressure (a permit is taken
        # before accept and given back when the connection closes), so a connection still
        # dribbling its headers holds one: see docs/security.md, "Slow clients".
        backpressure=settings.max_connections,
        # Connections wait here while a worker is busy accepting others; when it is full the
        # kernel drops new ones, whose clients retry only after a second or more (the kernel
        # caps it at net.core.somaxconn, 4096 by default).
        backlog=_LISTEN_BACKLOG,
        http1_settings=HTTP1Settings(
            header_read_timeout=round(settings.request_header_timeout * 1000)
        ),
    )
    workers_text = "1 worker" if settings.workers == 1 else f"{settings.workers} workers"
    mode = _write_mode(settings)
    logger.info(
        "eventsapi %s serving %s with %s, %s; %s%s. Press Ctrl+C to stop.",
        __version__,
        _url(settings),
        storage.describe(settings.database),
        workers_text,
        mode,
        _limits_text(settings),
    )
    _warn_about_writes(settings, mode, accounts)
    _warn_about_proxies(settings)
    _warn_about_drills(settings)
    _warn_about_slow_clients(settings)
    with _metrics_directory():
        footprint.serve(server)
