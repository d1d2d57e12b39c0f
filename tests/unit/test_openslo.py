"""OpenSLO v1 export and import (``eventsapi.slo.openslo``)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings

from eventsapi.errors import ConfigurationError
from eventsapi.slo.config import SLOConfig, default_config
from eventsapi.slo.openslo import config_from_openslo, from_openslo, to_openslo
from eventsapi.slo.spec import CalendarWindow, RollingWindow, RouteMatch, SLIKind, SLOSpec
from tests.unit.test_slo_config import configs

WRITES = SLOSpec(
    "writes",
    SLIKind.LATENCY,
    0.995,
    CalendarWindow("quarter"),
    (
        RouteMatch("/events", frozenset({"POST"})),
        RouteMatch("/events/{id}", frozenset({"PUT", "PATCH", "DELETE"})),
        RouteMatch("/events/import"),
    ),
    1000.0,
)
CUSTOM = SLOConfig(
    slos=(*default_config().slos, WRITES),
    descriptions={"writes": 'Writes within a second, "mostly"'},
)


def documents(text: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(text))


def ratio(document: dict[str, Any]) -> tuple[str, str]:
    metric = document["spec"]["indicator"]["spec"]["ratioMetric"]
    assert metric["counter"] is True
    return (
        metric["good"]["metricSource"]["spec"]["query"],
        metric["total"]["metricSource"]["spec"]["query"],
    )


def slo_document(text: str, name: str = "checkout", **spec: Any) -> str:
    """One OpenSLO SLO document in eventsapi's terms, with ``spec`` fields replaced."""
    document: dict[str, Any] = {
        "apiVersion": "openslo/v1",
        "kind": "SLO",
        "metadata": {"name": name, "displayName": "Checkout"},
        "spec": {
            "service": "shop",
            "indicator": {
                "metadata": {"name": "checkout-ok"},
                "spec": {
                    "ratioMetric": {
                        "counter": True,
                        "good": {"metricSource": {"type": "Prometheus", "spec": {"query": text}}},
                        "total": {
                            "metricSource": {
                                "type": "Prometheus",
                                "spec": {"query": "sum(eventsapi_http_requests_total)"},
                            }
                        },
                    }
                },
            },
            "timeWindow": [{"duration": "28d", "isRolling": True}],
            "budgetingMethod": "Occurrences",
            "objectives": [{"displayName": "ok", "target": 0.995}],
        },
    }
    for key, value in spec.items():
        if value is None:
            del document["spec"][key]
        else:
            document["spec"][key] = value
    return str(yaml.safe_dump(document, sort_keys=False))


GOOD = 'sum(eventsapi_http_requests_total{code!~"5.."})'


# --- export -------------------------------------------------------------------------------


def test_export_writes_a_service_then_one_slo_document_each() -> None:
    service, availability, latency, writes = documents(to_openslo(CUSTOM, service="events"))
    assert service == {
        "apiVersion": "openslo/v1",
        "kind": "Service",
        "metadata": {"name": "events"},
        "spec": {"description": "The eventsapi events REST API"},
    }
    for document, name in ((availability, "availability"), (latency, "latency")):
        assert document["apiVersion"] == "openslo/v1"
        assert document["kind"] == "SLO"
        assert document["metadata"] == {"name": name}
        assert document["spec"]["service"] == "events"
        assert document["spec"]["budgetingMethod"] == "Occurrences"
        assert document["spec"]["timeWindow"] == [{"duration": "30d", "isRolling": True}]
    assert availability["spec"]["objectives"] == [{"displayName": "availability", "target": 0.999}]
    assert ratio(availability) == (GOOD, "sum(eventsapi_http_requests_total)")
    assert ratio(latency) == (
        'sum(eventsapi_http_request_duration_seconds_bucket{le="0.3"})',
        "sum(eventsapi_http_request_duration_seconds_count)",
    )
    assert writes["spec"]["description"] == 'Writes within a second, "mostly"'
    assert writes["spec"]["timeWindow"] == [
        {
            "duration": "1Q",
            "isRolling": False,
            "calendar": {"startTime": "2020-01-01 00:00:00", "timeZone": "UTC"},
        }
    ]
    good, total = ratio(writes)
    assert good == (
        "sum("
        'eventsapi_http_request_duration_seconds_bucket{route="/events",method="POST",le="1.0"}'
        ' or eventsapi_http_request_duration_seconds_bucket{route="/events/{id}",'
        'method=~"DELETE|PATCH|PUT",le="1.0"}'
        ' or eventsapi_http_request_duration_seconds_bucket{route="/events/import",le="1.0"})'
    )
    assert total.startswith(
        'sum(eventsapi_http_request_duration_seconds_count{route="/events",method="POST"} or '
    )


