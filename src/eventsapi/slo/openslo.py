"""OpenSLO v1: our SLOs as OpenSLO documents, and OpenSLO documents as our SLOs (pure).

Export writes one ``kind: Service`` document, then one ``kind: SLO`` per SLO with its
indicator inline: a ``ratioMetric`` of Prometheus queries over the metrics ``/metrics``
exposes, request-weighted (``budgetingMethod: Occurrences``)::

    availability  good:  sum(eventsapi_http_requests_total{code!~"5.."})
                  total: sum(eventsapi_http_requests_total)
    latency       good:  sum(eventsapi_http_request_duration_seconds_bucket{le="0.3"})
                  total: sum(eventsapi_http_request_duration_seconds_count)

An SLO over some routes selects them by label (``route="/events/{id}",method=~"GET|HEAD"``),
one selector per route joined with ``or``. A rolling window is ``duration: 30d``; a calendar
one is ``1M`` or ``1Q`` from a month's first minute in UTC.

Import reads what eventsapi can measure: those ratio metrics over those metric names (in any
order of labels, with ``job`` and ``instance`` labels ignored, ``good`` or ``bad`` over
``total``), one objective, Occurrences, a rolling window of whole days or a UTC calendar month
or quarter. Anything else, a foreign SLO, is refused with a message naming its document:
guessing what another system's query means would measure something else under the same name.
The queries are read by :mod:`eventsapi.slo.openslo_queries`, the documents here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from fractions import Fraction
from typing import Any, Final, Literal

import yaml

from eventsapi.errors import ConfigurationError
from eventsapi.slo.config import SLOConfig, check_slo_name, read_yaml
from eventsapi.slo.openslo_queries import Unreadable, read_ratio
from eventsapi.slo.promql import (
    DURATION_METRIC,
    REQUESTS_METRIC,
    code_matcher,
    le_matcher,
    route_matchers,
    sum_of,
)
from eventsapi.slo.spec import (
    CalendarWindow,
    RollingWindow,
    Routes,
    SLIKind,
    SLOSpec,
    Window,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_ERROR_STATUSES",
    "config_from_openslo",
    "from_openslo",
    "to_openslo",
]

API_VERSION: Final = "openslo/v1"
DEFAULT_ERROR_STATUSES: Final = frozenset(range(500, 600))
"""The default of the setting ``sli_error_statuses``: every 5xx status."""

_CALENDAR_START = "2020-01-01 00:00:00"  # the first minute of a year: of a month and a quarter


# -- export ---------------------------------------------------------------------------------


def _query(metric: str, routes: Routes, *matchers: str) -> str:
    """``sum(...)`` of ``metric`` over the routes selected, one selector per route as listed."""
    return sum_of(metric, route_matchers(routes, per_route=True), *matchers)


def _source(query: str) -> dict[str, Any]:
    return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}


def _ratio_metric(slo: SLOSpec, error_statuses: frozenset[int]) -> dict[str, Any]:
    if slo.kind is SLIKind.AVAILABILITY:
        good = _query(REQUESTS_METRIC, slo.routes, code_matcher(error_statuses, negate=True))
        total = _query(REQUESTS_METRIC, slo.routes)
    else:
        assert slo.threshold_ms is not None  # noqa: S101  # SLOSpec guarantees it
        good = _query(f"{DURATION_METRIC}_bucket", slo.routes, le_matcher(slo.threshold_ms))
        total = _query(f"{DURATION_METRIC}_count", slo.routes)
    return {"counter": True, "good": _source(good), "total": _source(total)}


def _time_window(window: Window) -> list[dict[str, Any]]:
    if isinstance(window, RollingWindow):
        return [{"duration": f"{window.days}d", "isRolling": True}]
    return [
        {
            "duration": "1M" if window.period == "month" else "1Q",
            "isRolling": False,
            "calendar": {"startTime": _CALENDAR_START, "timeZone": "UTC"},
        }
    ]


def _slo_document(
    slo: SLOSpec, service: str, description: str, error_statuses: frozenset[int]
) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if description:
        spec["description"] = description
    spec |= {
        "service": service,
        "indicator": {
            "metadata": {"name": f"{slo.name}-sli"[:63]},
            "spec": {"ratioMetric": _ratio_metric(slo, error_statuses)},
        },
        "timeWindow": _time_window(slo.window),
        "budgetingMethod": "Occurrences",
        "objectives": [{"displayName": slo.name, "target": slo.target}],
    }
    return {"apiVersion": API_VERSION, "kind": "SLO", "metadata": {"name": slo.name}, "spec": spec}


def to_openslo(
    config: SLOConfig,
    service: str = "eventsapi",
    error_statuses: frozenset[int] = DEFAULT_ERROR_STATUSES,
) -> str:
    """``config``'s SLOs as OpenSLO v1 YAML: a Service document, then one SLO document each.

    ``error_statuses`` (the setting ``sli_error_statuses``) decides the availability queries.
    """
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": API_VERSION,
            "kind": "Service",
            "metadata": {"name": service},
            "spec": {"description": "The eventsapi events REST API"},
        }
    ]
    documents += [
        _slo_document(slo, service, config.description(slo.name), error_statuses)
        for slo in config.slos
    ]
    text = yaml.safe_dump_all(
        documents, sort_keys=False, explicit_start=True, allow_unicode=True, width=math.inf
    )
    return f"# OpenSLO v1, written by `eventsapi slo export --openslo`\n{text}"


# -- import ---------------------------------------------------------------------------------

_SHORTHAND = re.compile(r"([0-9]+)([mhdwMQY])")
_SHORTHAND_DAYS = {"m": Fraction(1, 1440), "h": Fraction(1, 24), "d": Fraction(1), "w": Fraction(7)}
_SKIPPED_KINDS = frozenset(
    {"Service", "DataSource", "AlertPolicy", "AlertCondition", "AlertNotificationTarget"}
)


def _query_of(part: Any, where: str) -> str:
    if not isinstance(part, dict) or not isinstance(part.get("metricSource"), dict):
        raise Unreadable(f"{where}: a metricSource is needed")
    source = part["metricSource"]
    kind = source.get("type")
    if kind is not None and str(kind).lower() != "prometheus":
        raise Unreadable(f"{where}: eventsapi reads Prometheus metrics, not {kind}")
    query = source.get("spec", {}).get("query") if isinstance(source.get("spec"), dict) else None
    if not isinstance(query, str):
        raise Unreadable(f"{where}: metricSource.spec.query is needed")
    return query


def _window(spec: Mapping[str, Any]) -> Window:
    windows = spec.get("timeWindow")
    if windows is None:
        return RollingWindow()
    if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], dict):
        raise Unreadable("spec.timeWindow: one window is needed")
    window = windows[0]
    duration = str(window.get("duration", ""))
    match = _SHORTHAND.fullmatch(duration)
    if match is None or int(match[1]) < 1:
        raise Unreadable(f"spec.timeWindow: the duration {duration!r} is not like 30d or 1M")
    count, unit = int(match[1]), match[2]
    calendar = window.get("calendar")
    rolling = window.get("isRolling", calendar is None)
    if rolling:
        days = count * _SHORTHAND_DAYS[unit] if unit in _SHORTHAND_DAYS else None
        if days is None or days.denominator != 1:
            raise Unreadable(
                f"spec.timeWindow: a rolling window of {duration} is not whole days; "
                "eventsapi's rolling windows are <N>d"
            )
        return RollingWindow(int(days))
    if (count, unit) not in ((1, "M"), (1, "Q")):
        raise Unreadable(
            f"spec.timeWindow: a calendar window of {duration}; eventsapi's are 1M and 1Q"
        )
    period: Literal["month", "quarter"] = "month" if unit == "M" else "quarter"
    if calendar is not None:
        _check_calendar(calendar, period)
    return CalendarWindow(period)


def _check_calendar(calendar: Any, period: str) -> None:
    if not isinstance(calendar, dict):
        raise Unreadable("spec.timeWindow.calendar: startTime and timeZone are needed")
    zone = calendar.get("timeZone", "UTC")
    if zone not in ("UTC", "Etc/UTC"):
        raise Unreadable(f"spec.timeWindow.calendar: eventsapi's periods are in UTC, not {zone}")
    start = calendar.get("startTime", _CALENDAR_START)
    if not isinstance(start, datetime):
        try:
            start = datetime.fromisoformat(str(start))
        except ValueError:
            raise Unreadable(f"spec.timeWindow.calendar.startTime: not a time: {start}") from None
    first_months = range(1, 13) if period == "month" else (1, 4, 7, 10)
    if (start.day, start.time()) != (1, datetime.min.time()) or start.month not in first_months:
        raise Unreadable(
            f"spec.timeWindow.calendar.startTime: eventsapi's {period}s start at 00:00 on the "
            f"first of a {period}, not {start}"
        )


def _target(spec: Mapping[str, Any]) -> float:
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or len(objectives) != 1:
        raise Unreadable("spec.objectives: eventsapi reads exactly one objective per SLO")
    objective = objectives[0]
    if not isinstance(objective, dict):
        raise Unreadable("spec.objectives[0]: an objective is a mapping")
    if "target" in objective and "targetPercent" in objective:
        raise Unreadable("spec.objectives[0]: target or targetPercent, not both")
    if "targetPercent" in objective:
        value = objective["targetPercent"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Unreadable(f"spec.objectives[0].targetPercent: a number, not {value!r}")
        return float(Fraction(repr(value)) / 100)
    value = objective.get("target")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unreadable(f"spec.objectives[0].target: a number, not {value!r}")
    return float(value)


def _indicator(spec: Mapping[str, Any], slis: Mapping[str, Any]) -> Mapping[str, Any]:
    if "indicator" in spec:
        indicator = spec["indicator"]
    elif "indicatorRef" in spec:
        indicator = slis.get(spec["indicatorRef"])
        if indicator is None:
            raise Unreadable(f"spec.indicatorRef: no SLI called {spec['indicatorRef']!r} here")
    else:
        raise Unreadable("spec.indicator (or indicatorRef) is needed")
    if not isinstance(indicator, dict) or not isinstance(indicator.get("spec"), dict):
        raise Unreadable("spec.indicator.spec is needed")
    sli: dict[str, Any] = indicator["spec"]
    return sli


def _slo_from(
    obj: Mapping[str, Any], slis: Mapping[str, Any], error_statuses: frozenset[int]
) -> tuple[SLOSpec, str]:
    name = check_slo_name(str(obj["metadata"]["name"]))
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        raise Unreadable("spec is needed")
    method = spec.get("budgetingMethod", "Occurrences")
    if method != "Occurrences":
        raise Unreadable(
            f"spec.budgetingMethod: eventsapi weighs every request (Occurrences), not {method}"
        )
    sli = _indicator(spec, slis)
    if "ratioMetric" not in sli:
        raise Unreadable("eventsapi reads a ratioMetric SLI, not a thresholdMetric")
    ratio = sli["ratioMetric"]
    if not isinstance(ratio, dict) or "raw" in ratio:
        raise Unreadable("eventsapi reads a ratioMetric of good (or bad) over total, not raw")
    if ratio.get("counter", True) is not True:
        raise Unreadable("ratioMetric.counter: eventsapi's metrics are counters")
    roles = [role for role in ("good", "bad") if role in ratio]
    if len(roles) != 1 or "total" not in ratio:
        raise Unreadable("ratioMetric: good or bad, and total, are needed")
    role = roles[0]
    numerator = _query_of(ratio[role], f"ratioMetric.{role}")
    total = _query_of(ratio["total"], "ratioMetric.total")
    kind, routes, threshold = read_ratio(numerator, role, total, error_statuses)
    slo = SLOSpec(name, kind, _target(spec), _window(spec), routes, threshold)
    description = spec.get("description") or ""
    return slo, str(description)


def _objects(documents: list[Any], source: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every OpenSLO object with a label for messages; a document may hold a list of them."""
    for n, document in enumerate(documents, 1):
        if document is None:
            continue
        items = document if isinstance(document, list) else [document]
        for k, item in enumerate(items, 1):
            label = f"document {n}" + (f", item {k}" if isinstance(document, list) else "")
            if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict):
                raise ConfigurationError(
                    f"{source}: {label} is not an OpenSLO object (apiVersion, kind, metadata, spec)"
                )
            if "name" in item["metadata"]:
                label += f" ({item.get('kind')} {item['metadata']['name']!r})"
            yield label, item


