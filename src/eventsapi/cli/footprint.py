"""How ``eventsapi serve`` runs granian so that the server takes little memory.

**One worker: no second process.** granian's usual server is a main process that forks
each worker and watches it. With one worker that doubles Python: the main process held
38 MB RSS beside a 46 MB worker (summed RSS counts each page they share twice). So with
``workers = 1`` the worker runs in ``serve``'s own process, on granian's embedded server
(``granian.server.embed``): the same Rust HTTP server, interface, backpressure and limits,
driven from this process's event loop. What the main process gave and this keeps: SIGTERM
and SIGINT (Ctrl+C) stop accepting, let requests in flight finish and run the app's
shutdown (queued writes committed), within ``shutdown_timeout``; a worker that cannot
start ends the server with status 1. What it does not give here: granian's SIGHUP
reload of its workers and their respawn (never turned on by ``serve``); with one worker
neither survives the worker's process anyway. docs/benchmarks.md, "Idle memory and
start-up (issue 18)", has the figures.

**Several workers: ``gc.freeze()`` before forking.** A forked worker shares the main's
memory until one of them writes a page, and CPython's cyclic garbage collector writes to
every object it looks at. ``gc.freeze`` moves every object alive now to a generation the
collector never looks at (the Python documentation's advice for servers that fork; without
a collection first, which would leave holes that later allocations fill).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from eventsapi.worker_signals import keep_early_signals_in_workers, serving_alone

if TYPE_CHECKING:
    from granian.server.common import AbstractServer

logger = logging.getLogger("eventsapi")


def serve(server: AbstractServer[Any]) -> None:
    """Serve with ``server``'s settings until SIGTERM or SIGINT."""
    if server.workers == 1 and sys.platform != "win32":
        _serve_alone(server)
        return
    keep_early_signals_in_workers()
    gc.freeze()
    server.serve()


class _NoExperimentalWarning(logging.Filter):
    """granian warns that its embedded server is experimental at every start: for an
    operator that line would be noise about a choice this module made."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "experimental" not in record.getMessage()


def _target(server: AbstractServer[Any]) -> Any:
    module, _, attribute = str(server.target).partition(":")
    found: Any = importlib.import_module(module)
    for name in attribute.split("."):
        found = getattr(found, name)
    return found


def _serve_alone(server: AbstractServer[Any]) -> None:
    import uvloop
    from granian.server.embed import Server

    # A stop that comes while granian and the app are imported is kept for the loop.
    early: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: early.append(signum))
    serving_alone()
    logging.getLogger("_granian").addFilter(_NoExperimentalWarning())
    embedded = Server(
        _target(server),
        factory=server.factory,
        address=server.bind_addr,
        port=server.bind_port,
        interface=server.interface,
        websockets=server.websockets,
        http=server.http,
        http2_settings=server.http2_settings,
        runtime_threads=server.runtime_threads,
        runtime_blocking_threads=server.runtime_blocking_threads,
        blocking_threads=server.blocking_threads,
        blocking_threads_idle_timeout=server.blocking_threads_idle_timeout,
        task_impl=server.task_impl,
        url_path_prefix=server.url_path_prefix,
        log_access_format=server.log_access_format,
        backlog=server.backlog,
        backpressure=server.backpressure,
        http1_settings=server.http1_settings,
        log_enabled=server.log_enabled,
        log_level=server.log_level,
        log_dictconfig=server.log_config,
        log_access=server.log_access,
    )
    embedded.workers_kill_timeout = server.workers_kill_timeout

    async def run() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, embedded.stop)
        # Ctrl+C stops the server as SIGTERM does, streams ended at once included
        # (api/stream_hub.py listens for SIGTERM).
        loop.add_signal_handler(signal.SIGINT, os.kill, os.getpid(), signal.SIGTERM)
        if early:
            loop.call_soon(embedded.stop)
        try:
            await embedded.serve()
        except TimeoutError:
            # As granian's main process kills a worker that outlives shutdown_timeout: the
            # requests still in flight lose their connection (ending the loop would cancel
            # them, and granian would answer each with a 500). Acknowledged writes are on
            # disk already; the private metrics directory, if any, stays in TMPDIR.
            logger.warning(
                "requests still in flight after shutdown_timeout (%s s): stopped",
                server.workers_kill_timeout,
            )
            os._exit(0)

    uvloop.run(run())
    if embedded.interrupt_children:  # the worker ended on its own (its start failed)
        raise SystemExit(1)
