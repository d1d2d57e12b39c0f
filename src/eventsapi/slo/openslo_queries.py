"""Reading an OpenSLO ratio's Prometheus queries: the routes, statuses and bucket they select.

The queries eventsapi can measure are those its export writes (:mod:`eventsapi.slo.promql`),
in any order of labels and with ``job`` and ``instance`` ignored: ``sum(a{...} or b{...})``
of one metric, routes selected by ``route="..."`` and methods by ``method="GET"`` or
``method=~"GET|HEAD"``, errors by their ``code`` regex, a latency threshold by one ``le``
bucket. Anything else is :class:`Unreadable`, with what eventsapi would need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction

import msgspec

from eventsapi.domain.sli import LATENCY_BOUNDS_MS
from eventsapi.slo.promql import DURATION_METRIC, REQUESTS_METRIC, status_regex, string
from eventsapi.slo.spec import RouteMatch, Routes, SLIKind

__all__ = ["Unreadable", "read_ratio"]

_IGNORED_LABELS = frozenset({"job", "instance"})  # where Prometheus scraped, not what
_SUM = re.compile(r"\s*sum\s*\((.*)\)\s*", re.DOTALL)
_SELECTOR = re.compile(
    r'\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{((?:[^{}"]|"(?:[^"\\]|\\.)*")*)\})?\s*'
)
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
_OR = re.compile(r"or\b\s*")
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_ESCAPED = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


class Unreadable(ValueError):
    """Something in an OpenSLO document that eventsapi cannot measure."""


class _Selector(msgspec.Struct, frozen=True):
    metric: str
    labels: Mapping[str, tuple[str, str]]
    """label -> (operator, value)"""


def _unescape(value: str) -> str:
    """A PromQL string literal's text: Go's escapes, among them those that
    :func:`eventsapi.slo.promql.string` writes."""
    return _ESCAPE.sub(
        lambda m: chr(int(m[1][1:], 16)) if len(m[1]) == 5 else _ESCAPED.get(m[1], m[1]), value
    )


def _matchers(text: str) -> dict[str, tuple[str, str]]:
    labels: dict[str, tuple[str, str]] = {}
    pos = 0
    while text[pos:].strip():
        match = _MATCHER.match(text, pos)
        if match is None:
            raise Unreadable(f"cannot read the label matchers {{{text}}}")
        if match[1] in labels:
            raise Unreadable(f"the label {match[1]} is matched twice")
        labels[match[1]] = (match[2], _unescape(match[3]))
        pos = match.end()
        if pos < len(text):
            if text[pos] != ",":
                raise Unreadable(f"cannot read the label matchers {{{text}}}")
            pos += 1
    return labels


def _selectors(query: str) -> list[_Selector]:
    """The vector selectors of ``sum(a{...} or b{...} ...)``, the only shape we read."""
    whole = _SUM.fullmatch(query)
    if whole is None:
        raise Unreadable(f"eventsapi reads queries like sum(metric{{labels}}), not {query!r}")
    body, pos, found = whole[1], 0, []
    while True:
        selector = _SELECTOR.match(body, pos)
        if selector is None or selector.end() == pos:
            raise Unreadable(f"eventsapi reads queries like sum(metric{{labels}}), not {query!r}")
        found.append(_Selector(selector[1], _matchers(selector[2] or "")))
        pos = selector.end()
        if pos == len(body):
            return found
        joined = _OR.match(body, pos)
        if joined is None:
            raise Unreadable(f"eventsapi reads queries like sum(metric{{labels}}), not {query!r}")
        pos = joined.end()


def _route_of(selector: _Selector) -> RouteMatch | None:
    """The route a selector selects (``None``: every route), from its route and method."""
    route = selector.labels.get("route")
    method = selector.labels.get("method")
    if route is None:
        if method is not None:
            raise Unreadable("a method is selected without a route; eventsapi cannot measure it")
        return None
    if route[0] != "=":
        raise Unreadable(f"route{route[0]}{string(route[1])}: eventsapi selects routes by =")
    methods: frozenset[str] = frozenset()
    if method is not None:
        if method[0] not in ("=", "=~") or not re.fullmatch(r"[A-Z]+(\|[A-Z]+)*", method[1]):
            raise Unreadable(
                f"method{method[0]}{string(method[1])}: eventsapi selects methods by "
                '= "GET" or =~ "GET|HEAD"'
            )
        methods = frozenset(method[1].split("|"))
    return RouteMatch(route[1], methods)


def _selection(
    selectors: list[_Selector], metric: str, own_labels: frozenset[str]
) -> tuple[Routes, list[Mapping[str, tuple[str, str]]]]:
    """The routes selected, and each selector's labels other than route, method and those
    ignored. Every selector must be of ``metric`` with no labels but those and ``own_labels``.
    """
    routes: list[RouteMatch | None] = []
    rest: list[Mapping[str, tuple[str, str]]] = []
    for selector in selectors:
        if selector.metric != metric:
            raise Unreadable(f"eventsapi reads {metric} here, not {selector.metric}")
        others = {
            label: matcher
            for label, matcher in selector.labels.items()
            if label not in {"route", "method"} | _IGNORED_LABELS
        }
        for label in others.keys() - own_labels:
            raise Unreadable(f"{metric} has no label {label!r} that eventsapi can select by")
        routes.append(_route_of(selector))
        rest.append(others)
    if None in routes:
        if len(routes) > 1:
            raise Unreadable("a selector of every route is joined with others")
        return "all", rest
    return tuple(r for r in routes if r is not None), rest


def _same_routes(left: Routes, right: Routes) -> bool:
    if left == "all" or right == "all":
        return left == right
    return set(left) == set(right)


def _matched_statuses(regex: str) -> frozenset[int]:
    try:
        pattern = re.compile(regex)
    except re.error as exc:
        raise Unreadable(f"the regex {regex!r} is not one eventsapi can read: {exc}") from None
    return frozenset(code for code in range(100, 1000) if pattern.fullmatch(str(code)))


def _availability(numerator: str, role: str, total: str, error_statuses: frozenset[int]) -> Routes:
    total_routes, _ = _selection(_selectors(total), REQUESTS_METRIC, frozenset())
    routes, rest = _selection(_selectors(numerator), REQUESTS_METRIC, frozenset({"code"}))
    expected = "!~" if role == "good" else "=~"
    for labels in rest:
        operator, regex = labels.get("code", ("", ""))
        if operator != expected:
            raise Unreadable(
                f'the {role} query selects codes by code{expected}"...", the statuses that '
                "are errors"
            )
        if _matched_statuses(regex) != error_statuses:
            ours = status_regex(error_statuses) if error_statuses else ""
            raise Unreadable(
                f"the {role} query counts the statuses {regex!r} as errors, but eventsapi counts "
                f"{ours!r} (the setting sli_error_statuses)"
            )
    if not _same_routes(routes, total_routes):
        raise Unreadable(f"the {role} and total queries select different routes")
    return total_routes


def _latency(numerator: str, role: str, total: str) -> tuple[Routes, float]:
    if role != "good":
        raise Unreadable(
            "a latency SLI is read as good (a duration bucket) over total, not bad over total"
        )
    total_selectors = _selectors(total)
    if total_selectors[0].metric == f"{DURATION_METRIC}_bucket":
        total_routes, total_rest = _selection(
            total_selectors, f"{DURATION_METRIC}_bucket", frozenset({"le"})
        )
        if any(labels.get("le") != ("=", "+Inf") for labels in total_rest):
            raise Unreadable('the total query counts every request: le="+Inf" or _count')
    else:
        total_routes, _ = _selection(total_selectors, f"{DURATION_METRIC}_count", frozenset())
    routes, rest = _selection(_selectors(numerator), f"{DURATION_METRIC}_bucket", frozenset({"le"}))
    bounds = {labels.get("le", ("", "")) for labels in rest}
    if len(bounds) != 1 or next(iter(bounds))[0] != "=":
        raise Unreadable('the good query selects one bucket, le="<seconds>", on every selector')
    le = next(iter(bounds))[1]
    try:
        milliseconds = Fraction(le) * 1000
    except ValueError:
        raise Unreadable(f'le="{le}" is not a bucket of {DURATION_METRIC}') from None
    bounds_text = ", ".join(str(b / 1000) for b in LATENCY_BOUNDS_MS)
    if milliseconds.denominator != 1 or int(milliseconds) not in LATENCY_BOUNDS_MS:
        raise Unreadable(f'le="{le}" is not one of the buckets ({bounds_text} s)')
    if not _same_routes(routes, total_routes):
        raise Unreadable("the good and total queries select different routes")
    return total_routes, float(milliseconds)


def read_ratio(
    numerator: str, role: str, total: str, error_statuses: frozenset[int]
) -> tuple[SLIKind, Routes, float | None]:
    """What a ratio of ``numerator`` (the ``role``, good or bad) over ``total`` measures:
    the kind of SLI, the routes and a latency SLI's threshold. :class:`Unreadable` if it is
    not what eventsapi measures with ``error_statuses`` as errors."""
    metric = _selectors(total)[0].metric
    threshold: float | None = None
    if metric == REQUESTS_METRIC:
        kind, routes = SLIKind.AVAILABILITY, _availability(numerator, role, total, error_statuses)
    elif metric.startswith(DURATION_METRIC):
        kind = SLIKind.LATENCY
        routes, threshold = _latency(numerator, role, total)
    else:
        raise Unreadable(
            f"the total query reads {metric}; eventsapi measures {REQUESTS_METRIC} and "
            f"{DURATION_METRIC}"
        )
    return kind, routes, threshold
