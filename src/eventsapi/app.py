"""``create_app``: the one place where settings, storage, clock and HTTP are wired."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from eventsapi import settings as settings_module
from eventsapi import storage
from eventsapi.api import problems
from eventsapi.api.events import EventsAPI
from eventsapi.api.hotpath import EventsApp
from eventsapi.api.routes import routes
from eventsapi.clock import Clock, system_clock
from eventsapi.errors import EventsAPIError
from eventsapi.settings import Settings
from eventsapi.storage.base import EventStore


def create_app(
    settings: Settings, *, store: EventStore | None = None, clock: Clock | None = None
) -> Starlette:
    """The ASGI application. ``store`` and ``clock`` replace the configured ones (tests)."""
    store = store if store is not None else storage.load(settings.database, settings)
    events = EventsAPI(store, settings, clock or system_clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if getattr(app.state, "worker_process", False):
            _leave_interrupts_to_the_main_process()
        await store.open()
        try:
            await events.start()
            yield
        finally:
            await events.stop()
            await store.close()

    app = EventsApp(
        events,
        settings,
        routes=routes(events, store),
        lifespan=lifespan,
        exception_handlers={
            EventsAPIError: problems.from_error,
            HTTPException: problems.from_error,
            Exception: problems.internal_error,
        },
    )
    app.state.store = store
    app.state.settings = settings
    return app


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
    if resolved:
        settings = settings_module.decode(resolved)
    else:
        settings = settings_module.load_settings(environ=os.environ)
    app = create_app(settings)
    app.state.worker_process = True
    return app
