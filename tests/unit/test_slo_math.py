"""The SLO math core (``eventsapi.slo``): spec, windows, SLI, error budget, burn rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventsapi.slo import (
    BURN_RATE_WINDOWS,
    CalendarWindow,
    Counts,
    MinuteBucket,
    RollingWindow,
    RouteMatch,
    SLIKind,
    SLOSpec,
    budget_duration,
    burn_rate,
    burn_rates,
    calendar_period_bounds,
    counts_in_windows,
    default_slos,
    error_budget,
    exact,
    floor_minute,
    selects,
    sli,
    slo_budget,
    window_bounds,
    window_counts,
)

NOON = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def _minute(offset: int, total: int, bad: int = 0) -> MinuteBucket:
    """The bucket ``offset`` minutes after noon (negative: before)."""
    return MinuteBucket(NOON + offset * MIN, total, bad)


# --- spec ---------------------------------------------------------------------------------


def test_defaults_are_the_issue_s() -> None:
    availability, latency = default_slos()
    assert availability.kind is SLIKind.AVAILABILITY
    assert availability.target == 0.999
    assert availability.threshold_ms is None
    assert latency.kind is SLIKind.LATENCY
    assert latency.target == 0.99
    assert latency.threshold_ms == 300.0
    for slo in (availability, latency):
        assert slo.window == RollingWindow(days=30)
        assert slo.routes == "all"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": 1.0}, "strictly between"),
        ({"target": 0.0}, "strictly between"),
        ({"target": float("nan")}, "strictly between"),
        ({"name": " "}, "needs a name"),
        ({"threshold_ms": 300.0}, "latency SLOs only"),
        ({"routes": ()}, "at least one route"),
    ],
)
def test_invalid_availability_slo(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"name": "a", "kind": SLIKind.AVAILABILITY, "target": 0.999}
    with pytest.raises(ValueError, match=message):
        SLOSpec(**(base | kwargs))  # type: ignore[arg-type]


def test_latency_slo_needs_a_positive_threshold() -> None:
    with pytest.raises(ValueError, match="needs threshold_ms"):
        SLOSpec("l", SLIKind.LATENCY, 0.99)
    with pytest.raises(ValueError, match="positive"):
        SLOSpec("l", SLIKind.LATENCY, 0.99, threshold_ms=0)


def test_kind_and_window_from_plain_values() -> None:
    slo = SLOSpec("l", "latency", 0.99, CalendarWindow("quarter"), threshold_ms=250)  # type: ignore[arg-type]
    assert slo.kind is SLIKind.LATENCY
    with pytest.raises(ValueError, match="whole number of days"):
        RollingWindow(0)
    with pytest.raises(ValueError, match="'month' or 'quarter'"):
        CalendarWindow("year")  # type: ignore[arg-type]


def test_route_selection() -> None:
    routes = (RouteMatch("/events", frozenset({"get", "POST"})), RouteMatch("/events/{id}"))
    slo = SLOSpec("writes", SLIKind.AVAILABILITY, 0.999, routes=routes)
    assert selects(slo.routes, "/events", "GET")
    assert selects(slo.routes, "/events", "post")
    assert not selects(slo.routes, "/events", "DELETE")
    assert selects(slo.routes, "/events/{id}", "DELETE")
    assert not selects(slo.routes, "/health", "GET")
    assert selects("all", "/health", "GET")
    with pytest.raises(ValueError, match="starts with '/'"):
        RouteMatch("events")


def test_exact_reads_the_decimal_written() -> None:
    assert exact(0.999) == Fraction(999, 1000)
    assert exact(14.4) == Fraction(72, 5)
    assert exact(1) == 1
    assert 1 - 0.999 != 0.001  # why: in floats, 1 - 0.999 is 0.0010000000000000009
    assert 1 - exact(0.999) == Fraction(1, 1000)


# --- buckets and windows ------------------------------------------------------------------


def test_bucket_validation() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        MinuteBucket(datetime(2026, 11, 10, 12, 0), 1, 0)
    with pytest.raises(ValueError, match="whole minute"):
        MinuteBucket(NOON + timedelta(seconds=1), 1, 0)
    with pytest.raises(ValueError, match="cannot exceed"):
        MinuteBucket(NOON, 1, 2)
    with pytest.raises(ValueError, match="count >= 0"):
        MinuteBucket(NOON, -1, 0)
    paris = timezone(timedelta(hours=1))
    assert MinuteBucket(datetime(2026, 11, 10, 13, 0, tzinfo=paris), 1, 0).start == NOON


def test_window_covers_completed_minutes_only() -> None:
    buckets = [_minute(m, total=1, bad=0) for m in range(-7, 2)]  # 11:53 .. 12:01
    for now in (NOON, NOON + timedelta(seconds=59, microseconds=999_999)):
        assert floor_minute(now) == NOON
        # [11:55, 12:00): 11:55, 11:56, 11:57, 11:58, 11:59; not 11:54, not 12:00 (running)
        assert window_counts(buckets, NOON - 5 * MIN, NOON) == Counts(5, 0)
        assert counts_in_windows(buckets, now, [5 * MIN])[5 * MIN] == Counts(5, 0)
    assert counts_in_windows(buckets, NOON + MIN, [5 * MIN])[5 * MIN] == Counts(5, 0)
    edge = [_minute(-5, 1, 1), _minute(-6, 1000, 1000), _minute(0, 1000, 1000)]
    assert counts_in_windows(edge, NOON, [5 * MIN])[5 * MIN] == Counts(1, 1)


def test_buckets_of_the_same_minute_add_up() -> None:
    replicas = [_minute(-1, 10, 1), _minute(-1, 20, 2), _minute(-1, 30, 0)]
    assert counts_in_windows(replicas, NOON, [MIN])[MIN] == Counts(60, 3)


def test_window_lengths_are_whole_minutes() -> None:
    with pytest.raises(ValueError, match="whole number of minutes"):
        counts_in_windows([], NOON, [timedelta(seconds=90)])


# --- SLI: request weighted ----------------------------------------------------------------


def test_sli_weights_by_requests_not_by_minutes() -> None:
    buckets = [_minute(-2, total=10, bad=1), _minute(-1, total=1000, bad=0)]
    counts = counts_in_windows(buckets, NOON, [5 * MIN])[5 * MIN]
    assert counts == Counts(1010, 1)
    assert sli(counts) == 1009 / 1010  # 0.99901
    average_of_ratios = (9 / 10 + 1000 / 1000) / 2  # 0.95: Sloth's issue 332
    assert sli(counts) != pytest.approx(average_of_ratios)
    assert burn_rate(counts, 0.999) == pytest.approx(1000 / 1010)  # (1/1010) / 0.001


def test_empty_window_is_undefined_not_a_division_by_zero() -> None:
    counts = counts_in_windows([], NOON, [5 * MIN])[5 * MIN]
    assert counts == Counts(0, 0)
    assert sli(counts) is None
    assert burn_rate(counts, 0.999) is None
    budget = error_budget(counts, 0.999)
    assert budget.budget_requests == 0
    assert budget.remaining_requests == 0
    assert budget.consumed_fraction is None
    assert budget.remaining_fraction is None
    assert not budget.exhausted
    assert set(burn_rates([], 0.999, NOON).values()) == {None}


def test_burn_rates_for_every_window() -> None:
    # 1 bad in 1000 every minute for 3 days: a burn rate of exactly 1 everywhere
    buckets = [_minute(-m, 1000, 1) for m in range(1, 3 * 24 * 60 + 1)]
    rates = burn_rates(buckets, 0.999, NOON)
    assert list(rates) == list(BURN_RATE_WINDOWS)
    assert set(rates.values()) == {1.0}
    # plus a second replica, failing in the last 5 minutes: 99 bad in 1000 each
    incident = buckets + [_minute(-m, 1000, 99) for m in range(1, 6)]
    rates = burn_rates(incident, 0.999, NOON)
    assert rates[5 * MIN] == 50.0  # 500 bad of 10 000 = 5 % = 50 x 0.1 %
    assert rates[timedelta(minutes=30)] == 15.0  # 525 bad of 35 000 = 1.5 %
    assert rates[timedelta(days=3)] == pytest.approx((4320 + 495) / 4_325_000 / 0.001)


def test_burn_rate_table_5_8_thresholds_are_exact() -> None:
    assert burn_rate(Counts(10_000, 144), 0.999) == 14.4
    assert burn_rate(Counts(10_000, 60), 0.999) == 6.0
    assert burn_rate(Counts(10_000, 30), 0.999) == 3.0
    assert burn_rate(Counts(10_000, 10), 0.999) == 1.0
    assert burn_rate(Counts(1000, 144), 0.99) == 14.4  # the latency default: 14.4 %


# --- error budget -------------------------------------------------------------------------


def test_budget_consumption() -> None:
    budget = error_budget(Counts(100_000, 25), 0.999)
    assert budget.allowed_error_ratio == 0.001
    assert budget.budget_requests == 100.0
    assert budget.consumed_requests == 25
    assert budget.remaining_requests == 75.0
    assert budget.consumed_fraction == 0.25
    assert budget.remaining_fraction == 0.75
    assert not budget.exhausted


def test_budget_overspent_goes_negative() -> None:
    budget = error_budget(Counts(100_000, 150), 0.999)
    assert budget.remaining_requests == -50.0
    assert budget.consumed_fraction == 1.5
    assert budget.remaining_fraction == -0.5
    assert budget.exhausted
    assert error_budget(Counts(100_000, 100), 0.999).remaining_fraction == 0.0


def test_budget_of_an_slo_over_its_rolling_window() -> None:
    slo = SLOSpec("a", SLIKind.AVAILABILITY, 0.999, RollingWindow(days=7))
    inside = _minute(-7 * 24 * 60, 5000, 5)  # the oldest minute of the window
    outside = _minute(-7 * 24 * 60 - 1, 5000, 5000)
    budget = slo_budget(slo, [inside, outside, _minute(-1, 5000, 0)], NOON)
    assert (budget.total_requests, budget.bad_requests) == (10_000, 5)
    assert budget.consumed_fraction == 0.5


# --- calendar windows ---------------------------------------------------------------------


def test_november_2026_has_30_days_and_43_2_minutes_of_budget() -> None:
    start, end = calendar_period_bounds(CalendarWindow("month"), NOON)
    assert (start, end) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert end - start == timedelta(days=30)
    assert budget_duration(0.999, end - start) == timedelta(minutes=43, seconds=12)
    assert budget_duration(0.99, end - start) == timedelta(hours=7, minutes=12)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "instant", "start", "end", "days"),
    [
        ("month", "2026-02-14", "2026-02-01", "2026-03-01", 28),
        ("month", "2028-02-29T12:00", "2028-02-01", "2028-03-01", 29),
        ("month", "2026-12-31T23:59", "2026-12-01", "2027-01-01", 31),
        ("quarter", "2026-11-10", "2026-10-01", "2027-01-01", 92),
        ("quarter", "2026-01-01", "2026-01-01", "2026-04-01", 90),
        ("quarter", "2026-06-30T23:59", "2026-04-01", "2026-07-01", 91),
    ],
)
def test_calendar_periods(period: str, instant: str, start: str, end: str, days: int) -> None:
    bounds = calendar_period_bounds(CalendarWindow(period), _utc(instant))  # type: ignore[arg-type]
    assert bounds == (_utc(start), _utc(end))
    assert bounds[1] - bounds[0] == timedelta(days=days)


def test_calendar_window_is_the_period_to_date_then_the_whole_period() -> None:
    month = CalendarWindow("month")
    nov1, dec1 = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    assert window_bounds(month, NOON + timedelta(seconds=30)) == (nov1, NOON)
    assert window_bounds(month, dec1) == (nov1, dec1)  # November complete
    assert window_bounds(month, dec1 + MIN) == (dec1, dec1 + MIN)
    assert window_bounds(RollingWindow(30), NOON) == (NOON - timedelta(days=30), NOON)


def test_budget_over_a_calendar_month() -> None:
    slo = SLOSpec("sla", SLIKind.AVAILABILITY, 0.999, CalendarWindow("month"))
    nov1, dec1 = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    buckets = [
        MinuteBucket(nov1 - MIN, 1_000_000, 1_000_000),  # 31 October: another month
        MinuteBucket(nov1, 400_000, 100),
        MinuteBucket(dec1 - MIN, 600_000, 300),
        MinuteBucket(dec1, 1_000_000, 1_000_000),  # 1 December: another month
    ]
    budget = slo_budget(slo, buckets, dec1)
    assert (budget.total_requests, budget.bad_requests) == (1_000_000, 400)
    assert budget.budget_requests == 1000.0
    assert budget.remaining_requests == 600.0
    assert budget.consumed_fraction == 0.4
    mid = slo_budget(slo, buckets, NOON)  # November to date: only the first minute so far
    assert (mid.total_requests, mid.bad_requests) == (400_000, 100)


# --- properties ---------------------------------------------------------------------------

_bucket_counts = st.lists(
    st.integers(min_value=0, max_value=10_000).flatmap(
        lambda total: st.tuples(st.just(total), st.integers(min_value=0, max_value=total))
    ),
    max_size=40,
)
_targets = st.sampled_from([0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.99999])


@given(_bucket_counts)
def test_sli_is_a_request_weighted_share_in_0_1(pairs: list[tuple[int, int]]) -> None:
    buckets = [_minute(-1 - i, total, bad) for i, (total, bad) in enumerate(pairs)]
    counts = counts_in_windows(buckets, NOON, [timedelta(hours=1)])[timedelta(hours=1)]
    total, bad = sum(t for t, _ in pairs), sum(b for _, b in pairs)
    assert counts == Counts(total, bad)
    value = sli(counts)
    if total == 0:
        assert value is None
    else:
        assert value is not None
        assert 0.0 <= value <= 1.0
        assert value == pytest.approx((total - bad) / total)


@given(
    st.integers(min_value=1, max_value=10**9).flatmap(
        lambda total: st.tuples(
            st.just(total),
            st.integers(min_value=0, max_value=total),
            st.integers(min_value=0, max_value=total),
        )
    ),
    _targets,
)
def test_burn_rate_is_monotonic_in_bad(case: tuple[int, int, int], target: float) -> None:
    total, a, b = case
    low, high = sorted((a, b))
    low_rate, high_rate = (
        burn_rate(Counts(total, low), target),
        burn_rate(Counts(total, high), target),
    )
    assert low_rate is not None
    assert high_rate is not None
    assert 0.0 <= low_rate <= high_rate
    budget = error_budget(Counts(total, high), target)
    assert budget.consumed_fraction == pytest.approx(high_rate)
    assert budget.remaining_requests == pytest.approx(budget.budget_requests - high)
