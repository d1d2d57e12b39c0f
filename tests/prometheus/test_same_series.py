"""An SLO exported to OpenSLO and the generated rules select the same series (issue 14).

Both are built with ``eventsapi.slo.promql``, but one groups routes by their methods
(``route=~"/a|/b"``) and selects the errors (``code=~``), the other writes a selector per
route and selects the good requests (``code!~``). So a real Prometheus (promtool's engine)
evaluates the selections of both documents, as generated, against one set of series, and
each matched label set is compared with the other document's and with the series that
eventsapi itself counts for the SLO (:func:`~eventsapi.slo.spec.selects`).

A selection becomes comparable by ``(...) * 0 + 1``: the metric name goes (a bucket and a
count are other metrics than the requests) and every value is 1, so only labels are left.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventsapi.slo.config import SLOConfig
from eventsapi.slo.openslo import to_openslo
from eventsapi.slo.promql import le_label
from eventsapi.slo.rules import prometheus_rules
from eventsapi.slo.spec import (
    DEFAULT_ALERT_POLICY,
    RouteMatch,
    SLIKind,
    SLOSpec,
    selects,
)
from tests.prometheus.test_rules import run_promtool

ROUTES = [
    "/events",
    "/events/{id}",
    "/events/{id}x",
    "/events/7",
    "/a.b+c(d)|[e]",
    "/aXb+c(d)|[e]",
    "/v1.0/events",
    "/v1x0/events",
    '/q"uote\\',
    "/healthz",
]
"""Templates with regex metacharacters, quotes and a backslash, and routes that look like them."""
METHODS = ["GET", "HEAD", "POST", "DELETE"]
CODES = ["200", "404", "429", "500", "501", "502", "503", "504", "599"]
BUCKETS = ["0.3", "1.0", "+Inf"]
REQUESTS = "eventsapi_http_requests_total"
DURATION = "eventsapi_http_request_duration_seconds"

SOME_ROUTES = (
    RouteMatch("/events/{id}", frozenset({"GET", "HEAD"})),
    RouteMatch("/events", frozenset({"GET", "HEAD"})),
    RouteMatch("/v1.0/events", frozenset({"GET", "HEAD"})),
    RouteMatch("/events/{id}", frozenset({"GET"})),  # selected twice, counted once
    RouteMatch("/a.b+c(d)|[e]"),
    RouteMatch('/q"uote\\'),
    RouteMatch("/events", frozenset({"POST", "DELETE"})),
    RouteMatch('/q"uote\\', frozenset({"POST", "DELETE"})),
)
SLOS = [
    SLOSpec("every-route", SLIKind.AVAILABILITY, 0.999),
    SLOSpec("some-routes", SLIKind.AVAILABILITY, 0.99, routes=SOME_ROUTES),
    SLOSpec("fast", SLIKind.LATENCY, 0.99, threshold_ms=300.0),
    SLOSpec("fast-some", SLIKind.LATENCY, 0.99, routes=SOME_ROUTES, threshold_ms=1000.0),
]
STATUSES = [
    frozenset(range(500, 600)),
    frozenset({500, 502, 503, 504}),  # 50[02-4], once written 500|502|503|504 in OpenSLO
    frozenset({503}),
    frozenset({429, *range(500, 600)}),
    frozenset(),
]

Labels = frozenset[tuple[str, str]]


def series_labels() -> dict[str, list[dict[str, str]]]:
    """Every series of the three metrics the SLOs read, by metric."""
    return {
        REQUESTS: [
            {"route": r, "method": m, "code": c} for r in ROUTES for m in METHODS for c in CODES
        ],
        f"{DURATION}_bucket": [
            {"route": r, "method": m, "le": le} for r in ROUTES for m in METHODS for le in BUCKETS
        ],
        f"{DURATION}_count": [{"route": r, "method": m} for r in ROUTES for m in METHODS],
    }


def labels_text(labels: dict[str, str] | Labels) -> str:
    inner = ",".join(f"{key}={json.dumps(value)}" for key, value in sorted(dict(labels).items()))
    return f"{{{inner}}}"


def selected(metric: str, slo: SLOSpec, keep: Any = lambda labels: True) -> set[Labels]:
    """The label sets of ``metric`` that eventsapi counts for ``slo`` (and ``keep`` keeps)."""
    return {
        frozenset(labels.items())
        for labels in series_labels()[metric]
        if selects(slo.routes, labels["route"], labels["method"]) and keep(labels)
    }


def inside_sum(query: str) -> str:
    """``A or B`` of an OpenSLO query ``sum(A or B)``."""
    assert re.fullmatch(r"sum\(.*\)", query), query
    return query[len("sum(") : -1]


def openslo_queries(slo: SLOSpec, statuses: frozenset[int]) -> tuple[str, str]:
    """The good and total selections of ``slo`` as ``eventsapi slo export --openslo`` writes."""
    _, document = yaml.safe_load_all(to_openslo(SLOConfig(slos=(slo,)), error_statuses=statuses))
    ratio = document["spec"]["indicator"]["spec"]["ratioMetric"]
    good, total = (ratio[role]["metricSource"]["spec"]["query"] for role in ("good", "total"))
    return inside_sum(good), inside_sum(total)


_SUM_OF_INCREASES = re.compile(r"sum\((increase\(.*?\[5m\]\)(?: or increase\(.*?\[5m\]\))*)\)")


def rules_selections(slo: SLOSpec, statuses: frozenset[int]) -> dict[str, str]:
    """The selections in the generated 5-minute error ratio: total, bad (errors) or within
    (the threshold's bucket), each ``increase(A[5m]) or increase(B[5m])``."""
    (group,) = prometheus_rules([slo], DEFAULT_ALERT_POLICY, statuses)["groups"]
    (expr,) = [r["expr"] for r in group["rules"] if r.get("record") == "slo:sli_error:ratio_rate5m"]
    found: dict[str, set[str]] = {}
    for body in _SUM_OF_INCREASES.findall(expr):
        role = "within" if "_bucket{" in body else "bad" if "code" in body else "total"
        found.setdefault(role, set()).add(body)
    assert all(len(bodies) == 1 for bodies in found.values()), found
    return {role: bodies.pop() for role, bodies in found.items()}


def same(expr: str, expected: Iterable[Labels]) -> dict[str, Any]:
    """A promtool test: ``expr``'s label sets are exactly ``expected``."""
    return {
        "expr": f"({expr}) * 0 + 1",
        "eval_time": "30m",
        "exp_samples": [{"labels": labels_text(labels), "value": 1} for labels in expected],
    }


def none(expr: str) -> dict[str, Any]:
    """A promtool test: ``expr`` selects nothing."""
    return {"expr": expr, "eval_time": "30m", "exp_samples": []}


def checks_for(slo: SLOSpec, statuses: frozenset[int]) -> list[dict[str, Any]]:
    good, total = openslo_queries(slo, statuses)
    rules = rules_selections(slo, statuses)
    ours = rules["total"]
    if slo.kind is SLIKind.AVAILABILITY:
        everything = selected(REQUESTS, slo)
        errors = selected(REQUESTS, slo, lambda labels: int(labels["code"]) in statuses)
        checks = [same(total, everything), same(ours, everything), same(good, everything - errors)]
        if statuses:
            bad = rules["bad"]
            assert errors, "the series hold errors of these statuses"
            checks += [
                same(bad, errors),
                # Straight from Prometheus: OpenSLO's good and the rules' bad split the total.
                none(f"({good}) and ({bad})"),
                none(f"({ours}) unless ({good}) unless ({bad})"),
            ]
        else:
            assert "bad" not in rules, "no status is an error: the rules count none"
            checks.append(none(f"({ours}) unless ({good})"))
    else:
        assert slo.threshold_ms is not None
        le = le_label(slo.threshold_ms)
        everything = selected(f"{DURATION}_count", slo)
        fast = selected(f"{DURATION}_bucket", slo, lambda labels: labels["le"] == le)
        within = rules["within"]
        checks = [
            same(total, everything),
            same(ours, everything),
            same(good, fast),
            same(within, fast),
            none(f"({good}) unless ({within})"),
            none(f"({within}) unless ({good})"),
        ]
    assert everything, "the SLO selects some of the series"
    return [
        *checks,
        # Straight from Prometheus: the two totals are the same series.
        none(f"({total}) unless ({ours})"),
        none(f"({ours}) unless ({total})"),
    ]


@pytest.mark.parametrize("statuses", STATUSES, ids=lambda s: ",".join(map(str, sorted(s))))
def test_openslo_and_the_rules_select_the_same_series(
    promtool: str, tmp_path: Path, statuses: frozenset[int]
) -> None:
    input_series = [
        {"series": f"{metric}{labels_text(labels)}", "values": "0+10x60"}
        for metric, all_labels in series_labels().items()
        for labels in all_labels
    ]
    document = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": input_series,
                "promql_expr_test": [test for slo in SLOS for test in checks_for(slo, statuses)],
            }
        ],
    }
    path = tmp_path / "tests.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    run_promtool(promtool, "test", "rules", path)
