"""``GET /metrics``: the recorder's counts in Prometheus' exposition format.

The two metrics the generated rules (:mod:`eventsapi.slo.rules`) read:

- ``eventsapi_http_requests_total{route, method, code}``, a counter;
- ``eventsapi_http_request_duration_seconds{route, method}``, a histogram whose ``le``
  bounds are :data:`~eventsapi.domain.sli.LATENCY_BOUNDS_MS` in seconds;

and ``eventsapi_password_hashes_total{operation}``, a counter of argon2 computations
(``verify``: a password checked, an unknown user's dummy check included; ``hash``: a new
password hashed), so that an operator sees what a flood of logins costs.

With several worker processes (granian), ``prometheus_client``'s multiprocess mode keeps each
process's values in a file under ``PROMETHEUS_MULTIPROC_DIR`` (``eventsapi serve`` makes one)
and a scrape, whichever worker answers it, adds up every process's files. Without that
variable (tests, one process) the values live in this process's own registry.
"""

from __future__ import annotations

import os
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector

from eventsapi.domain.sli import LATENCY_BOUNDS_MS
from eventsapi.slo.recorder import Counted

__all__ = ["CONTENT_TYPE", "MULTIPROCESS_ENV", "PrometheusExport"]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"


class PrometheusExport:
    """This process's metrics, fed with drained recorder counts, and their exposition."""

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROCESS_ENV))
        if self.multiprocess:
            # prometheus_client picks where values live when it is first imported; the
            # `eventsapi` command imports it before `serve` sets the directory, and granian's
            # workers inherit that choice. Pick again, now that the directory is known.
            values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
        # In multiprocess mode the values live in files, not in a registry; registering
        # them too would expose this process's share twice.
        own = None if self.multiprocess else CollectorRegistry(auto_describe=True)
        self._registry = own
        self.requests = Counter(
            "eventsapi_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "code"],
            registry=own,
        )
        self.duration = Histogram(
            "eventsapi_http_request_duration_seconds",
            "Time from a request's arrival to its response, by route template and method.",
            ["route", "method"],
            buckets=[bound / 1000 for bound in LATENCY_BOUNDS_MS],
            registry=own,
        )

        self.password_hashes = Counter(
            "eventsapi_password_hashes",
            "Password hash computations (argon2id), by operation: verify or hash.",
            ["operation"],
            registry=own,
        )

    def count_password_hash(self, operation: str) -> None:
        """One argon2 computation (``verify`` or ``hash``)."""
        self.password_hashes.labels(operation).inc()

    def add(self, counted: Counted) -> None:
        """Add drained counts (see :class:`~eventsapi.slo.recorder.Recorder`)."""
        for (_, route, method, status), slot in counted.items():
            self.requests.labels(route, method, str(status)).inc(slot[0])
            child = self.duration.labels(route, method)
            # A batch of observations at once: prometheus_client has no public call for it
            # (observe() takes one), and observing request by request is what costs ~11 us
            # in multiprocess mode. The bucket and sum values are its own per-bucket counters
            # (not cumulative; it accumulates them when exposing); tests/unit/test_slo_recorder
            # checks the exposition equals that of observe() for the same durations.
            buckets = child._buckets
            for index, count in enumerate(slot[2:]):
                if count:
                    buckets[index].inc(count)
            child._sum.inc(slot[1])

    def exposition(self) -> bytes:
        """Every metric in the text exposition format (all worker processes' values)."""
        if self._registry is not None:
            return generate_latest(self._registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
