"""The generated Prometheus rules, run by ``promtool`` on synthetic series (issue 5).

A scenario is traffic per step (requests, and how many of them failed or were slow). It
becomes counter series for ``promtool test rules`` (the counter at step ``k`` holds the
requests of steps ``0 .. k-1``, as a scrape at the end of each step would) and
:class:`MinuteBucket`s for eventsapi's own math (step ``k`` is the bucket starting at step
``k``). With samples exactly at the window edges, Prometheus' ``increase(x[w])`` at step ``T``
is ``x(T) - x(T - w)``: the steps ``[T - w, T)``, the completed minutes eventsapi counts. So
the two must agree exactly: every expected alert and value below comes from eventsapi's
math, and each scenario also states by hand what the alert it is about must do.

promtool is required (``.ci/run`` installs Debian's ``prometheus``): without it these tests
fail rather than skip, since the rules would otherwise ship unchecked.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventsapi.slo.alerts import evaluate_alerts
from eventsapi.slo.config import format_duration
from eventsapi.slo.math import burn_rates, error_ratio_exact, slo_budget
from eventsapi.slo.rules import dump_yaml, prometheus_rules, sloth_id
from eventsapi.slo.spec import (
    DEFAULT_ALERT_POLICY,
    AlertPolicy,
    AlertRule,
    CalendarWindow,
    RollingWindow,
    RouteMatch,
    SLIKind,
    SLOSpec,
    default_slos,
    exact,
    selects,
)
from eventsapi.slo.windows import BURN_RATE_WINDOWS, MinuteBucket, counts_in_windows

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""promtool's time 0."""
SERVER_ERRORS = frozenset(range(500, 600))
AVAILABILITY, LATENCY = default_slos()
SLOS = {slo.name: slo for slo in (AVAILABILITY, LATENCY)}
POLICY = DEFAULT_ALERT_POLICY
ROUTE = 'route="/events/{id}",method="GET"'
REQUESTS = 10_000
"""Requests per step in the alert scenarios: 1.44 % of it is a whole number."""


