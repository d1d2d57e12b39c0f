"""The SLO file (``eventsapi.slo.config``): defaults, parsing with errors by place, writing."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventsapi.domain.sli import LATENCY_BOUNDS_MS
from eventsapi.errors import ConfigurationError
from eventsapi.slo.config import (
    SLOConfig,
    default_config,
    dump_slo_config,
    format_duration,
    load_slo_config,
    parse_duration,
    parse_slo_config,
    parse_window,
)
from eventsapi.slo.sla import CreditTier, SLAContract
from eventsapi.slo.spec import (
    DEFAULT_ALERT_POLICY,
    AlertPolicy,
    AlertRule,
    CalendarWindow,
    RollingWindow,
    RouteMatch,
    Routes,
    SLIKind,
    SLOSpec,
    default_slos,
)

# The file as the issue's design writes it (/tmp/common.md), word for word.
DESIGN_EXAMPLE = """\
version: 1
slos:
  - name: availability
    description: Requests answered without a server error
    kind: availability            # availability | latency
    target: 0.999                 # share of good requests (99.9 %)
    window: 30d                   # rolling: <N>d ; calendar: month | quarter
    routes: all                   # or a list of {route: /events/{id}, methods: [GET, HEAD]}
  - name: latency
    description: Requests answered within 300 ms
    kind: latency
    threshold_ms: 300             # must be one of LATENCY_BOUNDS_MS
    target: 0.99
    window: 30d
alerting:
  min_requests: 100
  webhook: null                   # URL that gets a JSON POST per alert transition
  rules:                          # default: SRE Workbook table 5-8 (DEFAULT_ALERT_POLICY)
    - {name: page-fast, severity: page, long_window: 1h, short_window: 5m, burn_rate: 14.4}
    - {name: page-slow, severity: page, long_window: 6h, short_window: 30m, burn_rate: 6}
    - {name: ticket-fast, severity: ticket, long_window: 1d, short_window: 2h, burn_rate: 3}
    - {name: ticket-slow, severity: ticket, long_window: 3d, short_window: 6h, burn_rate: 1}
sla:
  - slo: availability
    period: month                 # month | quarter (calendar, UTC)
    target: 0.999
    credits:                      # compliance strictly below `below` owes `credit` %
      - {below: 0.999, credit: 10}
      - {below: 0.99, credit: 25}
      - {below: 0.95, credit: 100}
"""

MINIMAL = """\
version: 1
slos:
  - name: checkout
    kind: availability
    target: 0.995
"""


def parse(text: str) -> SLOConfig:
    return parse_slo_config(text, "slo.yaml")


def problems(text: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        parse(text)
    return str(caught.value)


def with_slo(**fields: object) -> str:
    """A file with one SLO whose fields are a valid availability SLO's, changed by ``fields``."""
    slo: dict[str, object] = {"name": "a", "kind": "availability", "target": 0.999} | fields
    lines = [f"    {key}: {value}" for key, value in slo.items() if value is not None]
    lines[0] = "  - " + lines[0].lstrip()
    return "version: 1\nslos:\n" + "\n".join(lines) + "\n"


# --- defaults -----------------------------------------------------------------------------


def test_the_default_config_is_the_issue_s() -> None:
    config = default_config()
    assert config.slos == default_slos()
    assert config.policy == DEFAULT_ALERT_POLICY
    assert config.webhook is None
    assert config.contracts == (
        SLAContract(
            "availability",
            "month",
            0.999,
            (CreditTier(0.999, 10), CreditTier(0.99, 25), CreditTier(0.95, 100)),
        ),
        SLAContract(
            "latency",
            "month",
            0.99,
            (CreditTier(0.99, 10), CreditTier(0.95, 25), CreditTier(0.90, 100)),
        ),
    )


def test_no_file_means_the_defaults() -> None:
    assert load_slo_config(None) == default_config()


