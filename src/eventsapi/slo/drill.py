"""Fault-injection drills: a chosen share of requests fails or is slowed, on purpose.

Off by default (ratios 0). The selection is deterministic, not random: with a ratio of
1/20, exactly every 20th request is chosen (the running share never strays from the ratio
by more than one request), so a drill produces the same error ratio in every window and
``GET /slo``, ``/metrics`` and Prometheus agree to the request.
"""

from __future__ import annotations

from fractions import Fraction

import msgspec

from eventsapi.slo.spec import exact

__all__ = ["Drill"]


class _Share(msgspec.Struct):
    ratio: Fraction
    credit: Fraction = msgspec.field(default=Fraction(0))

    def take(self) -> bool:
        """Whether this request is one of the share (error diffusion: exact in the long run)."""
        if not self.ratio:
            return False
        self.credit += self.ratio
        if self.credit >= 1:
            self.credit -= 1
            return True
        return False


class Drill:
    """Which requests to fail (503) and which to delay, as the drill settings ask."""

    __slots__ = ("_fail", "_slow", "slow_seconds")

    def __init__(self, error_ratio: float, slow_ratio: float, slow_ms: int) -> None:
        if not (0 <= error_ratio <= 1 and 0 <= slow_ratio <= 1):
            raise ValueError("drill ratios are between 0 and 1")
        self._fail = _Share(exact(error_ratio))
        self._slow = _Share(exact(slow_ratio))
        self.slow_seconds = slow_ms / 1000

    @property
    def active(self) -> bool:
        """Whether the drill changes any request."""
        return bool(self._fail.ratio or self._slow.ratio)

    def fails(self) -> bool:
        """Whether to answer this request with an injected failure."""
        return self._fail.take()

    def delays(self) -> bool:
        """Whether to delay this request by :attr:`slow_seconds`."""
        return self._slow.take()

    def describe(self) -> str:
        """The drill in words, for the start-up warning and ``GET /slo``."""
        return (
            f"{float(self._fail.ratio):.2%} of API requests fail with 503, "
            f"{float(self._slow.ratio):.2%} are delayed by {self.slow_seconds * 1000:g} ms"
        )
