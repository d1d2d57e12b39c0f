"""``create_app``: the one place where settings, storage, clock and HTTP are wired."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Final, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from eventsapi import logs, storage
from eventsapi import settings as settings_module
from eventsapi.api import problems
from eventsapi.api.account_tokens import TokensAPI
from eventsapi.api.accounts import AccountsAPI
from eventsapi.api.authn import Authn
from eventsapi.api.changes import ChangesAPI
from eventsapi.api.clients import local_mode
from eventsapi.api.events import EventsAPI
from eventsapi.api.feeds import CalendarFeeds
from eventsapi.api.hotpath import EventsApp
from eventsapi.api.identities import RecentIdentities
from eventsapi.api.ratelimits import RateLimits
from eventsapi.api.registrations import RegistrationsAPI
from eventsapi.api.route_table import TABLE
from eventsapi.api.routes import BoundTable, Services
from eventsapi.api.stream import StreamAPI
from eventsapi.api.trash import TrashAPI
from eventsapi.api.users import UsersAPI
from eventsapi.api.webhooks import WebhooksAPI
from eventsapi.auth.hashing import HashingGate
from eventsapi.auth.ratelimit import RedisRateLimiter, redis_client
from eventsapi.auth.service import AccountService
from eventsapi.auth.sessions import SessionPolicy
from eventsapi.clock import Clock, system_clock
from eventsapi.errors import ConfigurationError, EventsAPIError
from eventsapi.settings import Settings, parse_statuses
from eventsapi.settings_info import decode as decode_settings
from eventsapi.settings_load import load_settings
from eventsapi.slo.config import SLOConfig, load_slo_config
from eventsapi.slo.drill import Drill
from eventsapi.slo.prometheus import PrometheusExport
from eventsapi.slo.recorder import Recorder
from eventsapi.slo.service import SLOService
from eventsapi.slo.spec import CalendarWindow
from eventsapi.storage.sqlite import SQLiteStore
from eventsapi.ui.routes import ui_routes
from eventsapi.webhooks.delivery import Deliveries, Sender
from eventsapi.webhooks.registry import Registry
from eventsapi.webhooks.ssrf import UrlPolicy
from eventsapi.webhooks.worker import Worker
from eventsapi.worker_signals import alone, deliver_kept, stop_delivering

logger = logging.getLogger("eventsapi")
_T = TypeVar("_T")


def create_app(
    settings: Settings, *, store: storage.Backend | None = None, clock: Clock | None = None
) -> Starlette:
    """The ASGI application. ``store`` and ``clock`` replace the configured ones (tests)."""
    store = store if store is not None else storage.load(settings.database, settings)
    export = PrometheusExport() if settings.metrics else None
    slo = _slo_service(settings, store, clock, export)
    accounts = AccountService(
        store,
        clock or system_clock,
        session_policy=SessionPolicy(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_hours),
        ),
        hashing=HashingGate(
            threads=settings.password_hashing_threads,
            queue=settings.password_hashing_queue,
            per_client=settings.password_hashing_per_client,
        ),
        on_hash=None if export is None else export.count_password_hash,
    )
    identities = RecentIdentities()  # credentials verified lately: what rate limits key on
    authn = Authn(accounts, settings, identities)
    events = EventsAPI(store, settings, clock or system_clock, authn)
    trash = TrashAPI(store, settings, clock or system_clock, authn)
    registrations = RegistrationsAPI(store, settings, clock or system_clock, authn)
    changes = ChangesAPI(store, authn)
    drill = Drill(settings.drill_error_ratio, settings.drill_slow_ratio, settings.drill_slow_ms)
    stream = StreamAPI(store, settings, authn) if settings.stream_limit else None
    limit = settings.max_body_bytes
    policy = UrlPolicy(
        allow_private=settings.webhook_allow_private, require_https=not local_mode(settings)
    )
    sender = Sender(policy)
    deliveries = Deliveries(store, sender, clock or system_clock)
    registry = Registry(store, clock or system_clock, deliveries, policy)
    # A test's own clock drives the worker by calling it (run_once), as it does the SLOs.
    webhook_worker = Worker(store, deliveries, clock or system_clock)
    registry.changed = webhook_worker.listen
    # This worker's writes reach its streams and its webhook deliveries at once; writes of
    # other workers and replicas are found by LISTEN/NOTIFY or the next poll.
    events.changed = _all_of(webhook_worker.wake, *([stream.hub.wake] if stream else []))
    trash.changed = events.changed
    registrations.changed = events.changed
    table = BoundTable(
        TABLE,
        Services(
            events=events,
            trash=trash,
            registrations=registrations,
            feeds=CalendarFeeds(store, settings, clock or system_clock, events.listings, authn),
            changes=changes,
            accounts=AccountsAPI(authn, max_body_bytes=limit),
            tokens=TokensAPI(authn, max_body_bytes=limit),
            users=UsersAPI(authn, max_body_bytes=limit),
            webhooks=WebhooksAPI(authn, registry, max_body_bytes=limit),
            store=store,
            slos=slo,
            drill=drill,
            stream=stream,
        ),
        # The web UI's pages (ui/routes.py); the OpenAPI document is TABLE's alone.
        more=ui_routes,
    )
    rate_limits = RateLimits(  # may move to Redis
        settings, routes=table.groups, clock=clock, identities=identities
    )
    rate_limits.verify = authn.verify

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        in_worker = getattr(app.state, "worker_process", False)
        if in_worker and not alone():
            _leave_interrupts_to_the_main_process()
            # A SIGTERM that came while the worker started is sent again (worker_signals.py).
            deliver_kept(asyncio.get_running_loop())
        redis = None
        housekeeping: asyncio.Task[None] | None = None
        backups: asyncio.Task[None] | None = None
        await store.open()
        try:
            if rate_limits.active and settings.rate_limit_redis:
                # Connects on first use; while Redis is down, limits fail open (ratelimits.py).
                redis = redis_client(settings.rate_limit_redis)
                rate_limits.limiter = RedisRateLimiter(redis)
            await events.start()
            await trash.start()
            await registrations.start()
            await changes.start()
            if stream is not None:
                await stream.start()
                if in_worker:
                    stream.hub.close_on_sigterm()
            # A test's own clock drives the SLO engine by calling it (flush, evaluate); a
            # loop on wall time would interleave with it.
            await slo.start(background=clock is None)
            housekeeping = (
                asyncio.create_task(_prune_daily(accounts, store, settings))
                if clock is None
                else None
            )
            if clock is None:
                webhook_worker.start()
            backups = _scheduled_backups(settings, store)
            if settings.webhook_allow_private:
                logger.warning(
                    "WEBHOOKS MAY CALL PRIVATE ADDRESSES: webhook_allow_private is on, so an "
                    "admin can make this service send requests to loopback, private, "
                    "link-local and cloud metadata addresses, and over plain http. Turn it "
                    "off unless every receiver is on a network you trust."
                )
            if drill.active:
                logger.warning(
                    "FAULT-INJECTION DRILL ON: %s. Turn drill_error_ratio and "
                    "drill_slow_ratio back to 0 after the rehearsal.",
                    drill.describe(),
                )
            yield
        finally:
            for task in (housekeeping, backups):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await webhook_worker.stop()
            await sender.close()
            if stream is not None:
                await stream.hub.stop()
            await slo.stop()
            await events.stop()
            await store.close()
            if redis is not None:
                await redis.aclose()
            if in_worker:
                stop_delivering(asyncio.get_running_loop())

    app = EventsApp(
        table,
        settings,
        recorder=slo.recorder,
        drill=drill,
        rate_limits=rate_limits,
        lifespan=lifespan,
        exception_handlers={
            EventsAPIError: problems.from_error,
            HTTPException: problems.from_error,
            Exception: problems.internal_error,
        },
    )
    app.state.store = store
    app.state.settings = settings
    app.state.slo = slo
    app.state.accounts = accounts
    app.state.authn = authn
    app.state.drill = drill
    app.state.rate_limits = rate_limits
    app.state.events_api = events
    app.state.changes_api = changes
    app.state.webhooks = registry
    app.state.webhook_worker = webhook_worker
    return app


def _all_of(*calls: Callable[[], None]) -> Callable[[], None]:
    def call_all() -> None:
        for call in calls:
            call()

    return call_all


PRUNE_EVERY: Final = timedelta(days=1)


async def _or_none(what: str, pruning: Awaitable[_T]) -> _T | None:
    """``pruning``'s result, or ``None`` with a warning if the database is away (the next
    round will do)."""
    try:
        return await pruning
    except EventsAPIError as exc:
        logger.warning("%s failed: %s", what, exc)
        return None


async def _prune_daily(
    accounts: AccountService, store: storage.Backend, settings: Settings
) -> None:
    """Delete ended sessions and tokens, changes older than ``change_retention_days`` and
    events in the trash longer than ``trash_retention_days``, now and once a day, in every
    worker and replica (deleting what another deleted changes nothing); a failure is retried
    the next time."""
    keep_changes = timedelta(days=settings.change_retention_days)
    keep_trash = timedelta(days=settings.trash_retention_days)
    while True:
        ended = await _or_none("Pruning ended sessions and tokens", accounts.prune_ended())
        if ended is not None and any(ended):
            logger.info("Pruned %d ended sessions and %d ended API tokens.", *ended)
        changes = await _or_none(
            "Pruning the change log", store.prune_changes(system_clock() - keep_changes)
        )
        if changes:
            logger.info("Pruned %d changes older than %s.", changes, keep_changes)
        purged = await _or_none("Purging the trash", store.purge_trash(system_clock() - keep_trash))
        if purged:
            logger.info("Purged %d events deleted over %s ago.", purged, keep_trash)
        await asyncio.sleep(PRUNE_EVERY.total_seconds())


def _scheduled_backups(settings: Settings, store: storage.Backend) -> asyncio.Task[None] | None:
    """The task of scheduled backups (``backup_dir``), if set and the database is SQLite."""
    if not settings.backup_dir:
        return None
    if not isinstance(store, SQLiteStore):
        logger.warning(
            "NO SCHEDULED BACKUPS: backup_dir is set, but the database is not a SQLite file; "
            "back up PostgreSQL with pg_dump (docs/backups.md)."
        )
        return None
    # Imported with backup_dir set only: the backup's modules stay out of other services.
    from eventsapi.backups import run_scheduled_backups

    return asyncio.create_task(run_scheduled_backups(settings, store.path))


def _slo_service(
    settings: Settings, store: storage.Backend, clock: Clock | None, export: PrometheusExport | None
) -> SLOService:
    config = load_slo_config(Path(settings.slo_file) if settings.slo_file else None)
    _check_retention(settings, config)
    wall = time.time if clock is None else (lambda: clock().timestamp())
    return SLOService(
        store,
        clock or system_clock,
        config=config,
        error_statuses=parse_statuses(settings.sli_error_statuses),
        retention=timedelta(days=settings.sli_retention_days),
        recorder=Recorder(wall=wall),
        export=export,
    )


def _check_retention(settings: Settings, config: SLOConfig) -> None:
    """Refuse a retention shorter than an SLO window: its budget would silently shrink."""
    longest = 0
    for slo in config.slos:
        window = slo.window
        if isinstance(window, CalendarWindow):
            longest = max(longest, 92 if window.period == "quarter" else 31)
        else:
            longest = max(longest, window.days)
    for contract in config.contracts:
        longest = max(longest, 92 if contract.period == "quarter" else 31)
    if settings.sli_retention_days < longest:
        raise ConfigurationError(
            f"Invalid setting: sli_retention_days ({settings.sli_retention_days}) is shorter "
            f"than the longest SLO or SLA window ({longest} days); counts would be pruned "
            "before their window ends."
        )


def _leave_interrupts_to_the_main_process() -> None:
    """In a granian worker: ignore SIGINT; the main process stops the workers with SIGTERM.

    Ctrl+C in a terminal signals the whole process group, so each worker got SIGINT
    from the terminal and SIGTERM from granian's main process at once, and now and
    then granian's worker signal handler hung on the second (the worker was then
    killed after shutdown_timeout, dropping its requests in flight). With one
    signal per worker, the drain is clean. Runs after granian installed its
    handlers (the lifespan starts after them).
    """
    with contextlib.suppress(NotImplementedError, RuntimeError):
        asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def app_from_environment() -> Starlette:
    """The application a worker process serves (granian imports it as a factory)."""
    resolved = os.environ.get(settings_module.RESOLVED_SETTINGS_ENV)
    settings = decode_settings(resolved) if resolved else load_settings(environ=os.environ)
    logs.configure_worker(settings)
    app = create_app(settings)
    app.state.worker_process = True
    return app