def test_the_design_s_example_reads_as_the_defaults_with_one_sla() -> None:
    config = parse(DESIGN_EXAMPLE)
    defaults = default_config()
    assert config.slos == defaults.slos
    assert config.policy == defaults.policy
    assert config.contracts == defaults.contracts[:1]
    assert config.description("latency") == "Requests answered within 300 ms"


def test_what_a_file_leaves_out_takes_its_default() -> None:
    config = parse(MINIMAL)
    (slo,) = config.slos
    assert slo == SLOSpec("checkout", SLIKind.AVAILABILITY, 0.995, RollingWindow(30), "all")
    assert config.policy == DEFAULT_ALERT_POLICY
    assert config.webhook is None
    assert config.contracts == ()
    assert config.description("checkout") == ""


def test_alerting_without_rules_keeps_the_default_rules_and_an_empty_list_has_none() -> None:
    config = parse(MINIMAL + "alerting:\n  min_requests: 5\n")
    assert config.policy == AlertPolicy(DEFAULT_ALERT_POLICY.rules, min_requests=5)
    assert parse(MINIMAL + "alerting:\n  rules: []\n").policy.rules == ()


def test_every_field_is_read() -> None:
    config = parse(
        """\
version: 1
slos:
  - name: reads-fast
    kind: latency
    threshold_ms: 250
    target: 0.95
    window: quarter
    routes:
      - {route: "/events/{id}", methods: [get, HEAD]}
      - route: /events
alerting:
  min_requests: 0
  webhook: https://hooks.example.com/slo?team=events
  rules:
    - {name: fast, severity: page, long_window: 2h, short_window: 10m, burn_rate: 10}
sla:
  - {slo: reads-fast, period: quarter, target: 0.9, credits: []}
"""
    )
    assert config.slos == (
        SLOSpec(
            "reads-fast",
            SLIKind.LATENCY,
            0.95,
            CalendarWindow("quarter"),
            (RouteMatch("/events/{id}", frozenset({"GET", "HEAD"})), RouteMatch("/events")),
            250.0,
        ),
    )
    assert config.policy == AlertPolicy(
        (AlertRule("fast", "page", timedelta(hours=2), timedelta(minutes=10), 10.0),),
        min_requests=0,
    )
    assert config.webhook == "https://hooks.example.com/slo?team=events"
    assert config.contracts == (SLAContract("reads-fast", "quarter", 0.9),)


def test_load_reads_a_file_and_names_it_when_it_cannot(tmp_path: Path) -> None:
    path = tmp_path / "slo.yaml"
    path.write_text(MINIMAL)
    assert load_slo_config(path).slos[0].name == "checkout"
    with pytest.raises(ConfigurationError, match=re.escape(f"Cannot read the SLO file {path}x")):
        load_slo_config(Path(f"{path}x"))
    path.write_bytes(b"version: 1\nslos: []\n# \xff\n")
    with pytest.raises(ConfigurationError, match="not UTF-8"):
        load_slo_config(path)


