"""``create_app``: the one place where settings, storage, clock and HTTP are wired."""

from __future__ import annotations

import contextlib
import os
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


def app_from_environment() -> Starlette:
    """The application a worker process serves (granian imports it as a factory)."""
    resolved = os.environ.get(settings_module.RESOLVED_SETTINGS_ENV)
    if resolved:
        settings = settings_module.decode(resolved)
    else:
        settings = settings_module.load_settings(environ=os.environ)
    return create_app(settings)
