"""The Prometheus rule generator (``eventsapi.slo.rules``): the document.

What the rules compute is checked by promtool in ``tests/prometheus``; their PromQL pieces
(status regex, escaping, ``le``, route selection) in ``test_promql.py``; here, the shape of
the rule file and the PrometheusRule object.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from eventsapi.slo.rules import dump_yaml, prometheus_rule_object, prometheus_rules
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
)

SERVER_ERRORS = frozenset(range(500, 600))
AVAILABILITY, LATENCY = default_slos()


def rules_of(document: dict[str, Any], slo: str = "availability") -> list[dict[str, Any]]:
    (group,) = [g for g in document["groups"] if g["name"] == f"slo-eventsapi-{slo}"]
    rules: list[dict[str, Any]] = group["rules"]
    return rules


def rule(document: dict[str, Any], name: str, slo: str = "availability") -> dict[str, Any]:
    (found,) = [r for r in rules_of(document, slo) if name in (r.get("record"), r.get("alert"))]
    return found


def defaults() -> dict[str, Any]:
    return prometheus_rules(default_slos(), DEFAULT_ALERT_POLICY, SERVER_ERRORS)


# --- the rule file --------------------------------------------------------------------------

WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]


def test_each_slo_is_one_group_of_sloth_named_rules() -> None:
    document = defaults()
    assert [g["name"] for g in document["groups"]] == [
        "slo-eventsapi-availability",
        "slo-eventsapi-latency",
    ]
    for slo in ("availability", "latency"):
        names = [r.get("record") or r.get("alert") for r in rules_of(document, slo)]
        assert names == [
            *(f"slo:sli_error:ratio_rate{w}" for w in WINDOWS),
            "slo:objective:ratio",
            "slo:error_budget:ratio",
            "slo:current_burn_rate:ratio",
            "slo:time_period:days",
            "slo:period_burn_rate:ratio",
            "slo:period_error_budget_remaining:ratio",
            "sloth_slo_info",
            *(f"{slo}-{name}" for name in ("page-fast", "page-slow", "ticket-fast", "ticket-slow")),
        ]
        sloth = {"sloth_id": f"eventsapi-{slo}", "sloth_service": "eventsapi", "sloth_slo": slo}
        for r in rules_of(document, slo):
            if "record" in r:
                window = r["record"].removeprefix("slo:sli_error:ratio_rate")
                extra = {"sloth_window": window} if window in WINDOWS else {}
                assert r["labels"] == sloth | extra


def test_every_window_is_request_weighted_from_the_raw_counters() -> None:
    """Not Sloth's average of 5-minute ratios (Sloth issue 332)."""
    document = defaults()
    for window in WINDOWS:
        expr = rule(document, f"slo:sli_error:ratio_rate{window}")["expr"]
        assert expr == (
            f'(sum(increase(eventsapi_http_requests_total{{code=~"5.."}}[{window}])) '
            "or vector(0))\n"
            "/\n"
            f"(sum(increase(eventsapi_http_requests_total[{window}])) > 0)\n"
        )
        latency = rule(document, f"slo:sli_error:ratio_rate{window}", "latency")["expr"]
        assert f'eventsapi_http_request_duration_seconds_bucket{{le="0.3"}}[{window}]' in latency
        assert f"eventsapi_http_request_duration_seconds_count[{window}]" in latency
        assert "_over_time" not in expr + latency


def test_targets_and_budgets_are_the_decimals_written() -> None:
    document = defaults()
    assert rule(document, "slo:objective:ratio")["expr"] == "vector(0.999)"
    assert rule(document, "slo:error_budget:ratio")["expr"] == "vector(0.001)"
    assert rule(document, "slo:error_budget:ratio", "latency")["expr"] == "vector(0.01)"
    assert rule(document, "slo:time_period:days")["expr"] == "vector(30)"


@pytest.mark.parametrize(
    ("slo", "alert", "threshold", "long", "short"),
    [
        ("availability", "page-fast", "0.0144", "1h", "5m"),
        ("availability", "page-slow", "0.006", "6h", "30m"),
        ("availability", "ticket-fast", "0.003", "1d", "2h"),
        ("availability", "ticket-slow", "0.001", "3d", "6h"),
        ("latency", "page-fast", "0.144", "1h", "5m"),
        ("latency", "ticket-slow", "0.01", "3d", "6h"),
    ],
)
def test_alerts_compare_both_windows_with_at_least_and_guard_the_traffic(
    slo: str, alert: str, threshold: str, long: str, short: str
) -> None:
    found = rule(defaults(), f"{slo}-{alert}", slo)
    expr = found["expr"]
    assert f"slo:sli_error:ratio_rate{long}{{" in expr
    assert f"slo:sli_error:ratio_rate{short}{{" in expr
    assert expr.count(f">= {threshold}\n") == 2
    total = (
        "eventsapi_http_requests_total"
        if slo == "availability"
        else "eventsapi_http_request_duration_seconds_count"
    )
    assert expr.endswith(f"and on ()\n(sum(increase({total}[{long}])) >= 100)\n")
    severity = alert.split("-")[0]
    assert found["labels"] == {"severity": severity, "sloth_severity": severity}
    assert "for" not in found
    assert set(found["annotations"]) == {"summary", "description"}


def test_no_traffic_guard_when_min_requests_is_zero() -> None:
    policy = AlertPolicy(DEFAULT_ALERT_POLICY.rules, min_requests=0)
    document = prometheus_rules([AVAILABILITY], policy, SERVER_ERRORS)
    assert "and on ()" not in rule(document, "availability-page-fast")["expr"]


