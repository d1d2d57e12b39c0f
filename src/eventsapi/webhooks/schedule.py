"""The retry schedule, and what a receiver's answer means for a message.

Standard Webhooks' schedule: an attempt at once, then after 5 s, 5 min, 30 min, 2 h, 5 h,
10 h, 14 h, 20 h and 24 h, each delay stretched by up to 10 % at random (jitter), so that
the retries of a burst do not all land at one instant. A receiver that answers 429 or 503
with ``Retry-After`` is not called again before then. A message whose last attempt fails is
``failed``; a 410 Gone turns its endpoint off (the receiver says it is gone for good).
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from eventsapi.domain.webhooks import Outcome

__all__ = ["JITTER", "SCHEDULE", "outcome", "random_jitter", "retry_after"]

SCHEDULE: Final = tuple(
    timedelta(seconds=seconds)
    for seconds in (
        0,
        5,
        5 * 60,
        30 * 60,
        2 * 3600,
        5 * 3600,
        10 * 3600,
        14 * 3600,
        20 * 3600,
        86400,
    )
)
"""The delay before each attempt, after the one before it failed."""
JITTER: Final = 0.1
"""Each delay is stretched by up to this share of it."""
LONGEST_WAIT: Final = SCHEDULE[-1]
"""A ``Retry-After`` longer than this is taken as this."""
GONE: Final = 410
_BACK_OFF: Final = frozenset({429, 503})


def random_jitter() -> float:
    """A share of a delay to add to it, in [0, ``JITTER``]."""
    return random.uniform(0, JITTER)  # noqa: S311 - spreading load, not a secret


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A ``Retry-After`` field (seconds, or an HTTP date) as a delay from ``now``."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(timedelta(seconds=int(value)), LONGEST_WAIT)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(when - now, timedelta(0)), LONGEST_WAIT)


def outcome(
    step: int,
    status_code: int | None,
    now: datetime,
    *,
    wait: timedelta | None = None,
    jitter: Callable[[], float] = random_jitter,
) -> Outcome:
    """The message's state after the attempt at ``step`` of the schedule got ``status_code``
    (``None``: no answer). ``wait``: the answer's ``Retry-After``, if any."""
    if status_code is not None and 200 <= status_code < 300:
        return Outcome("delivered", step + 1, None)
    if status_code == GONE:
        return Outcome(
            "failed",
            step + 1,
            None,
            disable="The receiver answered 410 Gone: the endpoint was turned off.",
        )
    following = step + 1
    if following >= len(SCHEDULE):
        return Outcome("failed", following, None)
    delay = SCHEDULE[following] * (1 + jitter())
    if wait is not None and status_code in _BACK_OFF:
        delay = max(delay, wait)
    return Outcome("pending", following, now + delay)