def run_promtool(promtool: str, *args: str | Path) -> None:
    completed = subprocess.run(
        [promtool, *map(str, args)], capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def write_rules(directory: Path, slos: Sequence[SLOSpec] = (AVAILABILITY, LATENCY)) -> Path:
    path = directory / "rules.yml"
    path.write_text(dump_yaml(prometheus_rules(slos, POLICY, SERVER_ERRORS)))
    return path


def test_rule_file_for_the_defaults_passes_promtool_check(promtool: str, tmp_path: Path) -> None:
    run_promtool(promtool, "check", "rules", write_rules(tmp_path))


def test_rule_file_for_other_specs_passes_promtool_check(promtool: str, tmp_path: Path) -> None:
    """Routes, a calendar window, odd windows, one status, an alert-less policy's cousins."""
    slos = [
        SLOSpec(
            name="reads",
            kind=SLIKind.LATENCY,
            target=0.995,
            threshold_ms=1000,
            window=CalendarWindow("month"),
            routes=(
                RouteMatch("/events/{id}", frozenset({"GET", "HEAD"})),
                RouteMatch("/events", frozenset({"GET", "HEAD"})),
                RouteMatch("/events/{id}", frozenset({"DELETE"})),
            ),
        ),
        SLOSpec(name='we{{ird}} "name"', kind=SLIKind.AVAILABILITY, target=0.95),
        SLOSpec(name="weekly", kind=SLIKind.AVAILABILITY, target=0.9, window=RollingWindow(days=7)),
    ]
    policy = AlertPolicy(
        rules=(AlertRule("quick", "page", timedelta(minutes=90), timedelta(minutes=7), 2.5),),
        min_requests=0,
    )
    for statuses in (frozenset({503}), frozenset(), frozenset({429, *range(500, 600)})):
        path = tmp_path / "rules.yml"
        path.write_text(dump_yaml(prometheus_rules(slos, policy, statuses, service="events-api")))
        run_promtool(promtool, "check", "rules", path)


# --- scenarios ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """``steps`` consecutive steps of ``total`` requests each, ``bad`` of them bad."""

    steps: int
    total: int
    bad: int


def idle_steps(runs: Sequence[tuple[int, int]]) -> int:
    """The steps before the first increment of ``(steps, increment)`` runs."""
    idle = 0
    for steps, increment in runs:
        if increment:
            return idle
        idle += steps
    return idle


def counter(runs: Sequence[tuple[int, int]], idle: int = 0) -> str:
    """promtool's notation for a counter growing by ``increment`` for ``steps``, per run.

    Like a labelled prometheus_client metric, the series appears when it is first used: no
    sample for the first ``idle`` steps, then 0 (a real scrape would see it already
    counting; that undercount is Prometheus', not the rules'). ``idle`` must not go past the
    first increment.
    """
    assert idle <= idle_steps(runs)
    parts, value, skip = [f"_x{idle} 0" if idle else "0"], 0, idle
    for steps, increment in runs:
        steps, skip = steps - min(skip, steps), skip - min(skip, steps)
        if steps:
            parts.append(f"{value + increment}+{increment}x{steps - 1}")
            value += increment * steps
    return " ".join(parts)


@dataclass(frozen=True)
class Traffic:
    """Requests per step of ``step`` (promtool's ``interval``) from promtool's time 0."""

    step: timedelta
    runs: tuple[Run, ...]

    @property
    def steps(self) -> int:
        return sum(run.steps for run in self.runs)

    def at(self, steps: int) -> datetime:
        return EPOCH + steps * self.step

    def buckets(self) -> list[MinuteBucket]:
        buckets, start = [], 0
        for run in self.runs:
            for k in range(start, start + run.steps):
                buckets.append(MinuteBucket(self.at(k), run.total, run.bad))
            start += run.steps
        return buckets

    def _series(
        self, name: str, per_step: Callable[[Run], int], idle: int | None = None
    ) -> dict[str, str]:
        runs = [(r.steps, per_step(r)) for r in self.runs]
        return {"series": name, "values": counter(runs, idle_steps(runs) if idle is None else idle)}

    def availability_series(self) -> list[dict[str, str]]:
        """Bad requests split over 500 and 503, good ones over 200 and 404.

        A series that would stay 0 is left out (see :func:`counter`): no error, no series.
        """
        codes: dict[str, Callable[[Run], int]] = {
            "200": lambda r: (r.total - r.bad) - (r.total - r.bad) // 10,
            "404": lambda r: (r.total - r.bad) // 10,
            "500": lambda r: r.bad // 2,
            "503": lambda r: r.bad - r.bad // 2,
        }
        return [
            self._series(f'eventsapi_http_requests_total{{{ROUTE},code="{code}"}}', count)
            for code, count in codes.items()
            if any(count(run) for run in self.runs)
        ]

    def latency_series(self) -> list[dict[str, str]]:
        """A histogram whose 300 ms bucket holds the good requests; its neighbours do not.

        Its series all appear with the first request, as every bucket of a histogram does.
        """
        name = "eventsapi_http_request_duration_seconds"
        idle = idle_steps([(r.steps, r.total) for r in self.runs])
        buckets: dict[str, Callable[[Run], int]] = {
            "0.25": lambda r: (r.total - r.bad) // 2,
            "0.3": lambda r: r.total - r.bad,
            "0.4": lambda r: r.total - r.bad + r.bad // 2,
            "+Inf": lambda r: r.total,
        }
        series = [
            self._series(f'{name}_bucket{{{ROUTE},le="{le}"}}', count, idle)
            for le, count in buckets.items()
        ]
        return [*series, self._series(f"{name}_count{{{ROUTE}}}", lambda r: r.total, idle)]

    def series(self, slo: SLOSpec) -> list[dict[str, str]]:
        if slo.kind is SLIKind.AVAILABILITY:
            return self.availability_series()
        return self.latency_series()


def duration(length: timedelta) -> str:
    return f"{length // timedelta(minutes=1)}m"


def labels_text(name: str, labels: dict[str, str]) -> str:
    inner = ", ".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def slo_labels(slo: SLOSpec) -> dict[str, str]:
    return {"sloth_id": sloth_id(slo), "sloth_service": "eventsapi", "sloth_slo": slo.name}


def run_tests(
    promtool: str,
    directory: Path,
    slos: Sequence[SLOSpec],
    evaluation_interval: timedelta,
    groups: list[Any],
) -> None:
    write_rules(directory, slos)
    document = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": duration(evaluation_interval),
        "tests": groups,
    }
    path = directory / "tests.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    run_promtool(promtool, "test", "rules", path)


