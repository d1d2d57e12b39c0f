"""The Grafana dashboard ``deploy/grafana/eventsapi-slo.json`` is importable as it is.

What Grafana's "Import dashboard" needs: valid JSON with a uid and a title, and a data source
input (``DS_PROMETHEUS``) that every panel, query and variable refers to, so the import asks
for the Prometheus and no uid of someone else's data source is baked in. Panels have unique
ids and fit the 24-column grid without overlapping. Every query parses as PromQL (promtool)
and reads only series that ``eventsapi slo rules`` records or ``/metrics`` exposes, with the
burn-rate windows eventsapi reports. That each query returns data from a real Prometheus is
``tests/slo/test_prometheus_e2e.py``'s part.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventsapi.slo.config import default_config, format_duration
from eventsapi.slo.promql import DURATION_METRIC, REQUESTS_METRIC
from eventsapi.slo.rules import prometheus_rules
from eventsapi.slo.windows import BURN_RATE_WINDOWS
from tests.slo import grafana

DASHBOARD = grafana.load()
SERVER_ERRORS = frozenset(range(500, 600))
WINDOWS = [format_duration(window) for window in BURN_RATE_WINDOWS]
SAMPLE_VALUES = {"service": ["eventsapi"], "slo": ["availability", "latency"], "job": ["eventsapi"]}


def _generated_rules() -> list[dict[str, Any]]:
    config = default_config()
    groups = prometheus_rules(config.slos, config.policy, SERVER_ERRORS)["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _exprs() -> list[str]:
    return [target["expr"] for _, target in grafana.targets(DASHBOARD)]


def test_it_is_an_importable_dashboard() -> None:
    assert DASHBOARD["uid"] == "eventsapi-slo"
    assert DASHBOARD["title"]
    assert DASHBOARD["id"] is None  # Grafana assigns its own at import
    assert isinstance(DASHBOARD["schemaVersion"], int)
    assert DASHBOARD["schemaVersion"] >= 36  # data sources as {type, uid}
    [source] = DASHBOARD["__inputs"]
    assert source["name"] == "DS_PROMETHEUS"
    assert (source["type"], source["pluginId"]) == ("datasource", "prometheus")
    required = {(r["type"], r["id"]) for r in DASHBOARD["__requires"]}
    used = {("panel", panel["type"]) for panel in grafana.panels(DASHBOARD)}
    assert used - {("panel", "row")} <= required
    assert ("datasource", "prometheus") in required


def _uids(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [value for key, value in node.items() if key == "uid" and isinstance(value, str)]
        return found + [uid for value in node.values() for uid in _uids(value)]
    if isinstance(node, list):
        return [uid for value in node for uid in _uids(value)]
    return []


def test_every_query_uses_the_data_source_chosen_at_import() -> None:
    for panel in grafana.panels(DASHBOARD):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == grafana.DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == grafana.DATASOURCE, (panel["title"], target)
    for variable in grafana.variables(DASHBOARD):
        assert variable["datasource"] == grafana.DATASOURCE, variable["name"]
    # No other data source's uid anywhere: the built-in annotations' is Grafana's own.
    assert set(_uids({k: v for k, v in DASHBOARD.items() if k != "uid"})) == {
        "${DS_PROMETHEUS}",
        "-- Grafana --",
    }


def test_panels_have_unique_ids_and_fit_the_grid() -> None:
    every = list(grafana.panels(DASHBOARD))
    ids = [panel["id"] for panel in every]
    assert len(set(ids)) == len(ids)
    refs = [(panel["id"], target["refId"]) for panel, target in grafana.targets(DASHBOARD)]
    assert len(set(refs)) == len(refs)
    cells: dict[tuple[int, int], str] = {}
    for panel in every:
        grid = panel["gridPos"]
        assert min(grid["w"], grid["h"]) >= 1, panel["title"]
        assert min(grid["x"], grid["y"]) >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, (panel["title"], cells.get((x, y)))
                cells[(x, y)] = panel["title"]


def test_variables_come_from_the_series_the_rules_record() -> None:
    names = [variable["name"] for variable in grafana.variables(DASHBOARD)]
    assert names == ["service", "slo", "job"]
    records = {rule.get("record") for rule in _generated_rules()}
    labels = {"service": "sloth_service", "slo": "sloth_slo", "job": "job"}
    for variable in grafana.variables(DASHBOARD):
        selector, label = grafana.label_values(variable)
        assert label == labels[variable["name"]]
        metric = selector.split("{")[0]
        assert metric in records | {REQUESTS_METRIC}, variable["name"]
    used = {
        match
        for text in [*_exprs(), *(v["definition"] for v in grafana.variables(DASHBOARD))]
        for match in re.findall(r"\$\{?(\w+)", text)
    }
    assert used == {*names, "__rate_interval"}


def test_queries_read_only_series_that_exist() -> None:
    records = {rule["record"] for rule in _generated_rules() if "record" in rule}
    exposed = {REQUESTS_METRIC, f"{DURATION_METRIC}_bucket", "ALERTS"}
    text = "\n".join(_exprs())
    for name in re.findall(r"slo:[\w:]+(?![\w:(])", text):
        assert name in records, name
    for name in re.findall(r"\b(eventsapi_\w+|ALERTS)\b", text):
        assert name in exposed, name


def test_burn_rates_are_shown_for_every_window_eventsapi_reports() -> None:
    by_window = next(p for p in grafana.panels(DASHBOARD) if p["title"] == "Burn rate by window")
    shown = [re.findall(r"ratio_rate(\w+)", t["expr"])[0] for t in by_window["targets"]]
    assert shown == WINDOWS
    over_time = next(p for p in grafana.panels(DASHBOARD) if p["title"] == "Burn rates over time")
    [target] = over_time["targets"]
    [alternatives] = re.findall(r"ratio_rate\(([^)]*)\)", target["expr"])
    assert alternatives.split("|") == WINDOWS


def test_every_query_parses(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: apt-get install prometheus (.ci/run does)")
    exprs = [grafana.fill(expr, SAMPLE_VALUES) for expr in _exprs()]
    exprs += [
        grafana.fill(grafana.label_values(variable)[0], SAMPLE_VALUES)
        for variable in grafana.variables(DASHBOARD)
    ]
    rules = [{"record": f"grafana_query_{n}", "expr": expr} for n, expr in enumerate(exprs)]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "grafana", "rules": rules}]}))
    checked = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_fill_replaces_variables_as_grafana_does() -> None:
    values = {"service": ["eventsapi"], "slo": ["availability", "latency"]}
    assert grafana.fill('x{a="$service", b=~"${slo}"}[$__rate_interval]', values) == (
        'x{a="eventsapi", b=~"(availability|latency)"}[1m]'
    )
    with pytest.raises(KeyError):
        grafana.fill('x{a=~"$nope"}', values)
