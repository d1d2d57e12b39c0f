"""Multiwindow, multi-burn-rate alerts (``eventsapi.slo.alerts``), per SRE Workbook table 5-8."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventsapi.slo import (
    DEFAULT_ALERT_POLICY,
    DEFAULT_MIN_REQUESTS,
    AlertPolicy,
    AlertRule,
    MinuteBucket,
    evaluate_alerts,
    firing_alerts,
)

NOW = datetime(2026, 11, 10, 12, 0, 30, tzinfo=UTC)  # mid-minute: 12:00 is still running
END = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def _steady(minutes: int, total: int, bad: int, *, ending: int = 0) -> list[MinuteBucket]:
    """``minutes`` buckets of ``total`` requests, ``bad`` of them bad, ending ``ending`` min ago."""
    return [MinuteBucket(END - (ending + m) * MIN, total, bad) for m in range(1, minutes + 1)]


def _firing(buckets: list[MinuteBucket], target: float = 0.999) -> set[str]:
    return {rule.name for rule in firing_alerts(buckets, target, NOW)}


def test_the_default_policy_is_table_5_8() -> None:
    table = [
        (r.name, r.severity, r.long_window, r.short_window, r.burn_rate)
        for r in DEFAULT_ALERT_POLICY.rules
    ]
    assert table == [
        ("page-fast", "page", HOUR, 5 * MIN, 14.4),
        ("page-slow", "page", 6 * HOUR, 30 * MIN, 6.0),
        ("ticket-fast", "ticket", 24 * HOUR, 2 * HOUR, 3.0),
        ("ticket-slow", "ticket", 72 * HOUR, 6 * HOUR, 1.0),
    ]
    assert DEFAULT_ALERT_POLICY.min_requests == DEFAULT_MIN_REQUESTS == 100


@pytest.mark.parametrize(
    ("rule", "hours", "fires_at", "quiet_at"),
    [
        # per 10 000 requests a minute: 144 bad = 1.44 % = 14.4 x 0.1 %
        ("page-fast", 1, 144, 143),
        ("page-slow", 6, 60, 59),
        ("ticket-fast", 24, 30, 29),
        ("ticket-slow", 72, 10, 9),
    ],
)
def test_table_5_8_thresholds_for_99_9(rule: str, hours: int, fires_at: int, quiet_at: int) -> None:
    assert rule in _firing(_steady(hours * 60, 10_000, fires_at))
    assert rule not in _firing(_steady(hours * 60, 10_000, quiet_at))


def test_fast_page_at_1_44_percent_not_1_43() -> None:
    evaluation = evaluate_alerts(_steady(60, 10_000, 144), 0.999, NOW)[0]
    assert evaluation.rule.name == "page-fast"
    assert evaluation.long_burn_rate == evaluation.short_burn_rate == 14.4
    assert evaluation.long.total == 600_000
    assert evaluation.short.total == 50_000
    assert evaluation.traffic_ok
    assert evaluation.firing
    below = evaluate_alerts(_steady(60, 10_000, 143), 0.999, NOW)[0]
    assert below.long_burn_rate == pytest.approx(14.3)
    assert not below.firing
    # only an hour of history: the slower rules see the same ratio and fire too
    assert _firing(_steady(60, 10_000, 144)) == {
        "page-fast",
        "page-slow",
        "ticket-fast",
        "ticket-slow",
    }


def test_latency_target_99_pages_at_14_4_percent() -> None:
    assert "page-fast" in _firing(_steady(60, 1000, 144), target=0.99)
    assert "page-fast" not in _firing(_steady(60, 1000, 143), target=0.99)


def test_a_short_spike_alone_does_not_page() -> None:
    # 55 clean minutes then 5 minutes at 10 %: 5 m burns at 100x, 1 h at 8.33x < 14.4
    buckets = _steady(55, 1000, 0, ending=5) + _steady(5, 1000, 100)
    (fast, *_) = evaluate_alerts(buckets, 0.999, NOW)
    assert fast.short_burn_rate == 100.0
    assert fast.long_burn_rate == pytest.approx(500 / 60_000 / 0.001)
    assert not fast.firing


def test_the_page_resolves_once_the_short_window_is_clean() -> None:
    # 50 minutes at 2 % then 10 clean minutes: 1 h still at 16.7x, the last 5 m at 0
    buckets = _steady(50, 1000, 20, ending=10) + _steady(10, 1000, 0)
    (fast, *_) = evaluate_alerts(buckets, 0.999, NOW)
    assert fast.long_burn_rate is not None
    assert fast.long_burn_rate > 14.4
    assert fast.short_burn_rate == 0.0
    assert not fast.firing
    # the same trace seen 10 minutes earlier, failing until then, was paging (later buckets
    # are in that instant's future and do not count); 5 clean minutes later it had resolved
    at = {m: {r.name for r in firing_alerts(buckets, 0.999, NOW - m * MIN)} for m in (10, 5)}
    assert "page-fast" in at[10]
    assert "page-fast" not in at[5]


def test_low_traffic_is_suppressed_by_the_guard() -> None:
    # 51 requests in the hour, the last 2 failed: 3.9 % = 39x, yet too few requests to page
    quiet = [*_steady(49, 1, 0, ending=2), *_steady(2, 1, 1)]
    (fast, *_) = evaluate_alerts(quiet, 0.999, NOW)
    assert fast.long.total == 51
    assert fast.long.bad == 2
    assert not fast.traffic_ok
    assert not fast.firing
    assert _firing(quiet) == set()
    # the same pattern with the guard off pages on two requests
    no_guard = AlertPolicy(DEFAULT_ALERT_POLICY.rules, min_requests=0)
    assert "page-fast" in {r.name for r in firing_alerts(quiet, 0.999, NOW, no_guard)}


def test_one_bad_request_in_100_does_not_page_two_do() -> None:
    # exactly the guard's 100 requests in the hour, all in the last 5 minutes
    one = [*_steady(4, 20, 0), MinuteBucket(END - 5 * MIN, 20, 1)]
    two = [*_steady(4, 20, 0), MinuteBucket(END - 5 * MIN, 20, 2)]
    assert "page-fast" not in _firing(one)  # 1 % = 10x
    assert "page-fast" in _firing(two)  # 2 % = 20x


def test_no_traffic_fires_nothing() -> None:
    for evaluation in evaluate_alerts([], 0.999, NOW):
        assert evaluation.long_burn_rate is None
        assert evaluation.short_burn_rate is None
        assert not evaluation.traffic_ok
        assert not evaluation.firing
    no_guard = AlertPolicy(DEFAULT_ALERT_POLICY.rules, min_requests=0)
    assert firing_alerts([], 0.999, NOW, no_guard) == ()


def test_a_configured_policy() -> None:
    rule = AlertRule("custom", "page", timedelta(minutes=10), timedelta(minutes=2), 2.0)
    policy = AlertPolicy((rule,), min_requests=10)
    buckets = _steady(10, 100, 1)  # 1 % = 2x a 99.5 % target's 0.5 %
    assert firing_alerts(buckets, 0.995, NOW, policy) == (rule,)
    assert firing_alerts(buckets, 0.99, NOW, policy) == ()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"severity": "email"}, "'page' or 'ticket'"),
        ({"short_window": HOUR}, "shorter"),
        ({"short_window": timedelta(seconds=30)}, "whole minutes"),
        ({"burn_rate": 0.0}, "positive"),
    ],
)
def test_invalid_rules(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "name": "r",
        "severity": "page",
        "long_window": HOUR,
        "short_window": 5 * MIN,
        "burn_rate": 14.4,
    }
    with pytest.raises(ValueError, match=message):
        AlertRule(**(base | kwargs))  # type: ignore[arg-type]


def test_invalid_policies() -> None:
    rule = DEFAULT_ALERT_POLICY.rules[0]
    with pytest.raises(ValueError, match="unique"):
        AlertPolicy((rule, rule))
    with pytest.raises(ValueError, match="count >= 0"):
        AlertPolicy((rule,), min_requests=-1)


@given(
    st.lists(
        st.integers(min_value=0, max_value=500).flatmap(
            lambda total: st.tuples(st.just(total), st.integers(min_value=0, max_value=total))
        ),
        max_size=90,
    ),
    st.sampled_from([0.99, 0.995, 0.999]),
)
def test_firing_means_both_windows_and_the_guard(
    pairs: list[tuple[int, int]], target: float
) -> None:
    buckets = [MinuteBucket(END - (i + 1) * MIN, t, b) for i, (t, b) in enumerate(pairs)]
    for e in evaluate_alerts(buckets, target, NOW):
        both = (
            e.long_burn_rate is not None
            and e.short_burn_rate is not None
            and e.long_burn_rate >= e.rule.burn_rate * (1 - 1e-12)
            and e.short_burn_rate >= e.rule.burn_rate * (1 - 1e-12)
        )
        assert e.traffic_ok == (e.long.total >= DEFAULT_MIN_REQUESTS)
        if e.firing:
            assert both
            assert e.traffic_ok
        assert e.short.total <= e.long.total
