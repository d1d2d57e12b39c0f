"""PromQL over the metrics ``/metrics`` exposes: literals, regexes, label matchers, selectors.

The one place that says which series an SLO reads. The Prometheus rules
(:mod:`eventsapi.slo.rules`) and the OpenSLO export (:mod:`eventsapi.slo.openslo`) both build
their queries from these pieces, so an SLO selects the same series in both (checked by
promtool in ``tests/prometheus/test_same_series.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Final

from prometheus_client.utils import floatToGoString

from eventsapi.domain.sli import LATENCY_BOUNDS_MS, bound_index
from eventsapi.slo.spec import Routes

__all__ = [
    "DURATION_METRIC",
    "REQUESTS_METRIC",
    "code_matcher",
    "le_label",
    "le_matcher",
    "one_of",
    "quote_meta",
    "route_matchers",
    "selector",
    "status_regex",
    "string",
    "sum_of",
]

REQUESTS_METRIC: Final = "eventsapi_http_requests_total"
"""Counter of answered requests, labels ``route``, ``method``, ``code``."""
DURATION_METRIC: Final = "eventsapi_http_request_duration_seconds"
"""Histogram of response times (``_bucket{le}``, ``_count``), labels ``route``, ``method``."""

_REGEX_META = frozenset("\\.+*?()|[]{}^$")


def string(value: str) -> str:
    """``value`` as a PromQL (Go) double-quoted string literal."""
    # JSON's escapes (\" \\ \n \uXXXX) are a subset of Go's, which PromQL's lexer follows.
    return json.dumps(value, ensure_ascii=False)


def quote_meta(text: str) -> str:
    """``text`` as a regular expression matching exactly it (Go's ``regexp.QuoteMeta``).

    Route templates have braces (``/events/{id}``), which RE2 would otherwise read as a
    repetition wherever the braces happen to hold digits.
    """
    return "".join("\\" + char if char in _REGEX_META else char for char in text)


def _digit_class(digits: Sequence[int]) -> str:
    """``[0, 2, 3, 4]`` -> ``"02-4"``: runs of three or more as ranges."""
    parts: list[str] = []
    run = [digits[0]]
    for digit in digits[1:]:
        if digit == run[-1] + 1:
            run.append(digit)
            continue
        parts.append(_run(run))
        run = [digit]
    parts.append(_run(run))
    return "".join(parts)


def _run(run: list[int]) -> str:
    return f"{run[0]}-{run[-1]}" if len(run) >= 3 else "".join(map(str, run))


def _digit_or_class(prefix: str, digits: Sequence[int], rest: str) -> str:
    if len(digits) == 1:
        return f"{prefix}{digits[0]}{rest}"
    return f"{prefix}[{_digit_class(digits)}]{rest}"


def status_regex(statuses: Iterable[int]) -> str:
    """A compact regular expression matching exactly ``statuses`` as three-digit strings.

    ``{500..599}`` -> ``5..``, ``{429, 500..599}`` -> ``429|5..``, ``{502, 503, 504}`` ->
    ``50[2-4]``, ``{500..549}`` -> ``5[0-4].``. Prometheus anchors label regexes, so ``5..``
    matches ``"503"`` and not ``"5030"``. Raises ``ValueError`` for an empty set or a status
    outside 100-999.
    """
    codes = sorted(set(statuses))
    if not codes:
        raise ValueError("no statuses to match")
    for code in codes:
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 999:
            raise ValueError(f"a status is a three-digit number, not {code!r}")
    parts: list[tuple[int, str]] = []  # (first status covered, pattern)
    for hundred in sorted({code // 100 for code in codes}):
        rest = {code % 100 for code in codes if code // 100 == hundred}
        if len(rest) == 100:
            parts.append((hundred * 100, f"{hundred}.."))
            continue
        tens = sorted({value // 10 for value in rest})
        full = [ten for ten in tens if all(ten * 10 + unit in rest for unit in range(10))]
        if full:
            parts.append((hundred * 100 + full[0] * 10, _digit_or_class(str(hundred), full, ".")))
        for ten in tens:
            if ten in full:
                continue
            units = sorted(value % 10 for value in rest if value // 10 == ten)
            first = hundred * 100 + ten * 10 + units[0]
            parts.append((first, _digit_or_class(f"{hundred}{ten}", units, "")))
    return "|".join(pattern for _, pattern in sorted(parts))


def le_label(threshold_ms: float) -> str:
    """The ``le`` label of the histogram bucket of ``threshold_ms``, as ``/metrics`` writes it.

    prometheus_client renders bounds with ``floatToGoString`` (``0.3``, ``1.0``, ``10.0``),
    which is also the form Prometheus 3 normalises ``le`` to. ``ValueError`` if the threshold
    is not one of :data:`~eventsapi.domain.sli.LATENCY_BOUNDS_MS`.
    """
    bound = LATENCY_BOUNDS_MS[bound_index(threshold_ms)]
    return str(floatToGoString(bound / 1000))  # type: ignore[no-untyped-call]


def le_matcher(threshold_ms: float) -> str:
    """``le="0.3"``: the bucket of the requests that took at most ``threshold_ms``."""
    return f"le={string(le_label(threshold_ms))}"


def code_matcher(statuses: Iterable[int], *, negate: bool = False) -> str:
    """The requests answered with one of ``statuses`` (``code="503"``, ``code=~"5.."``).

    ``negate``: those answered with any other status, always as ``code!~"..."`` (the form
    the OpenSLO import reads back); no statuses at all is ``code!~""``, every request.
    """
    codes = sorted(set(statuses))
    if negate:
        return f"code!~{string(status_regex(codes) if codes else '')}"
    if len(codes) == 1:
        return f"code={string(str(codes[0]))}"
    return f"code=~{string(status_regex(codes))}"


def one_of(label: str, values: Sequence[str]) -> str:
    """``label="a"`` for one value; ``label=~"a|b"`` (each value quoted) for several."""
    if len(values) == 1:
        return f"{label}={string(values[0])}"
    return f"{label}=~{string('|'.join(quote_meta(value) for value in values))}"


def route_matchers(routes: Routes, *, per_route: bool = False) -> list[str]:
    """Label matchers selecting ``routes``, one string per selector to ``or`` together.

    ``"all"`` is one empty selector. Routes with the same methods share one selector
    (``route=~"/a|/b",method=~"GET|HEAD"``); routes with other methods get their own, and
    the queries ``or`` the selections, which counts a series selected twice once.
    ``per_route``: one selector per route as listed (``route="/a",method=~"GET|HEAD"``),
    which the OpenSLO import reads back route by route. Both select the same series.
    """
    if routes == "all":
        return [""]
    if per_route:
        return [_matchers([match.template], match.methods) for match in routes]
    by_methods: dict[frozenset[str], list[str]] = {}
    for match in routes:
        templates = by_methods.setdefault(match.methods, [])
        if match.template not in templates:
            templates.append(match.template)
    return [_matchers(templates, methods) for methods, templates in by_methods.items()]


def _matchers(templates: Sequence[str], methods: frozenset[str]) -> str:
    matchers = [one_of("route", templates)]
    if methods:
        matchers.append(one_of("method", sorted(methods)))
    return ",".join(matchers)


def selector(metric: str, *matchers: str) -> str:
    """``metric{a,b}``, leaving out empty matchers (and the braces if none is left)."""
    inner = ",".join(matcher for matcher in matchers if matcher)
    return f"{metric}{{{inner}}}" if inner else metric


def sum_of(
    metric: str, selections: Sequence[str], *matchers: str, window: str | None = None
) -> str:
    """``sum(...)`` of ``metric`` over the union (``or``) of ``selections``, ``matchers`` on
    each; with a ``window``, of each selection's ``increase`` over it."""
    parts = [selector(metric, selection, *matchers) for selection in selections]
    if window is not None:
        parts = [f"increase({part}[{window}])" for part in parts]
    return f"sum({' or '.join(parts)})"
