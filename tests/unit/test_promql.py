"""The PromQL pieces (``eventsapi.slo.promql``) that the rules and the OpenSLO export share.

Where a mistake would hide: the status regex, escaping, the ``le`` label and route
selection. That the rules and the OpenSLO export select the same series with them is
checked by promtool in ``tests/prometheus/test_same_series.py``.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventsapi.domain.sli import LATENCY_BOUNDS_MS
from eventsapi.slo.prometheus import MULTIPROCESS_ENV, PrometheusExport
from eventsapi.slo.promql import (
    code_matcher,
    le_label,
    quote_meta,
    route_matchers,
    status_regex,
    string,
    sum_of,
)
from eventsapi.slo.spec import RouteMatch


def matches(regex: str, text: str) -> bool:
    """Whether a Prometheus label regex matches ``text``: RE2, anchored at both ends."""
    return re.fullmatch(f"(?:{regex})", text) is not None


# --- status regex ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "regex"),
    [
        (range(500, 600), "5.."),
        ([429, *range(500, 600)], "429|5.."),
        ([502, 503, 504], "50[2-4]"),
        ([500, 502, 503, 504], "50[02-4]"),
        ([500, 501], "50[01]"),
        (range(500, 550), "5[0-4]."),
        ([*range(500, 510), 511], "50.|511"),
        (range(400, 600), "4..|5.."),
        ([503], "503"),
        ([599, 100], "100|599"),
        ([*range(510, 520), 599], "51.|599"),
    ],
)
def test_status_regex_is_compact(statuses: list[int], regex: str) -> None:
    assert status_regex(statuses) == regex


@given(st.frozensets(st.integers(100, 599), min_size=1))
def test_status_regex_matches_exactly_the_statuses(statuses: frozenset[int]) -> None:
    regex = status_regex(statuses)
    for code in range(100, 1000):
        assert matches(regex, str(code)) is (code in statuses), (code, regex)
    for text in ("", "5", "50", "5000", "5xx", "0500"):
        assert not matches(regex, text)


@pytest.mark.parametrize("statuses", [[], [99], [1000], [True], [500, -1]])
def test_status_regex_refuses_what_is_not_a_set_of_statuses(statuses: list[int]) -> None:
    with pytest.raises(ValueError, match="status"):
        status_regex(statuses)


# --- escaping, le, routes -------------------------------------------------------------------


def test_quote_meta_escapes_route_templates() -> None:
    assert quote_meta("/events/{id}") == "/events/\\{id\\}"
    assert quote_meta("/a.b+c*d?(e)|[f]^$\\") == "/a\\.b\\+c\\*d\\?\\(e\\)\\|\\[f\\]\\^\\$\\\\"


@given(st.text(alphabet=st.sampled_from("/{}.+*?()|[]^$\\-ab1 _"), max_size=30))
def test_quoted_text_matches_itself_only(text: str) -> None:
    assert matches(quote_meta(text), text)
    assert not matches(quote_meta(text), text + "x")


def test_le_labels_are_those_the_exposition_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROCESS_ENV, raising=False)
    export = PrometheusExport()
    export.duration.labels("/events/{id}", "GET").observe(0.01)
    exposed = re.findall(r'le="([^"]+)"', export.exposition().decode())
    assert exposed[:-1] == [le_label(bound) for bound in LATENCY_BOUNDS_MS]
    assert exposed[-1] == "+Inf"
    assert le_label(300) == "0.3"
    assert le_label(1000) == "1.0"
    assert le_label(10000) == "10.0"


def test_le_label_refuses_a_threshold_that_is_not_a_bound() -> None:
    with pytest.raises(ValueError, match="one of the histogram's bounds"):
        le_label(301)


def test_all_routes_need_no_matcher() -> None:
    assert route_matchers("all") == [""]


def test_routes_with_the_same_methods_share_a_selector() -> None:
    routes = (
        RouteMatch("/events/{id}", frozenset({"get", "HEAD"})),
        RouteMatch("/events", frozenset({"GET", "HEAD"})),
        RouteMatch("/events/{id}", frozenset({"DELETE"})),
        RouteMatch("/healthz"),
    )
    assert route_matchers(routes) == [
        'route=~"/events/\\\\{id\\\\}|/events",method=~"GET|HEAD"',
        'route="/events/{id}",method="DELETE"',
        'route="/healthz"',
    ]


def test_a_route_listed_twice_with_the_same_methods_is_matched_once() -> None:
    routes = (RouteMatch("/events", frozenset({"GET"})), RouteMatch("/events", frozenset({"GET"})))
    assert route_matchers(routes) == ['route="/events",method="GET"']


def test_one_selector_per_route_as_listed() -> None:
    """The OpenSLO export's form: the same series, a selector per route it reads back."""
    routes = (
        RouteMatch("/events/{id}", frozenset({"get", "HEAD"})),
        RouteMatch("/events", frozenset({"GET"})),
        RouteMatch("/events", frozenset({"GET"})),
        RouteMatch("/healthz"),
    )
    assert route_matchers(routes, per_route=True) == [
        'route="/events/{id}",method=~"GET|HEAD"',
        'route="/events",method="GET"',
        'route="/events",method="GET"',
        'route="/healthz"',
    ]
    assert route_matchers("all", per_route=True) == [""]


def test_statuses_as_a_code_matcher() -> None:
    assert code_matcher({503}) == 'code="503"'
    assert code_matcher(range(500, 600)) == 'code=~"5.."'
    assert code_matcher({503}, negate=True) == 'code!~"503"'
    assert code_matcher({429, 502, 503, 504}, negate=True) == 'code!~"429|50[2-4]"'
    assert code_matcher(set(), negate=True) == 'code!~""'


def test_string_literals_escape_quotes_backslashes_and_control_characters() -> None:
    assert string('/a"b\\c') == '"/a\\"b\\\\c"'
    assert string("/\t\n\r\x01é") == '"/\\t\\n\\r\\u0001é"'


def test_sums_or_the_selections_and_take_the_increase_over_a_window() -> None:
    selections = ['route="/a"', ""]
    assert sum_of("m", selections, 'job="x"') == 'sum(m{route="/a",job="x"} or m{job="x"})'
    assert sum_of("m", [""]) == "sum(m)"
    assert sum_of("m", selections, window="5m") == (
        'sum(increase(m{route="/a"}[5m]) or increase(m[5m]))'
    )