# --- errors name their place --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            with_slo(kind="latency", threshold_ms=301),
            "slos[0].threshold_ms: a latency threshold is one of",
        ),
        (with_slo(kind="latency"), "slos[0].threshold_ms: a latency SLO needs one"),
        (with_slo(threshold_ms=300), "slos[0].threshold_ms: only a latency SLO has a threshold"),
        (with_slo(target=1), "slos[0].target: strictly between 0 and 1"),
        (with_slo(target=".nan"), "slos[0].target: strictly between 0 and 1"),
        (with_slo(target="'high'"), "slos[0].target: expected `float`, got `str`"),
        (with_slo(name="Availability"), "slos[0].name: 'Availability' is not an SLO name"),
        (with_slo(name="a_b"), "slos[0].name: 'a_b' is not an SLO name"),
        (with_slo(window="4w"), "slos[0].window: a window is rolling, <N>d (30d), or calendar"),
        (with_slo(window="0d"), "slos[0].window"),
        (with_slo(window="year"), "slos[0].window"),
        (with_slo(kind="speed"), "slos[0].kind: availability or latency, not 'speed'"),
        (with_slo(routes="some"), "slos[0].routes: all, or a list of"),
        (with_slo(routes="[]"), "slos[0].routes: list at least one route, or write `all`"),
        (with_slo(routes="[{route: events}]"), "slos[0].routes[0].route: a route template starts"),
        (
            with_slo(routes="[{route: /events, methods: [GET, 'P OST']}]"),
            "slos[0].routes[0].methods: an HTTP method is letters only",
        ),
        (with_slo(thresold_ms=300), "slos[0]: unknown key 'thresold_ms' (allowed: name, kind"),
        (with_slo(thresold_ms=300), "did you mean 'threshold_ms'?"),
        (
            with_slo(routes="[{route: /x, method: [GET]}]"),
            "slos[0].routes[0]: unknown key 'method'",
        ),
        (MINIMAL + "alert: {}\n", "the top level: unknown key 'alert'"),
        (MINIMAL + "alerting:\n  webhook: ftp://x\n", "alerting.webhook: the webhook is an http"),
        (MINIMAL + "alerting:\n  webhook: https://\n", "alerting.webhook"),
        (MINIMAL + "alerting:\n  min_requests: -1\n", "alerting.min_requests: a count >= 0"),
        (MINIMAL + "alerting:\n  min_requests: 1.5\n", "alerting.min_requests: expected `int`"),
        (
            MINIMAL + "alerting:\n  rules:\n    - {name: r, severity: page, long_window: 5m,"
            " short_window: 1h, burn_rate: 2}\n",
            "alerting.rules[0].short_window: shorter than long_window (5m), not 1h",
        ),
        (
            MINIMAL + "alerting:\n  rules:\n    - {name: r, severity: page, long_window: 1h,"
            " short_window: 90s, burn_rate: 2}\n",
            "alerting.rules[0].short_window: a duration is a whole number and a unit",
        ),
        (
            MINIMAL + "alerting:\n  rules:\n    - {name: r, severity: pager, long_window: 1h,"
            " short_window: 5m, burn_rate: 2}\n",
            "alerting.rules[0].severity: page or ticket, not 'pager'",
        ),
        (
            MINIMAL + "alerting:\n  rules:\n    - {name: r, severity: page, long_window: 1h,"
            " short_window: 5m, burn_rate: 0}\n",
            "alerting.rules[0].burn_rate: a positive number",
        ),
        (
            MINIMAL + "alerting:\n  rules:\n"
            "    - {name: r, severity: page, long_window: 1h, short_window: 5m, burn_rate: 2}\n"
            "    - {name: r, severity: page, long_window: 2h, short_window: 5m, burn_rate: 2}\n",
            "alerting.rules[1].name: 'r' is taken by alerting.rules[0]",
        ),
        (
            MINIMAL + "sla:\n  - {slo: checkuot, period: month, target: 0.99}\n",
            "sla[0].slo: no SLO is called 'checkuot' (SLOs: checkout)",
        ),
        (
            MINIMAL + "sla:\n  - {slo: checkout, period: week, target: 0.99}\n",
            "sla[0].period: month or quarter, not 'week'",
        ),
        (
            MINIMAL + "sla:\n  - {slo: checkout, period: month, target: 0.99, credits: "
            "[{below: 1.5, credit: 10}]}\n",
            "sla[0].credits[0].below: strictly between 0 and 1",
        ),
        (
            MINIMAL + "sla:\n  - {slo: checkout, period: month, target: 0.99, credits: "
            "[{below: 0.9, credit: 120}]}\n",
            "sla[0].credits[0].credit: a percentage of the period's fee, 0 to 100",
        ),
        (
            MINIMAL + "sla:\n  - {slo: checkout, period: month, target: 0.99, credits: "
            "[{below: 0.995, credit: 10}]}\n",
            "sla[0].credits: a credit tier below 0.995 is above the target 0.99",
        ),
        (
            MINIMAL + "sla:\n  - {slo: checkout, period: month, target: 0.99, credits: "
            "[{below: 0.99, credit: 50}, {below: 0.9, credit: 10}]}\n",
            "sla[0].credits: the tier below 0.9 owes less",
        ),
        (
            MINIMAL + "sla:\n  - {slo: checkout, period: month, target: 0.99}\n"
            "  - {slo: checkout, period: month, target: 0.999}\n",
            "sla[1]: a second monthly SLA for 'checkout' (the first is sla[0])",
        ),
        (
            MINIMAL + "  - name: checkout\n    kind: availability\n    target: 0.9\n",
            "slos[1].name: 'checkout' is taken by slos[0]",
        ),
        (MINIMAL.replace("version: 1\n", ""), "version: missing; write `version: 1`"),
        (MINIMAL.replace("version: 1", "version: 2"), "version: 2 is not a version"),
        (MINIMAL.replace("version: 1", "version: '1'"), "version: '1' is not a version"),
        ("", "slo.yaml is empty; `eventsapi slo init`"),
        ("- 1\n", "the file is a mapping with the keys version, slos"),
        ("version: 1\n", "the file: object missing required field `slos`"),
        ("version: 1\nslos: {a: 1}\n", "slos: expected `array`, got `object`"),
        (MINIMAL + "    target: 0.9\n", "found the key 'target' twice"),
        ("version: 1\nslos: [\n", "slo.yaml is not valid YAML"),
    ],
)
def test_an_error_names_its_place(text: str, expected: str) -> None:
    message = problems(text)
    assert message.startswith("slo.yaml")
    assert expected in message