def _import(text: str, source: str, error_statuses: frozenset[int]) -> list[tuple[SLOSpec, str]]:
    objects = list(_objects(read_yaml(text, source, many=True), source))
    slis: dict[str, Any] = {}
    for label, obj in objects:
        if obj.get("apiVersion") != API_VERSION:
            raise ConfigurationError(
                f"{source}: {label}: apiVersion {obj.get('apiVersion')!r}; eventsapi reads "
                f"{API_VERSION}"
            )
        if obj.get("kind") == "SLI":
            slis[str(obj["metadata"].get("name"))] = obj
    imported: list[tuple[SLOSpec, str]] = []
    for label, obj in objects:
        kind = obj.get("kind")
        if kind in _SKIPPED_KINDS or kind == "SLI":
            continue
        if kind != "SLO":
            raise ConfigurationError(f"{source}: {label}: eventsapi does not read kind {kind!r}")
        try:
            slo, description = _slo_from(obj, slis, error_statuses)
        except (ValueError, KeyError, TypeError) as exc:
            reason = f"metadata.{exc.args[0]} is needed" if isinstance(exc, KeyError) else exc
            raise ConfigurationError(
                f"{source}: {label} is not an SLO eventsapi can measure: {reason}"
            ) from None
        if any(other.name == slo.name for other, _ in imported):
            raise ConfigurationError(f"{source}: {label}: a second SLO called {slo.name!r}")
        imported.append((slo, description))
    if not imported:
        raise ConfigurationError(f"{source}: no OpenSLO SLO document (kind: SLO) in the file")
    return imported


def from_openslo(
    text: str,
    source: str = "the OpenSLO file",
    error_statuses: frozenset[int] = DEFAULT_ERROR_STATUSES,
) -> tuple[SLOSpec, ...]:
    """The SLOs of OpenSLO v1 YAML; ``ConfigurationError`` naming the document eventsapi
    cannot measure (see the module)."""
    return tuple(slo for slo, _ in _import(text, source, error_statuses))


def config_from_openslo(
    text: str,
    source: str = "the OpenSLO file",
    error_statuses: frozenset[int] = DEFAULT_ERROR_STATUSES,
) -> SLOConfig:
    """An :class:`SLOConfig` of the SLOs (and their descriptions) in OpenSLO v1 YAML, with the
    default alert policy, no webhook and no SLA (OpenSLO has no SLAs)."""
    imported = _import(text, source, error_statuses)
    return SLOConfig(
        slos=tuple(slo for slo, _ in imported),
        descriptions={slo.name: description for slo, description in imported},
    )