def test_the_error_statuses_setting_decides_the_availability_query() -> None:
    text = to_openslo(default_config(), error_statuses=frozenset({429, *range(500, 600)}))
    assert ratio(documents(text)[1])[0] == ('sum(eventsapi_http_requests_total{code!~"429|5.."})')


def test_the_status_regex_is_the_rules_one() -> None:
    """One builder (``slo.promql``): ``50[2-4]`` here as in the rules, not ``502|503|504``."""
    text = to_openslo(default_config(), error_statuses=frozenset({429, 502, 503, 504}))
    assert ratio(documents(text)[1])[0] == 'sum(eventsapi_http_requests_total{code!~"429|50[2-4]"})'
    text = to_openslo(default_config(), error_statuses=frozenset(range(500, 550)))
    assert ratio(documents(text)[1])[0] == 'sum(eventsapi_http_requests_total{code!~"5[0-4]."})'


# --- import -------------------------------------------------------------------------------


def test_an_export_imports_back_to_the_same_slos_and_descriptions() -> None:
    text = to_openslo(CUSTOM)
    assert from_openslo(text) == CUSTOM.slos
    assert config_from_openslo(text) == CUSTOM


@settings(max_examples=100)
@given(configs())
def test_any_config_s_slos_round_trip(config: SLOConfig) -> None:
    if not config.slos:
        return  # nothing to export: import refuses a file without SLOs
    back = config_from_openslo(to_openslo(config))
    assert back.slos == config.slos
    assert back.descriptions == config.descriptions


def test_route_templates_with_escaped_characters_round_trip() -> None:
    """Quotes, backslashes and control characters, escaped as PromQL (Go) strings."""
    routes = tuple(
        RouteMatch(template, frozenset({"GET"}))
        for template in ('/a"b', "/a\\b", "/tab\there", "/cr\rlf\n", "/bell\x07", "/é{id}")
    )
    slo = SLOSpec("odd", SLIKind.AVAILABILITY, 0.99, RollingWindow(), routes)
    assert from_openslo(to_openslo(SLOConfig(slos=(slo,)))) == (slo,)


def test_no_error_status_is_every_request_good_and_reads_back() -> None:
    text = to_openslo(default_config(), error_statuses=frozenset())
    assert ratio(documents(text)[1])[0] == 'sum(eventsapi_http_requests_total{code!~""})'
    assert from_openslo(text, error_statuses=frozenset()) == default_config().slos


def test_import_reads_hand_written_documents() -> None:
    text = """\
- apiVersion: openslo/v1
  kind: Service
  metadata: {name: shop}
  spec: {description: The shop}
- apiVersion: openslo/v1
  kind: SLI
  metadata: {name: fast-reads}
  spec:
    ratioMetric:
      good:
        metricSource:
          metricSourceRef: prom
          spec:
            query: >-
              sum(eventsapi_http_request_duration_seconds_bucket{job="api", le="0.25",
              method=~"GET|HEAD", route="/events/{id}"})
      total:
        metricSource:
          metricSourceRef: prom
          spec:
            query: sum(eventsapi_http_request_duration_seconds_bucket{le="+Inf",
              route="/events/{id}",method=~"HEAD|GET",})
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: reads}
spec:
  description: Reads in 250 ms
  service: shop
  indicatorRef: fast-reads
  timeWindow:
    - duration: 1M
      calendar: {startTime: 2024-03-01 00:00:00, timeZone: Etc/UTC}
  budgetingMethod: Occurrences
  objectives:
    - targetPercent: 99.9
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: errors}
spec:
  service: shop
  indicator:
    metadata: {name: bad}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: prometheus
            spec: {query: 'sum(eventsapi_http_requests_total{code=~"5[0-9][0-9]"})'}
        total: {metricSource: {type: Prometheus, spec: {query: sum(eventsapi_http_requests_total)}}}
  timeWindow: [{duration: 4w, isRolling: true}]
  objectives: [{target: 0.99}]
"""
    config = config_from_openslo(text)
    assert config.slos == (
        SLOSpec(
            "reads",
            SLIKind.LATENCY,
            0.999,
            CalendarWindow("month"),
            (RouteMatch("/events/{id}", frozenset({"GET", "HEAD"})),),
            250.0,
        ),
        SLOSpec("errors", SLIKind.AVAILABILITY, 0.99, RollingWindow(28)),
    )
    assert config.descriptions == {"reads": "Reads in 250 ms"}
    assert config.contracts == ()