# --- alerts ---------------------------------------------------------------------------------


def humanize_percentage(value: float) -> str:
    """Prometheus' ``humanizePercentage``: Go's ``%.4g`` of ``value * 100``, then ``%``."""
    return f"{value * 100:.4g}%"


SHORT_RATIO = re.compile(
    r"\{\{ with query .*? \}\}\{\{ \. \| first \| value \| humanizePercentage \}\}\{\{ end \}\}"
)


def expected_annotations(slo: SLOSpec, rule: AlertRule, long: float, short: float) -> Any:
    """The rule's annotations as Prometheus expands them for these two error ratios."""
    groups = prometheus_rules([slo], POLICY, SERVER_ERRORS)["groups"]
    (alert,) = [r for r in groups[0]["rules"] if r.get("alert") == f"{slo.name}-{rule.name}"]
    annotations = dict(alert["annotations"])
    description = annotations["description"]
    description = description.replace(
        "{{ $value | humanizePercentage }}", humanize_percentage(long)
    )
    annotations["description"] = SHORT_RATIO.sub(humanize_percentage(short), description)
    assert "{{" not in annotations["description"] + annotations["summary"]
    return annotations


def alert_tests(slo: SLOSpec, traffic: Traffic, steps: int) -> list[dict[str, Any]]:
    """promtool's expectations for every alert of ``slo`` at ``steps``: eventsapi's verdicts."""
    tests = []
    for evaluation in evaluate_alerts(traffic.buckets(), slo.target, traffic.at(steps), POLICY):
        rule = evaluation.rule
        expected = []
        if evaluation.firing:
            long = float(error_ratio_exact(evaluation.long) or 0)
            short = float(error_ratio_exact(evaluation.short) or 0)
            labels = {**slo_labels(slo), "severity": rule.severity, "sloth_severity": rule.severity}
            annotations = expected_annotations(slo, rule, long, short)
            expected.append({"exp_labels": labels, "exp_annotations": annotations})
        tests.append(
            {
                "eval_time": duration(steps * traffic.step),
                "alertname": f"{slo.name}-{rule.name}",
                "exp_alerts": expected,
            }
        )
    return tests


@dataclass(frozen=True)
class Case:
    """A scenario for one alert rule and what that rule must do at each step checked."""

    name: str
    runs: tuple[Run, ...]
    checks: tuple[tuple[int, bool], ...] = field(default=())


STEPS = {
    "page-fast": timedelta(minutes=1),
    "page-slow": timedelta(minutes=10),
    "ticket-fast": timedelta(hours=1),
    "ticket-slow": timedelta(hours=2),
}
"""promtool's interval (and evaluation interval) per rule: at least two steps in the short
window, few in the long one, so promtool evaluates a few dozen times per scenario. Every
window an alert reads is either a multiple of the step or shorter than it (then it holds one
sample, and neither Prometheus nor eventsapi sees traffic in it): a window that cut a step in
two would make Prometheus extrapolate."""


