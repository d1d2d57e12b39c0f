"""The Grafana dashboard of ``deploy/grafana``: its queries, filled in as Grafana fills them.

Shared by the structural tests (``test_grafana_dashboard.py``) and the end-to-end test
that runs every query against a real Prometheus (``test_prometheus_e2e.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "eventsapi-slo.json"
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
"""What every panel, query and variable names as its data source: the import's input."""

RATE_INTERVAL = "1m"
"""What ``$__rate_interval`` becomes in the tests (Grafana: at least four scrape intervals)."""

_LABEL_VALUES = re.compile(r"^label_values\((?P<match>.+),\s*(?P<label>\w+)\)$")
_VARIABLE = re.compile(r"\$(?:\{(?P<braced>\w+)\}|(?P<plain>\w+))")


def load() -> dict[str, Any]:
    """The dashboard, parsed."""
    document: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return document


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included, and those inside collapsed rows."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def targets(dashboard: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(panel, target)`` for every query of every panel."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel, target


def variables(dashboard: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The template variables, in their order (a later one may use an earlier one)."""
    found: list[dict[str, Any]] = dashboard["templating"]["list"]
    return found


def label_values(variable: Mapping[str, Any]) -> tuple[str, str]:
    """``(series selector, label)`` of a ``label_values(selector, label)`` variable."""
    query = variable["query"]
    text = query["query"] if isinstance(query, dict) else query
    found = _LABEL_VALUES.match(text.strip())
    if found is None:
        raise ValueError(f"not a label_values() query: {text!r}")
    return found["match"].strip(), found["label"]


def fill(expr: str, values: Mapping[str, Sequence[str]]) -> str:
    """``expr`` with its variables replaced as Grafana does for Prometheus.

    A variable with one value becomes that value; one with several (a multi-value variable,
    "All" selected) becomes ``(a|b)``, which the queries use with ``=~``. The values here
    are label values without regex metacharacters, so they need no escaping. An unknown
    variable is a ``KeyError``: the dashboard would show it unreplaced.
    """

    def replace(match: re.Match[str]) -> str:
        name = match["braced"] or match["plain"]
        if name == "__rate_interval":
            return RATE_INTERVAL
        chosen = values[name]
        if any(re.search(r"[\\.+*?()|\[\]{}^$\"]", value) for value in chosen):
            raise ValueError(f"{name}: values with regex metacharacters: {chosen!r}")
        return chosen[0] if len(chosen) == 1 else "(" + "|".join(chosen) + ")"

    return _VARIABLE.sub(replace, expr)