def test_a_yaml_error_gives_the_line() -> None:
    assert 'in "slo.yaml", line 3' in problems("version: 1\nslos:\n  - {name: a\n")


def test_every_problem_is_listed_at_once() -> None:
    message = problems(
        """\
version: 1
slos:
  - {name: a, kind: latency, target: 2, threshold_ms: 7}
  - {name: a, kind: availability, target: 0.9, window: 1y}
alerting:
  webhook: mailto:x@example.com
sla:
  - {slo: b, period: month, target: 0.9}
"""
    )
    lines = message.splitlines()
    assert lines[0] == "slo.yaml is not a valid SLO file:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "slos[0].target",
        "slos[0].threshold_ms",
        "slos[1].window",
        "slos[1].name",
        "alerting.webhook",
        "sla[0].slo",
    ]


# --- writing ------------------------------------------------------------------------------


def test_the_written_defaults_read_back_and_explain_each_field() -> None:
    text = dump_slo_config(default_config())
    assert parse(text) == default_config()
    explained = {
        match[1] for match in re.finditer(r"^\s*-?\s*([a-z_]+):[^#\n]*#", text, flags=re.MULTILINE)
    }
    assert explained >= {
        "version", "name", "description", "kind", "threshold_ms", "target", "window", "routes",
        "min_requests", "webhook", "rules", "slo", "period", "credits",
    }  # fmt: skip
    for bound in LATENCY_BOUNDS_MS:
        assert str(bound) in text


def test_empty_sections_are_written_so_that_they_read_back_empty() -> None:
    config = SLOConfig(slos=(), policy=AlertPolicy(rules=(), min_requests=7))
    text = dump_slo_config(config)
    assert "slos: []" in text
    assert "rules: []" in text
    assert "sla: []" in text
    assert parse(text) == config


@pytest.mark.parametrize(
    ("text", "value"),
    [("5m", timedelta(minutes=5)), ("1h", timedelta(hours=1)), ("3d", timedelta(days=3)),
     ("1w", timedelta(weeks=1)), ("90m", timedelta(minutes=90))],
)  # fmt: skip
def test_durations(text: str, value: timedelta) -> None:
    assert parse_duration(text) == value
    assert parse_duration(format_duration(value)) == value