def cases(slo: SLOSpec, rule: AlertRule, step: timedelta) -> list[Case]:
    """The scenarios table 5-8 asks of ``rule``: both windows at its factor or not, traffic."""
    long, short = rule.long_window // step, rule.short_window // step
    at_factor = exact(rule.burn_rate) * (1 - exact(slo.target)) * REQUESTS
    assert at_factor.denominator == 1, "pick REQUESTS so the threshold is whole requests"
    bad = int(at_factor)  # e.g. 144 of 10000 = 1.44 %, 14.4 x the 0.1 % budget
    guard = POLICY.min_requests
    return [
        Case("both windows at the factor", (Run(long, REQUESTS, bad),), ((long, True),)),
        Case("both windows just below", (Run(long, REQUESTS, bad - 1),), ((long, False),)),
        Case(
            "only the short window over (2x the factor, a sixth of it over the long one)",
            (Run(long - short, REQUESTS, 0), Run(short, REQUESTS, 2 * bad)),
            ((long, False),),
        ),
        Case(
            "only the long window over (the short one is clean)",
            (Run(long - short, REQUESTS, 2 * bad), Run(short, REQUESTS, 0)),
            ((long, False),),
        ),
        Case(
            "a burst of failures below the minimum traffic",
            (Run(long - 1, 0, 0), Run(1, guard - 1, guard - 1)),
            ((long, False),),
        ),
        Case(
            "a burst of failures at the minimum traffic",
            (Run(long - 1, 0, 0), Run(1, guard, guard)),
            ((long, True),),
        ),
        Case(
            "resolves once the short window is clean",
            (Run(long, REQUESTS, REQUESTS), Run(short, REQUESTS, 0)),
            ((long, True), (long + short - 1, True), (long + short, False)),
        ),
        Case(
            "resolves once the short window has no traffic",
            (Run(long, REQUESTS, REQUESTS), Run(short, 0, 0)),
            ((long, True), (long + short - 1, True), (long + short, False)),
        ),
    ]


@pytest.mark.parametrize("rule", POLICY.rules, ids=lambda rule: rule.name)
@pytest.mark.parametrize("slo", [AVAILABILITY, LATENCY], ids=lambda slo: slo.name)
def test_alerts_fire_and_resolve_as_eventsapi_decides(
    promtool: str, tmp_path: Path, slo: SLOSpec, rule: AlertRule
) -> None:
    step = STEPS[rule.name]
    groups = []
    for case in cases(slo, rule, step):
        traffic = Traffic(step, case.runs)
        alerts = []
        for steps, fires in case.checks:
            # The scenario's own claim, checked against eventsapi's math first ...
            evaluations = evaluate_alerts(traffic.buckets(), slo.target, traffic.at(steps), POLICY)
            verdict = {e.rule.name: e.firing for e in evaluations}
            assert verdict[rule.name] is fires, f"{case.name} at step {steps}: {verdict}"
            # ... then every alert of the SLO in Prometheus against that same math.
            alerts += alert_tests(slo, traffic, steps)
        groups.append(
            {
                "name": f"{slo.name} {rule.name}: {case.name}",
                "interval": duration(step),
                "input_series": traffic.series(slo),
                "alert_rule_test": alerts,
            }
        )
    run_tests(promtool, tmp_path, [slo], step, groups)


# --- recorded values ------------------------------------------------------------------------


RELATIVE = 1e-9


def close_to(expr: str, expected: float, labels: dict[str, str], scale: float) -> dict[str, Any]:
    """A promql test passing when ``expr`` is within ``RELATIVE x scale`` of ``expected``.

    promtool compares values exactly; a burn rate divides twice in floats (by the total,
    then by the budget) where eventsapi divides once, exactly, so they may differ in the last
    bit. ``<= bool`` turns "close enough" into 1, and a missing sample into no sample.
    """
    return {
        "expr": f"abs({expr} - {expected!r}) <= bool {RELATIVE * scale!r}",
        "exp_samples": [{"labels": labels_text("", labels), "value": 1}],
    }