def test_windows_of_custom_alert_rules_and_slo_windows_are_recorded() -> None:
    policy = AlertPolicy(
        (AlertRule("quick", "page", timedelta(minutes=90), timedelta(minutes=15), 2),)
    )
    weekly = SLOSpec("weekly", SLIKind.AVAILABILITY, 0.99, window=RollingWindow(days=7))
    document = prometheus_rules([weekly], policy, SERVER_ERRORS)
    records = [r["record"] for r in rules_of(document, "weekly") if "record" in r]
    windows = ["5m", "15m", "30m", "1h", "90m", "2h", "6h", "1d", "3d", "7d"]
    assert records[: len(windows)] == [f"slo:sli_error:ratio_rate{w}" for w in windows]
    assert rule(document, "slo:time_period:days", "weekly")["expr"] == "vector(7)"
    assert "ratio_rate7d{" in rule(document, "slo:period_burn_rate:ratio", "weekly")["expr"]
    quick = rule(document, "weekly-quick", "weekly")["expr"]
    assert "ratio_rate90m{" in quick
    assert "ratio_rate15m{" in quick
    assert ">= 0.02\n" in quick


def test_a_calendar_window_has_burn_rates_but_no_period_rules() -> None:
    monthly = SLOSpec("monthly", SLIKind.AVAILABILITY, 0.999, window=CalendarWindow("month"))
    document = prometheus_rules([monthly], DEFAULT_ALERT_POLICY, SERVER_ERRORS)
    names = {str(r.get("record") or r.get("alert")) for r in rules_of(document, "monthly")}
    assert "slo:current_burn_rate:ratio" in names
    assert "monthly-page-fast" in names
    assert not {n for n in names if "period" in n or n.endswith("30d")}


@pytest.mark.parametrize(
    ("statuses", "errors"),
    [
        (frozenset({503}), 'eventsapi_http_requests_total{code="503"}[5m]'),
        (frozenset({429, *range(500, 600)}), 'eventsapi_http_requests_total{code=~"429|5.."}[5m]'),
        (frozenset(), "vector(0)\n/"),
    ],
)
def test_error_statuses_select_the_failed_requests(statuses: frozenset[int], errors: str) -> None:
    document = prometheus_rules([AVAILABILITY], DEFAULT_ALERT_POLICY, statuses)
    assert errors in rule(document, "slo:sli_error:ratio_rate5m")["expr"]


def test_routes_and_selector_restrict_every_metric_read() -> None:
    slo = SLOSpec(
        "reads",
        SLIKind.LATENCY,
        0.99,
        threshold_ms=250,
        routes=(
            RouteMatch("/events/{id}", frozenset({"GET"})),
            RouteMatch("/events", frozenset({"POST"})),
        ),
    )
    document = prometheus_rules(
        [slo], DEFAULT_ALERT_POLICY, SERVER_ERRORS, selector='{job="eventsapi"}'
    )
    expr = rule(document, "slo:sli_error:ratio_rate1h", "reads")["expr"]
    first = 'route="/events/{id}",method="GET",job="eventsapi"'
    second = 'route="/events",method="POST",job="eventsapi"'
    count = "eventsapi_http_request_duration_seconds_count"
    assert f"sum(increase({count}{{{first}}}[1h]) or increase({count}{{{second}}}[1h]))" in expr
    bucket = "eventsapi_http_request_duration_seconds_bucket"
    assert f'increase({bucket}{{{second},le="0.25"}}[1h])' in expr
    for rule_ in rules_of(document, "reads"):
        assert rule_["expr"].count("increase(") == rule_["expr"].count('job="eventsapi"')


def test_slo_names_are_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        prometheus_rules([AVAILABILITY, AVAILABILITY], DEFAULT_ALERT_POLICY, SERVER_ERRORS)


def test_names_are_literal_text_in_annotations() -> None:
    odd = SLOSpec("{{ .Labels }}", SLIKind.AVAILABILITY, 0.999)
    document = prometheus_rules([odd], DEFAULT_ALERT_POLICY, SERVER_ERRORS, service="svc")
    (group,) = document["groups"]
    annotations = group["rules"][-1]["annotations"]
    assert annotations["summary"].startswith('{{ "svc {{ .Labels }} SLO: ')
    assert annotations["description"].startswith('{{ "svc {{ .Labels }}: over the last 3d," }}')


# --- YAML and Kubernetes --------------------------------------------------------------------


def test_the_rendered_file_is_the_document() -> None:
    text = dump_yaml(prometheus_rules(default_slos(), DEFAULT_ALERT_POLICY, SERVER_ERRORS))
    assert text.startswith("# Generated by eventsapi")
    assert yaml.safe_load(text) == defaults()
    assert "    expr: |\n      (sum(increase(eventsapi_http_requests_total" in text


def test_prometheus_rule_object_wraps_the_groups() -> None:
    manifest = prometheus_rule_object(
        default_slos(),
        DEFAULT_ALERT_POLICY,
        SERVER_ERRORS,
        namespace="prod",
        labels={"release": "prometheus"},
    )
    assert manifest == {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "eventsapi-slos",
            "namespace": "prod",
            "labels": {"app.kubernetes.io/name": "eventsapi", "release": "prometheus"},
        },
        "spec": defaults(),
    }
    text = dump_yaml(
        prometheus_rule_object(default_slos(), DEFAULT_ALERT_POLICY, SERVER_ERRORS, name="events")
    )
    loaded = yaml.safe_load(text)
    assert loaded["metadata"] == {
        "name": "events",
        "labels": {"app.kubernetes.io/name": "eventsapi"},
    }
    assert loaded["spec"] == defaults()