def test_durations_are_written_in_the_largest_whole_unit() -> None:
    assert format_duration(timedelta(hours=48)) == "2d"
    assert format_duration(timedelta(minutes=90)) == "90m"
    assert format_duration(timedelta(weeks=1)) == "7d"
    with pytest.raises(ValueError, match="whole minutes"):
        format_duration(timedelta(seconds=90))


def test_windows() -> None:
    assert parse_window("30d") == RollingWindow(30)
    assert parse_window("month") == CalendarWindow("month")
    assert parse_window("quarter") == CalendarWindow("quarter")


# --- parse(dump(x)) == x ------------------------------------------------------------------

# Printable text, as a person would write it: YAML has no way to keep control characters,
# and reads line and paragraph separators as line breaks.
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cf", "Zl", "Zp", "Co")),
    max_size=30,
)
NAMES = st.from_regex(r"[a-z0-9](?:[-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)
SHARES = st.floats(min_value=1e-6, max_value=1 - 1e-6)
WINDOWS = st.one_of(
    st.builds(RollingWindow, st.integers(1, 400)),
    st.sampled_from([CalendarWindow("month"), CalendarWindow("quarter")]),
)
EVERY_ROUTE: Routes = "all"
ROUTES = st.one_of(
    st.just(EVERY_ROUTE),
    st.lists(
        st.builds(
            RouteMatch,
            TEXT.map(lambda text: "/" + text),
            st.frozensets(st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])),
        ),
        min_size=1,
        max_size=3,
    ).map(tuple),
)


@st.composite
def slos(draw: st.DrawFn, name: str) -> SLOSpec:
    kind = draw(st.sampled_from(SLIKind))
    threshold = draw(st.sampled_from(LATENCY_BOUNDS_MS)) if kind is SLIKind.LATENCY else None
    return SLOSpec(
        name,
        kind,
        draw(SHARES),
        draw(WINDOWS),
        draw(ROUTES),
        None if threshold is None else float(threshold),
    )


@st.composite
def rules(draw: st.DrawFn) -> tuple[AlertRule, ...]:
    names = draw(st.lists(TEXT.filter(str.strip), unique=True, max_size=4))
    found = []
    for name in names:
        short = draw(st.integers(1, 5000))
        long = short + draw(st.integers(1, 5000))
        found.append(
            AlertRule(
                name,
                draw(st.sampled_from(["page", "ticket"])),
                timedelta(minutes=long),
                timedelta(minutes=short),
                draw(st.floats(min_value=0.01, max_value=1e6)),
            )
        )
    return tuple(found)


@st.composite
def contracts(draw: st.DrawFn, name: str) -> SLAContract:
    target = draw(SHARES)
    belows = draw(st.lists(st.floats(min_value=1e-6, max_value=target), unique=True, max_size=3))
    credits = sorted(draw(st.lists(st.floats(0, 100), min_size=len(belows), max_size=len(belows))))
    tiers = tuple(
        CreditTier(below, credit)
        for below, credit in zip(sorted(belows, reverse=True), credits, strict=True)
    )
    return SLAContract(name, draw(st.sampled_from(["month", "quarter"])), target, tiers)


@st.composite
def configs(draw: st.DrawFn) -> SLOConfig:
    names = draw(st.lists(NAMES, unique=True, max_size=4))
    chosen = [draw(slos(name)) for name in names]
    sla_for = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    return SLOConfig(
        slos=tuple(chosen),
        policy=AlertPolicy(draw(rules()), draw(st.integers(0, 10**6))),
        webhook=draw(st.one_of(st.none(), NAMES.map(lambda n: f"https://hooks.example/{n}"))),
        contracts=tuple(draw(contracts(name)) for name in sla_for),
        descriptions={name: draw(TEXT) for name in names},
    )


@settings(max_examples=200)
@given(configs())
def test_a_written_config_reads_back_equal(config: SLOConfig) -> None:
    assert parse(dump_slo_config(config)) == config