def value_tests(slo: SLOSpec, traffic: Traffic, steps: int) -> list[dict[str, Any]]:
    """Every recorded value of ``slo`` at ``steps``, as eventsapi's math has it."""
    assert isinstance(slo.window, RollingWindow)
    buckets, now = traffic.buckets(), traffic.at(steps)
    windows = sorted({*BURN_RATE_WINDOWS, slo.window.length})
    counts = counts_in_windows(buckets, now, windows)
    labels = slo_labels(slo)
    selector = labels_text("", labels)
    tests: list[dict[str, Any]] = []
    for length in windows:
        name = f"slo:sli_error:ratio_rate{format_duration(length)}"
        ratio = error_ratio_exact(counts[length])
        window_labels = {**labels, "sloth_window": format_duration(length)}
        # A ratio of whole counts is one correctly rounded division in both: exactly equal.
        samples = (
            []
            if ratio is None
            else [{"labels": labels_text(name, window_labels), "value": float(ratio)}]
        )
        tests.append({"expr": f"{name}{selector}", "exp_samples": samples})

    first = labels | {"sloth_window": format_duration(windows[0])}
    period = labels | {"sloth_window": format_duration(slo.window.length)}
    current = burn_rates(buckets, slo.target, now, [windows[0]])[windows[0]]
    budget = slo_budget(slo, buckets, now)
    checks: list[tuple[str, float | None, dict[str, str], Callable[[float], float]]] = [
        ("slo:current_burn_rate:ratio", current, first, abs),
        ("slo:period_burn_rate:ratio", budget.consumed_fraction, period, abs),
        # What is left of the budget is a difference near 0; measure it against the budget.
        (
            "slo:period_error_budget_remaining:ratio",
            budget.remaining_fraction,
            period,
            lambda v: max(abs(v), 1.0),
        ),
    ]
    for name, value, sample_labels, scale in checks:
        if value is None:
            tests.append({"expr": f"{name}{selector}", "exp_samples": []})
        else:
            tests.append(close_to(f"{name}{selector}", value, sample_labels, scale(value)))
    meta = [
        ("slo:objective:ratio", slo.target),
        ("slo:error_budget:ratio", float(1 - exact(slo.target))),
        ("slo:time_period:days", float(slo.window.days)),
    ]
    for name, value in meta:
        sample = {"labels": labels_text(name, labels), "value": value}
        tests.append({"expr": f"{name}{selector}", "exp_samples": [sample]})
    for test in tests:
        test["eval_time"] = duration(steps * traffic.step)
    return tests


@dataclass(frozen=True)
class ValueScenario:
    """Traffic, the steps at which to compare every recorded value, and how often to record.

    Recording rules only need evaluating at the instants checked (every window is read from
    the raw counters, nothing accumulates between evaluations), so the evaluation interval
    is the largest that divides them all, which keeps promtool's work small.
    """

    traffic: Traffic
    checks: tuple[int, ...]
    evaluation_interval: timedelta


VALUE_SCENARIOS = {
    # Minutes: quiet and busy stretches, a pause without traffic (the short windows have no
    # ratio at step 45), a bad half hour. The error series appear only at step 20: before,
    # the availability ratio is 0, not absent.
    "minutes": ValueScenario(
        Traffic(
            timedelta(minutes=1),
            (
                Run(20, 1000, 0),
                Run(15, 3000, 7),
                Run(10, 0, 0),
                Run(30, 500, 250),
                Run(45, 2000, 3),
            ),
        ),
        (5, 20, 25, 40, 45, 50, 75, 100, 120),
        timedelta(minutes=5),
    ),
    # Hours, past 30 days: the bad first day leaves the 30-day window at day 31.
    "hours": ValueScenario(
        Traffic(
            timedelta(hours=1),
            (
                Run(24, 1000, 100),
                Run(24 * 29, 1200, 1),
                Run(18, 1200, 0),
                Run(6, 500, 50),
                Run(24, 800, 4),
            ),
        ),
        (24, 720, 744, 756, 768),
        timedelta(hours=12),
    ),
}


