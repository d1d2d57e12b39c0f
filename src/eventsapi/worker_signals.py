"""A SIGTERM that reaches a granian worker before it listens for one is kept, not lost.

granian's main process stops each worker with one SIGTERM. A worker hears it only while
its event loop runs: uvloop routes signals through a self-pipe that it sets as the wakeup
fd at the start of each run and takes back at its end. Before that, a SIGTERM is
swallowed: while the worker imports and builds the application, the handler in force is
the one inherited from the main process (it sets a flag in the worker's copy of the main's
state), and between the lifespan's start and serving, the loop does not run (the handler
notes the signal, but nothing reads it). The worker then serves on until the main kills
it after ``shutdown_timeout``, dropping its requests in flight: a stop soon after a start,
or while a worker starts, hung for ``shutdown_timeout``.

So from its fork each worker has a wakeup fd of its own, which uvloop restores after each
run: a signal that arrives while the loop is not listening writes its number there, and
from the lifespan's start the loop reads it and sends the SIGTERM again, now heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from types import FrameType

_kept: int | None = None  # in a worker process: the read end of its wakeup pipe


def keep_early_signals_in_workers() -> None:
    """Call in the main process, before granian forks its workers (respawns too)."""
    os.register_at_fork(after_in_child=_keep_early_signals)


def _keep_early_signals() -> None:
    global _kept  # one per process: set in the child right after its fork
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)  # the signal handler must never block on a full pipe
    # The main process stops the workers; Ctrl+C reaches them too (app.py).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A Python handler makes CPython write the signal's number to the wakeup fd.
    signal.signal(signal.SIGTERM, _noted)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    _kept = read


def _noted(signum: int, frame: FrameType | None) -> None:
    """Nothing to do yet: the number is in the wakeup pipe, read by ``deliver_kept``."""


def deliver_kept(loop: asyncio.AbstractEventLoop) -> None:
    """From now on (the worker's lifespan, under granian's handlers), send again each
    SIGTERM that arrived while the loop was not listening: the pipe is read only while the
    loop runs, that is while uvloop has its own wakeup fd and hears the new one."""
    if _kept is not None:
        loop.add_reader(_kept, _send_again, _kept)


def stop_delivering(loop: asyncio.AbstractEventLoop) -> None:
    if _kept is not None:
        loop.remove_reader(_kept)


def _send_again(read: int) -> None:
    with contextlib.suppress(BlockingIOError):
        if signal.SIGTERM in os.read(read, 512):
            os.kill(os.getpid(), signal.SIGTERM)


_alone = False  # the one worker runs in serve's own process (cli/footprint.py)


def serving_alone() -> None:
    """Note that the worker is the main process: it stops on SIGINT (Ctrl+C) itself."""
    global _alone  # one per process, set before the app is made
    _alone = True


def alone() -> bool:
    return _alone