def test_the_import_follows_the_error_statuses_setting() -> None:
    text = to_openslo(default_config(), error_statuses=frozenset({429, *range(500, 600)}))
    assert from_openslo(text, error_statuses=frozenset({429, *range(500, 600)}))
    with pytest.raises(
        ConfigurationError, match=re.escape("counts the statuses '429|5..' as errors")
    ):
        from_openslo(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (slo_document(GOOD, budgetingMethod="Timeslices"), "Occurrences), not Timeslices"),
        (
            slo_document(GOOD, indicator={"spec": {"thresholdMetric": {}}}),
            "a ratioMetric SLI, not a thresholdMetric",
        ),
        (slo_document(GOOD, indicator=None), "spec.indicator (or indicatorRef) is needed"),
        (slo_document(GOOD, indicator=None, indicatorRef="nope"), "no SLI called 'nope'"),
        (
            slo_document(GOOD).replace("type: Prometheus", "type: Datadog", 1),
            "eventsapi reads Prometheus metrics, not Datadog",
        ),
        (
            slo_document("sum(http_requests_total)"),
            "eventsapi reads eventsapi_http_requests_total here, not http_requests_total",
        ),
        (
            slo_document('sum(rate(eventsapi_http_requests_total{code!~"5.."}[5m]))'),
            "eventsapi reads queries like sum(metric{labels})",
        ),
        (
            slo_document('sum(eventsapi_http_requests_total{code!~"4..|5.."})'),
            "counts the statuses '4..|5..' as errors, but eventsapi counts '5..'",
        ),
        (
            slo_document('sum(eventsapi_http_requests_total{code!~"5..",pod="a"})'),
            "has no label 'pod'",
        ),
        (
            slo_document('sum(eventsapi_http_requests_total{code!~"5..",route="/events"})'),
            "the good and total queries select different routes",
        ),
        (
            slo_document(
                'sum(eventsapi_http_request_duration_seconds_bucket{le="0.3"})',
            ).replace(
                "sum(eventsapi_http_requests_total)",
                "sum(eventsapi_http_request_duration_seconds_count)",
            ),
            "",  # this one is readable: checked below that it is not refused
        ),
        (
            slo_document(
                'sum(eventsapi_http_request_duration_seconds_bucket{le="0.35"})',
            ).replace(
                "sum(eventsapi_http_requests_total)",
                "sum(eventsapi_http_request_duration_seconds_count)",
            ),
            'le="0.35" is not one of the buckets',
        ),
        (
            slo_document(GOOD, timeWindow=[{"duration": "1M", "isRolling": True}]),
            "a rolling window of 1M is not whole days",
        ),
        (
            slo_document(
                GOOD,
                timeWindow=[
                    {
                        "duration": "1M",
                        "calendar": {"startTime": "2022-01-01 12:00:00", "timeZone": "UTC"},
                    }
                ],
            ),
            "months start at 00:00 on the first of a month",
        ),
        (
            slo_document(
                GOOD,
                timeWindow=[
                    {
                        "duration": "1Q",
                        "calendar": {
                            "startTime": "2022-01-01 00:00:00",
                            "timeZone": "Europe/Paris",
                        },
                    }
                ],
            ),
            "periods are in UTC, not Europe/Paris",
        ),
        (
            slo_document(GOOD, timeWindow=[{"duration": "1w", "isRolling": False}]),
            "a calendar window of 1w; eventsapi's are 1M and 1Q",
        ),
        (
            slo_document(GOOD, objectives=[{"target": 0.9}, {"target": 0.99}]),
            "exactly one objective per SLO",
        ),
        (slo_document(GOOD, objectives=[{"target": 1.5}]), "strictly between 0 and 1"),
        (slo_document(GOOD, name="Check_Out"), "'Check_Out' is not an SLO name"),
        (
            slo_document(GOOD).replace("openslo/v1", "openslo/v1alpha"),
            "apiVersion 'openslo/v1alpha'; eventsapi reads openslo/v1",
        ),
        (
            slo_document(GOOD).replace("kind: SLO", "kind: Composite"),
            "eventsapi does not read kind 'Composite'",
        ),
    ],
)
def test_a_foreign_slo_is_refused_naming_its_document(text: str, message: str) -> None:
    preface = "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: shop}\nspec: {}\n---\n"
    if not message:
        assert from_openslo(preface + text)[0].threshold_ms == 300
        return
    with pytest.raises(ConfigurationError) as caught:
        from_openslo(preface + text, "slos.yaml")
    assert str(caught.value).startswith("slos.yaml: document 2 (")
    assert message in str(caught.value)


def test_a_file_without_slos_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="no OpenSLO SLO document"):
        from_openslo("apiVersion: openslo/v1\nkind: Service\nmetadata: {name: shop}\n")


def test_two_slos_of_one_name_are_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"document 2 .* a second SLO called 'checkout'"):
        from_openslo(slo_document(GOOD) + "---\n" + slo_document(GOOD))


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="document 1 is not an OpenSLO object"):
        from_openslo("just text\n")