@pytest.mark.parametrize("name", VALUE_SCENARIOS)
def test_recorded_values_equal_eventsapi_math(promtool: str, tmp_path: Path, name: str) -> None:
    scenario = VALUE_SCENARIOS[name]
    traffic = scenario.traffic
    group = {
        "name": name,
        "interval": duration(traffic.step),
        "input_series": [*traffic.series(AVAILABILITY), *traffic.series(LATENCY)],
        "promql_expr_test": [
            test
            for slo in (AVAILABILITY, LATENCY)
            for steps in scenario.checks
            for test in value_tests(slo, traffic, steps)
        ],
    }
    run_tests(promtool, tmp_path, [AVAILABILITY, LATENCY], scenario.evaluation_interval, [group])


def test_route_selection_counts_the_selected_routes_once(promtool: str, tmp_path: Path) -> None:
    """Two methods sets (two selectors, or-ed), a route listed twice, look-alike routes.

    The error statuses are 500 and 502-504: 501 and 429 are not errors here.
    """
    slo = SLOSpec(
        name="reads",
        kind=SLIKind.AVAILABILITY,
        target=0.999,
        routes=(
            RouteMatch("/events/{id}", frozenset({"GET", "HEAD"})),
            RouteMatch("/events", frozenset({"GET", "HEAD"})),
            RouteMatch("/events/{id}", frozenset({"GET"})),
        ),
    )
    statuses = frozenset({500, 502, 503, 504})
    # (route, method, code): (requests per minute for 30 minutes, then for 30 more)
    series = {
        ("/events/{id}", "GET", "200"): (900, 400),
        ("/events/{id}", "GET", "503"): (10, 40),
        ("/events/{id}", "HEAD", "200"): (100, 100),
        ("/events/{id}", "HEAD", "500"): (0, 5),
        ("/events", "GET", "200"): (300, 600),
        ("/events", "GET", "501"): (3, 3),
        ("/events", "GET", "429"): (7, 0),
        ("/events", "GET", "502"): (1, 2),
        ("/events", "POST", "500"): (50, 50),
        ("/events/{id}", "DELETE", "503"): (20, 20),
        ("/events/{id}/tags", "GET", "500"): (30, 30),
        ("/events/{id}x", "GET", "500"): (30, 30),
    }
    step = timedelta(minutes=1)
    buckets = []
    for (route, method, code), (first, second) in series.items():
        if selects(slo.routes, route, method):
            bad = int(code) in statuses
            for k in range(60):
                total = first if k < 30 else second
                buckets.append(MinuteBucket(EPOCH + k * step, total, total if bad else 0))
    labels = slo_labels(slo)
    tests = []
    for steps in (5, 30, 45, 60):
        now = EPOCH + steps * step
        counts = counts_in_windows(buckets, now, BURN_RATE_WINDOWS)
        for length in BURN_RATE_WINDOWS[:3]:
            name = f"slo:sli_error:ratio_rate{format_duration(length)}"
            ratio = error_ratio_exact(counts[length])
            assert ratio is not None
            sample = labels | {"sloth_window": format_duration(length)}
            tests.append(
                {
                    "expr": f"{name}{labels_text('', labels)}",
                    "eval_time": duration(steps * step),
                    "exp_samples": [{"labels": labels_text(name, sample), "value": float(ratio)}],
                }
            )
    input_series = [
        {
            "series": "eventsapi_http_requests_total"
            f'{{route="{route}",method="{method}",code="{code}"}}',
            "values": counter([(30, first), (30, second)]),
        }
        for (route, method, code), (first, second) in series.items()
    ]
    (tmp_path / "rules.yml").write_text(dump_yaml(prometheus_rules([slo], POLICY, statuses)))
    document = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": input_series, "promql_expr_test": tests}],
    }
    path = tmp_path / "tests.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    run_promtool(promtool, "test", "rules", path)
