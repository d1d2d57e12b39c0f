"""Waiting for a state a test can observe, instead of sleeping for a guessed time.

A fixed sleep is too short on a loaded machine and wasted on an idle one; these poll the
condition until it holds and fail, saying what was awaited, at a deadline far beyond
what it should take. The deadline is a guard against a hang, not a speed requirement:
speed lives in the benchmarks.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

import pytest

POLL_SECONDS = 0.05


def wait_until(condition: Callable[[], bool], what: str, *, within: float = 30.0) -> None:
    """Return once ``condition()`` is true; fail the test with ``what`` at ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {within:g} s for {what}", pytrace=False)
        time.sleep(POLL_SECONDS)


async def wait_until_async(
    condition: Callable[[], Awaitable[bool] | bool], what: str, *, within: float = 30.0
) -> None:
    """``wait_until`` on the event loop, for a condition that may be awaited."""
    deadline = time.monotonic() + within
    while not await _holds(condition):
        if time.monotonic() > deadline:
            pytest.fail(f"waited {within:g} s for {what}", pytrace=False)
        await asyncio.sleep(POLL_SECONDS)


async def _holds(condition: Callable[[], Awaitable[bool] | bool]) -> bool:
    value = condition()
    return await value if inspect.isawaitable(value) else value
