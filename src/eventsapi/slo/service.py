"""The SLO engine of one worker process: flushes the recorder, evaluates alerts, reports.

Each worker of each replica runs one. Once a second it drains its :class:`Recorder` into
``/metrics``; every few seconds it adds the drained counts to the database
(``SLIStore.record_sli``), where every worker's and replica's counts for a minute add up;
once a minute, after every worker has had time to flush the minute that just ended, it
evaluates the alert policy for every SLO over the database's counts. A change of state is
stored once per ``(slo, rule, minute)`` (``add_alert_transition``), and only the worker that
stored it notifies (log and webhook), so N replicas announce a transition once.

The numbers (:meth:`SLOService.status`) come from the database too, so every replica and
``eventsapi slo status`` report the same values for the same minute.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import urllib.request
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final, Literal

import msgspec

from eventsapi.clock import Clock
from eventsapi.domain.sli import AlertTransition
from eventsapi.errors import StorageUnavailable
from eventsapi.slo.alerts import AlertEvaluation, evaluate_alerts
from eventsapi.slo.config import SLOConfig
from eventsapi.slo.math import burn_rates, error_budget, sli
from eventsapi.slo.prometheus import PrometheusExport
from eventsapi.slo.recorder import Counted, Recorder, sli_rows
from eventsapi.slo.series import slo_buckets
from eventsapi.slo.sla import SLAContract, SLAReport, sla_report
from eventsapi.slo.spec import CalendarWindow, SLOSpec
from eventsapi.slo.store import SLIStore
from eventsapi.slo.windows import (
    BURN_RATE_WINDOWS,
    MINUTE,
    Counts,
    MinuteBucket,
    floor_minute,
    window_bounds,
)
from eventsapi.slo.windows import window_counts as counts_between
from eventsapi.slo.wire import (
    SLOAlert,
    SLOAlertTransition,
    SLOCalendarWindow,
    SLOErrorBudget,
    SLOReport,
    SLORequests,
    SLORollingWindow,
    SLORoute,
    SLOState,
)

__all__ = ["BudgetPoint", "SLOService", "duration_label", "sla_reports"]

logger = logging.getLogger("eventsapi.slo")

SLOWindow = SLORollingWindow | SLOCalendarWindow

METRICS_EVERY: Final = 1.0
"""Seconds between drains of the recorder into /metrics (a scrape also drains first)."""
STORE_EVERY: Final = 5.0
"""Seconds between writes of the drained counts to the database."""
EVALUATE_AFTER: Final = timedelta(seconds=15)
"""How long after a minute ends its alerts are evaluated: every worker has flushed by then."""
STATUS_TTL: Final = 5.0
"""Seconds a computed status is reused (it changes once a minute, when a minute completes)."""
FINAL_FLUSH_TIMEOUT: Final = 5.0
"""Seconds a stopping worker waits to write its last counts."""
HISTORY_DAYS: Final = 100
MAX_PENDING_KEYS: Final = 100_000
"""Counts kept while the database is unreachable; beyond that the oldest minutes go."""

_encode = msgspec.json.Encoder().encode


class BudgetPoint(msgspec.Struct, frozen=True):
    """An SLO's error budget as its status would have said at ``at``: the share of the
    budget left (``None`` without traffic in the window; negative once overspent)."""

    at: datetime
    remaining: float | None
    total: int
    bad: int


def duration_label(length: timedelta) -> str:
    """``5m``, ``1h``, ``30d``: a whole number of the largest unit that divides it."""
    minutes = length // MINUTE
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def _window(slo: SLOSpec, start: datetime, end: datetime) -> SLOWindow:
    if isinstance(slo.window, CalendarWindow):
        return SLOCalendarWindow(period=slo.window.period, start=start, end=end)
    return SLORollingWindow(length=f"{slo.window.days}d", start=start, end=end)


def _routes(slo: SLOSpec) -> Literal["all"] | list[SLORoute]:
    if slo.routes == "all":
        return "all"
    return [SLORoute(route=r.template, methods=sorted(r.methods)) for r in slo.routes]


def _transition(transition: AlertTransition) -> SLOAlertTransition:
    return SLOAlertTransition(
        slo=transition.slo,
        alert=transition.rule,
        severity=transition.severity,
        state="firing" if transition.firing else "resolved",
        at=transition.at,
        long_burn_rate=transition.long_burn_rate,
        short_burn_rate=transition.short_burn_rate,
    )


def _merge(into: Counted, counted: Counted) -> None:
    for key, slot in counted.items():
        mine = into.get(key)
        if mine is None:
            into[key] = slot
        else:
            for index, value in enumerate(slot):
                mine[index] += value


class SLOService:
    """Recording, alerting and reporting for the SLOs of one worker process."""

    def __init__(
        self,
        store: SLIStore,
        clock: Clock,
        *,
        config: SLOConfig,
        error_statuses: frozenset[int],
        retention: timedelta,
        recorder: Recorder | None = None,
        export: PrometheusExport | None = None,
        post: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self.slos = config.slos
        self.policy = config.policy
        self.error_statuses = error_statuses
        self.retention = retention
        self.webhook = config.webhook
        self.recorder = recorder or Recorder(wall=lambda: clock().timestamp())
        self.export = export
        self._post = post or _post_json
        self._pending: Counted = {}
        self._firing: dict[tuple[str, str], bool] = {}
        self._status: tuple[float, SLOReport] | None = None
        self._histories: dict[tuple[str, int, timedelta], tuple[float, list[BudgetPoint]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._evaluated: datetime | None = None
        self._pruned: datetime | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, *, background: bool = True) -> None:
        """Load the alert states; with ``background``, start the once-a-second loop."""
        since = self.clock() - timedelta(days=HISTORY_DAYS)
        for transition in reversed(await self.store.alert_transitions(since, limit=10_000)):
            self._firing[(transition.slo, transition.rule)] = transition.firing
        if background:
            self._task = asyncio.create_task(self._run(), name="eventsapi-slo")

    async def stop(self) -> None:
        """Stop the loop and write what is counted (a clean stop loses no request)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            # Bounded: the last counts are worth a moment of the shutdown, not all of it.
            await asyncio.wait_for(self.flush(), FINAL_FLUSH_TIMEOUT)
        except (StorageUnavailable, TimeoutError) as exc:
            logger.warning("SLO counts of the last seconds not stored at stop: %r", exc)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_store = loop.time() + STORE_EVERY
        while True:
            await asyncio.sleep(METRICS_EVERY)
            try:
                self.flush_metrics()
                if loop.time() >= next_store:
                    next_store = loop.time() + STORE_EVERY
                    await self.flush()
                now = self.clock()
                due = floor_minute(now - EVALUATE_AFTER)
                if self._evaluated is None or due > self._evaluated:
                    self._evaluated = due
                    await self.evaluate(due)
                    await self._prune_daily(now)
            except StorageUnavailable as exc:
                logger.warning("SLO counts not stored yet (kept in memory): %s", exc)
            except Exception:  # a bug here must not stop recording for good
                logger.exception("the SLO loop failed; retrying in a second")

    # -- recording ---------------------------------------------------------------------

    def flush_metrics(self) -> None:
        """Drain the recorder into /metrics and into the counts waiting for the database."""
        counted = self.recorder.drain()
        if not counted:
            return
        if self.export is not None:
            self.export.add(counted)
        # The drained slots are fresh lists, so the pending dict may keep them.
        _merge(self._pending, counted)
        if len(self._pending) > MAX_PENDING_KEYS:
            for key in sorted(self._pending)[: len(self._pending) - MAX_PENDING_KEYS]:
                del self._pending[key]

    async def flush(self) -> None:
        """Write every count so far to the database (added to other workers' counts)."""
        self.flush_metrics()
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        try:
            await self.store.record_sli(sli_rows(pending.items(), self.error_statuses))
        except BaseException:
            _merge(self._pending, pending)  # not stored: try again with the next flush
            raise
        self._status = None
        self._histories.clear()

    async def _prune_daily(self, now: datetime) -> None:
        if self._pruned is None or now - self._pruned >= timedelta(days=1):
            self._pruned = now
            removed = await self.store.prune_sli(floor_minute(now) - self.retention)
            if removed:
                logger.info("pruned %d SLI rows older than %s days", removed, self.retention.days)

    # -- alerts ------------------------------------------------------------------------

    def _longest_alert_window(self) -> timedelta:
        return max((rule.long_window for rule in self.policy.rules), default=MINUTE)

    async def _evaluations(self, slo: SLOSpec, at: datetime) -> tuple[AlertEvaluation, ...]:
        minutes = await self.store.sli_minutes(at - self._longest_alert_window(), at, slo.routes)
        return evaluate_alerts(slo_buckets(slo, minutes), slo.target, at, self.policy)

    async def evaluate(self, now: datetime) -> list[AlertTransition]:
        """Evaluate every SLO's alerts at ``now``; store and announce the changes.

        Returns the transitions this call stored (those another replica stored first are
        taken as the state, not announced again).
        """
        at = floor_minute(now)
        announced = []
        for slo in self.slos:
            for evaluation in await self._evaluations(slo, at):
                key = (slo.name, evaluation.rule.name)
                if self._firing.get(key, False) == evaluation.firing:
                    continue
                transition = AlertTransition(
                    slo=slo.name,
                    rule=evaluation.rule.name,
                    severity=evaluation.rule.severity,
                    at=at,
                    firing=evaluation.firing,
                    long_burn_rate=evaluation.long_burn_rate,
                    short_burn_rate=evaluation.short_burn_rate,
                )
                self._firing[key] = evaluation.firing
                if await self.store.add_alert_transition(transition):
                    announced.append(transition)
                    await self._announce(transition, evaluation)
        if announced:
            self._status = None
        return announced

    async def _announce(self, transition: AlertTransition, evaluation: AlertEvaluation) -> None:
        rule = evaluation.rule
        windows = f"{duration_label(rule.long_window)}/{duration_label(rule.short_window)}"
        rates = f"{evaluation.long_burn_rate or 0:.2f}/{evaluation.short_burn_rate or 0:.2f}"
        if transition.firing:
            logger.warning(
                "SLO alert FIRING: %s %s (%s): burn rate %s over %s, threshold %g",
                transition.slo, rule.name, rule.severity, rates, windows, rule.burn_rate,
            )  # fmt: skip
        else:
            logger.warning(
                "SLO alert resolved: %s %s (%s): burn rate %s over %s",
                transition.slo, rule.name, rule.severity, rates, windows,
            )  # fmt: skip
        if self.webhook:
            notice = {"service": "eventsapi", **msgspec.structs.asdict(_transition(transition))}
            body = _encode(notice)
            try:
                await asyncio.to_thread(self._post, self.webhook, body)
            except Exception as exc:  # noqa: BLE001 - a dead webhook must not stop alerting
                # The reason is enough: a traceback of a refused connection is noise.
                logger.error("SLO alert webhook %s failed: %s", self.webhook, exc)  # noqa: TRY400

    # -- reporting ---------------------------------------------------------------------

    async def status(self) -> SLOReport:
        """Every SLO's numbers and alerts at the last completed minute, and the history."""
        loop = asyncio.get_running_loop()
        if self._status is not None and loop.time() - self._status[0] < STATUS_TTL:
            return self._status[1]
        now = self.clock()
        at = floor_minute(now)
        report = SLOReport(
            evaluated_at=at,
            slos=[await self._slo_status(slo, at) for slo in self.slos],
            history=[
                _transition(t)
                for t in await self.store.alert_transitions(at - timedelta(days=HISTORY_DAYS))
            ],
        )
        self._status = (loop.time(), report)
        return report

    async def budget_history(
        self, name: str, *, days: int = 30, step: timedelta = timedelta(hours=1)
    ) -> list[BudgetPoint]:
        """The burn-down of SLO ``name``: its budget left, every ``step`` over the last
        ``days`` up to the last completed minute (the last point is what :meth:`status`
        says now). Each point is the SLO's own window at that minute, so a rolling window
        reads up to ``days`` more of history (what retention still keeps)."""
        slo = self.config.slo(name)
        at = floor_minute(self.clock())
        # Up to twice the window's minutes are read: reused as the status is (a few
        # seconds, until this worker writes counts), however often the dashboard is loaded.
        loop = asyncio.get_running_loop()
        cached = self._histories.get((name, days, step))
        if cached is not None and cached[1][-1].at == at and loop.time() - cached[0] < STATUS_TTL:
            return cached[1]
        first = at - timedelta(days=days)
        points = [first + step * n for n in range((at - first) // step)] + [at]
        start = min(window_bounds(slo.window, point)[0] for point in points)
        buckets = slo_buckets(slo, await self.store.sli_minutes(start, at, slo.routes))
        sums = _prefix_sums(buckets)
        history = [_budget_point(slo, point, *sums) for point in points]
        self._histories[(name, days, step)] = (loop.time(), history)
        return history

    async def _slo_status(self, slo: SLOSpec, at: datetime) -> SLOState:
        start, end = window_bounds(slo.window, at)
        first = min(start, end - max(BURN_RATE_WINDOWS), end - self._longest_alert_window())
        buckets = slo_buckets(slo, await self.store.sli_minutes(first, end, slo.routes))
        counts = counts_between(buckets, start, end)
        budget = error_budget(counts, slo.target)
        rates = burn_rates(buckets, slo.target, at)
        evaluations = evaluate_alerts(buckets, slo.target, at, self.policy)
        return SLOState(
            name=slo.name,
            kind=slo.kind.value,
            target=slo.target,
            threshold_ms=slo.threshold_ms,
            window=_window(slo, start, end),
            routes=_routes(slo),
            sli=sli(counts),
            requests=SLORequests(total=counts.total, bad=counts.bad),
            error_budget=SLOErrorBudget(
                allowed_ratio=budget.allowed_error_ratio,
                total_requests=budget.budget_requests,
                consumed_requests=budget.consumed_requests,
                remaining_requests=budget.remaining_requests,
                consumed=budget.consumed_fraction,
                remaining=budget.remaining_fraction,
            ),
            burn_rates={duration_label(w): rate for w, rate in rates.items()},
            alerts=[
                SLOAlert(
                    name=e.rule.name,
                    severity=e.rule.severity,
                    firing=e.firing,
                    burn_rate_threshold=e.rule.burn_rate,
                    long_window=duration_label(e.rule.long_window),
                    short_window=duration_label(e.rule.short_window),
                    long_burn_rate=e.long_burn_rate,
                    short_burn_rate=e.short_burn_rate,
                    long_requests=e.long.total,
                    enough_traffic=e.traffic_ok,
                )
                for e in evaluations
            ],
        )


def _prefix_sums(
    buckets: Sequence[MinuteBucket],
) -> tuple[list[datetime], list[int], list[int]]:
    """Bucket starts, and running totals of requests and bad ones (one pass, then each
    window is a difference of two)."""
    starts, totals, bads = [], [0], [0]
    for bucket in buckets:
        starts.append(bucket.start)
        totals.append(totals[-1] + bucket.total)
        bads.append(bads[-1] + bucket.bad)
    return starts, totals, bads


def _budget_point(
    slo: SLOSpec,
    at: datetime,
    starts: list[datetime],
    totals: list[int],
    bads: list[int],
) -> BudgetPoint:
    start, end = window_bounds(slo.window, at)
    low, high = bisect.bisect_left(starts, start), bisect.bisect_left(starts, end)
    counts = Counts(totals[high] - totals[low], bads[high] - bads[low])
    budget = error_budget(counts, slo.target)
    return BudgetPoint(at, budget.remaining_fraction, counts.total, counts.bad)


async def sla_reports(
    store: SLIStore,
    config: SLOConfig,
    contracts: Sequence[SLAContract],
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[SLAReport]:
    """Each contract measured over ``[start, end)`` from the stored counts, as at ``now``."""
    reports = []
    for contract in contracts:
        measured = config.slo(contract.slo)
        minutes = await store.sli_minutes(start, end, measured.routes)
        reports.append(
            sla_report(contract, measured, slo_buckets(measured, minutes), start, end, now)
        )
    return reports


def _post_json(url: str, body: bytes) -> None:
    request = urllib.request.Request(  # noqa: S310 - the operator's configured http(s) URL
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        response.read()
