"""SLAs (``eventsapi.slo.sla``): periods, compliance, bad minutes, budget, credits, reports."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventsapi.errors import NotFound
from eventsapi.slo.sla import (
    CreditTier,
    NoSuchSLA,
    SLAContract,
    SLAReport,
    parse_period,
    period_label,
    render_csv,
    render_json,
    render_table,
    select_contracts,
    sla_report,
)
from eventsapi.slo.spec import SLIKind, SLOSpec
from eventsapi.slo.windows import MinuteBucket

MIN = timedelta(minutes=1)
AVAILABILITY = SLOSpec("availability", SLIKind.AVAILABILITY, 0.999)
TIERS = (CreditTier(0.999, 10), CreditTier(0.99, 25), CreditTier(0.95, 100))
MONTHLY = SLAContract("availability", "month", 0.999, TIERS)
NOVEMBER = parse_period("2026-11")
AFTER_NOVEMBER = datetime(2026, 12, 5, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def report(
    buckets: list[MinuteBucket],
    contract: SLAContract = MONTHLY,
    period: tuple[datetime, datetime] = NOVEMBER,
    now: datetime = AFTER_NOVEMBER,
) -> SLAReport:
    return sla_report(contract, AVAILABILITY, buckets, period[0], period[1], now)


# --- periods ------------------------------------------------------------------------------


def test_a_month_and_a_quarter_are_their_calendar_bounds_in_utc() -> None:
    assert parse_period("2026-11") == (at("2026-11-01T00:00"), at("2026-12-01T00:00"))
    assert parse_period("2026-12") == (at("2026-12-01T00:00"), at("2027-01-01T00:00"))
    assert parse_period("2026-Q4") == (at("2026-10-01T00:00"), at("2027-01-01T00:00"))
    assert parse_period("2027-q1") == (at("2027-01-01T00:00"), at("2027-04-01T00:00"))
    start, end = NOVEMBER
    assert (end - start) // MIN == 43_200


@pytest.mark.parametrize("text", ["2026-11", "2026-02", "2026-Q1", "2026-Q4"])
def test_period_label_reads_back(text: str) -> None:
    assert period_label(*parse_period(text)) == text


def test_a_span_that_is_no_period_has_no_label() -> None:
    with pytest.raises(ValueError, match="not a calendar month or quarter"):
        period_label(at("2026-11-01T00:00"), at("2026-11-15T00:00"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "no such month"),
        ("2026-00", "no such month"),
        ("2026-Q5", "a month like 2026-11 or a quarter like 2026-Q4"),
        ("26-11", "a month like 2026-11"),
        ("November", "a month like 2026-11"),
        ("2026-11-01", "a month like 2026-11"),
        ("", "a month like 2026-11"),
    ],
)
def test_a_period_that_is_neither_is_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_period(text)


# --- contracts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": 1.0}, "strictly between 0 and 1"),
        ({"period": "week"}, "'month' or 'quarter'"),
        ({"slo": " "}, "names the SLO"),
        ({"credits": (CreditTier(0.9995, 10),)}, "above the target"),
        ({"credits": (CreditTier(0.99, 10), CreditTier(0.99, 20))}, "two credit tiers"),
        ({"credits": (CreditTier(0.999, 25), CreditTier(0.99, 10))}, "cannot owe less"),
    ],
)
def test_a_contract_that_cannot_work_is_refused(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"slo": "a", "period": "month", "target": 0.999, "credits": ()}
    with pytest.raises(ValueError, match=message):
        SLAContract(**(base | kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("below", "credit", "message"),
    [(1.0, 10, "strictly between"), (0.0, 10, "strictly between"), (0.9, 101, "0 to 100")],
)
def test_a_tier_that_cannot_work_is_refused(below: float, credit: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CreditTier(below, credit)


def test_tiers_may_be_written_in_any_order() -> None:
    contract = SLAContract("a", "month", 0.999, (CreditTier(0.95, 100), CreditTier(0.999, 10)))
    assert contract.credits == (CreditTier(0.95, 100), CreditTier(0.999, 10))


# --- a month with two outages, by hand ----------------------------------------------------


def november_with_two_outages() -> list[MinuteBucket]:
    """November 2026, 1000 requests every minute, with:

    - one failed request in the first minute of every hour (720 minutes): an error ratio
      of exactly 0.1 %, as much as a 99.9 % target allows, so *not* a bad minute;
    - outage A, 3 Nov 14:10-14:55 (45 minutes): every request fails;
    - outage B, 20 Nov 02:05-02:35 (30 minutes): 200 of the 1000 fail (20 %).
    """
    outage_a = (at("2026-11-03T14:10"), at("2026-11-03T14:55"))
    outage_b = (at("2026-11-20T02:05"), at("2026-11-20T02:35"))
    buckets = []
    start, end = NOVEMBER
    minute = start
    while minute < end:
        if outage_a[0] <= minute < outage_a[1]:
            bad = 1000
        elif outage_b[0] <= minute < outage_b[1]:
            bad = 200
        elif minute.minute == 0:
            bad = 1
        else:
            bad = 0
        buckets.append(MinuteBucket(minute, 1000, bad))
        minute += MIN
    return buckets


def test_a_month_with_two_outages_computed_by_hand() -> None:
    r = report(november_with_two_outages())
    # 30 days x 1440 minutes = 43,200 minutes x 1000 requests = 43,200,000 requests.
    assert r.total_requests == 43_200_000
    # Bad: 720 (one per hour) + 45 x 1000 (outage A) + 30 x 200 (outage B) = 51,720.
    assert r.bad_requests == 51_720
    # Compliance: 1 - 51,720 / 43,200,000 = 1 - 0.0011972222... = 0.9988027777...
    assert r.compliance == pytest.approx(0.99880277777, abs=1e-11)
    assert r.met is False  # 0.99880... < 0.999
    # Bad minutes: the 45 + 30 outage minutes; the hourly minutes are exactly at 0.1 %.
    assert r.bad_minutes == 75
    # Budget: 0.1 % of 43,200,000 = 43,200 bad requests allowed; used 51,720 / 43,200.
    assert r.budget_requests == pytest.approx(43_200)
    assert r.budget_used == pytest.approx(51_720 / 43_200)  # 1.1972... : 119.7 %
    # Credit: below 0.999 (10 %) applies; below 0.99 and below 0.95 do not.
    assert r.credit_percent == 10
    assert r.complete is True
    assert (r.slo, r.period, r.target) == ("availability", "2026-11", 0.999)
    assert (r.start, r.end) == NOVEMBER


def test_a_month_with_eight_hours_down_owes_the_second_tier() -> None:
    # 10 requests a minute; 8 of the 720 hours wholly down: compliance 712/720 = 0.98888...,
    # under 0.99 (25 %) but not under 0.95 (100 %).
    start, end = NOVEMBER
    buckets = [
        MinuteBucket(start + i * MIN, 10, 10 if i < 8 * 60 else 0)
        for i in range((end - start) // MIN)
    ]
    r = report(buckets)
    assert r.compliance == pytest.approx(712 / 720)
    assert r.bad_minutes == 480
    assert r.budget_used == pytest.approx((8 / 720) / 0.001)
    assert r.credit_percent == 25


# --- tier boundaries ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "met", "credit"),
    [
        (0, True, 0),
        (100, True, 0),  # exactly 99.9 %: met
        (101, False, 10),  # just short of 99.9 %
        (1000, False, 10),  # exactly 99 %: not below 0.99, so that tier owes nothing
        (1001, False, 25),
        (5000, False, 25),  # exactly 95 %
        (5001, False, 100),
        (100_000, False, 100),  # nothing good at all
    ],
)
def test_compliance_exactly_at_a_tier_owes_nothing_from_that_tier(
    bad: int, met: bool, credit: float
) -> None:
    r = report([MinuteBucket(at("2026-11-10T12:00"), 100_000, bad)])
    assert (r.met, r.credit_percent) == (met, credit)


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_more_bad_requests_never_owe_less(first: int, second: int) -> None:
    fewer, more = sorted((first, second))
    minute = at("2026-11-10T12:00")
    low = report([MinuteBucket(minute, 10_000, fewer)])
    high = report([MinuteBucket(minute, 10_000, more)])
    assert low.credit_percent <= high.credit_percent
    assert (low.met, high.met) != (False, True)


def test_replicas_buckets_of_one_minute_add_up_before_the_minute_is_judged() -> None:
    # Each replica alone is at 0.1 % errors (1 of 1000, 0 of 1000 ... ); together 2 of 2000.
    minute = at("2026-11-10T12:00")
    r = report([MinuteBucket(minute, 1000, 1), MinuteBucket(minute, 1000, 1)])
    assert r.bad_minutes == 0
    r = report([MinuteBucket(minute, 1000, 2), MinuteBucket(minute, 1000, 1)])
    assert (r.total_requests, r.bad_requests, r.bad_minutes) == (2000, 3, 1)


# --- quarters, periods in progress, no traffic --------------------------------------------


def test_a_quarter_counts_its_three_months_and_nothing_else() -> None:
    contract = SLAContract("availability", "quarter", 0.999, TIERS)
    q4 = parse_period("2026-Q4")
    buckets = [
        MinuteBucket(at("2026-09-30T23:59"), 1000, 1000),  # Q3
        MinuteBucket(at("2026-10-01T00:00"), 1000, 0),
        MinuteBucket(at("2026-11-15T08:00"), 1000, 0),
        MinuteBucket(at("2026-12-31T23:59"), 1000, 2),
        MinuteBucket(at("2027-01-01T00:00"), 1000, 1000),  # Q1 2027
    ]
    r = report(buckets, contract, q4, now=at("2027-01-15T00:00"))
    assert r.period == "2026-Q4"
    assert (r.total_requests, r.bad_requests, r.bad_minutes) == (3000, 2, 1)
    assert r.met is True
    assert r.complete is True


def test_a_monthly_sla_is_not_measured_over_a_quarter() -> None:
    with pytest.raises(ValueError, match="per month; 2026-Q4 is not"):
        report([], MONTHLY, parse_period("2026-Q4"))


def test_a_report_is_of_its_contract_s_slo() -> None:
    other = SLAContract("latency", "month", 0.99)
    with pytest.raises(ValueError, match="measures SLO 'latency'"):
        report([], other)


def test_a_period_in_progress_counts_the_completed_minutes_only() -> None:
    now = at("2026-11-15T12:00:30")
    buckets = [
        MinuteBucket(at("2026-11-01T00:00"), 100, 0),
        MinuteBucket(at("2026-11-15T11:59"), 100, 1),
        MinuteBucket(at("2026-11-15T12:00"), 100, 100),  # the minute in progress
    ]
    r = report(buckets, now=now)
    assert r.complete is False
    assert (r.total_requests, r.bad_requests) == (200, 1)
    assert r.compliance == pytest.approx(199 / 200)
    assert r.credit_percent == 10
    # At the first instant of December, November is whole.
    assert report(buckets, now=at("2026-12-01T00:00")).complete is True


def test_a_period_without_traffic_has_no_compliance_and_owes_nothing() -> None:
    r = report([])
    assert r.total_requests == r.bad_requests == r.bad_minutes == 0
    assert r.compliance is None
    assert r.budget_used is None
    assert r.budget_requests == 0
    assert r.met is True
    assert r.credit_percent == 0


def test_a_period_not_begun_has_no_traffic() -> None:
    buckets = [MinuteBucket(at("2026-11-01T00:00"), 100, 100)]
    r = report(buckets, now=at("2026-10-20T00:00"))
    assert (r.total_requests, r.complete) == (0, False)


# --- which contracts a report covers -------------------------------------------------------

LATENCY_QUARTERLY = SLAContract("latency", "quarter", 0.99)
CONTRACTS = (SLAContract("latency", "month", 0.99), MONTHLY, LATENCY_QUARTERLY)


def test_a_month_selects_the_monthly_contracts_and_a_quarter_the_quarterly_ones() -> None:
    assert select_contracts(CONTRACTS, "2026-11") == [CONTRACTS[0], MONTHLY]
    assert select_contracts(CONTRACTS, "2026-Q4") == [LATENCY_QUARTERLY]
    assert select_contracts(CONTRACTS, "2026-q4") == [LATENCY_QUARTERLY]


def test_one_slo_selects_its_contract_of_the_period_s_kind_or_none() -> None:
    assert select_contracts(CONTRACTS, "2026-11", "availability") == [MONTHLY]
    assert select_contracts(CONTRACTS, "2026-Q4", "availability") == []


def test_an_slo_without_any_contract_is_not_found_naming_those_that_have_one() -> None:
    with pytest.raises(NoSuchSLA) as raised:
        select_contracts(CONTRACTS, "2026-11", "speed")

    assert isinstance(raised.value, NotFound)  # a 404 on GET /sla
    assert raised.value.measured == ("latency", "availability")  # the file's order
    assert (
        str(raised.value) == "No SLA measures an SLO named 'speed' (SLAs: availability, latency)."
    )
    with pytest.raises(NoSuchSLA, match=r"\(SLAs: none\)"):
        select_contracts((), "2026-11", "speed")


# --- rendering ----------------------------------------------------------------------------


def two_reports() -> list[SLAReport]:
    return [report(november_with_two_outages()), report([], now=at("2026-11-15T00:00"))]


def test_json_has_one_object_per_report_with_null_for_unknown() -> None:
    first, second = json.loads(render_json(two_reports()))
    assert first["slo"] == "availability"
    assert first["period"] == "2026-11"
    assert first["start"] == "2026-11-01T00:00:00Z"
    assert first["end"] == "2026-12-01T00:00:00Z"
    assert first["complete"] is True
    assert first["total_requests"] == 43_200_000
    assert first["bad_requests"] == 51_720
    assert first["compliance"] == pytest.approx(0.9988027777)
    assert first["met"] is False
    assert first["bad_minutes"] == 75
    assert first["budget_used"] == pytest.approx(1.1972222)
    assert first["credit_percent"] == 10
    assert second["compliance"] is None
    assert second["budget_used"] is None
    assert second["complete"] is False


def test_csv_has_a_header_row_and_one_row_per_report() -> None:
    text = render_csv(two_reports())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0].startswith("slo,period,start,end,complete,total_requests")
    assert len(rows) == 2
    assert rows[0]["total_requests"] == "43200000"
    assert rows[0]["met"] == "false"
    assert float(rows[0]["compliance"]) == pytest.approx(0.9988027777)
    assert rows[0]["credit_percent"] == "10.0"
    assert rows[1]["compliance"] == ""
    assert rows[1]["complete"] == "false"


def test_the_table_shows_each_report_on_a_line() -> None:
    lines = render_table(two_reports()).splitlines()
    assert lines[0].split()[:3] == ["SLO", "Period", "Status"]
    first = lines[1]
    for shown in ("availability", "2026-11", "complete", "43200000", "51720", "99.8802 %"):
        assert shown in first
    assert "99.9 %" in first
    assert " NO " in first
    assert "119.7 %" in first
    assert first.endswith("10 %")
    assert "in progress" in lines[2]
    assert "no traffic" in lines[2]


def test_the_table_never_rounds_a_breach_up_to_the_target() -> None:
    # 100,001 bad of 100,000,000: 99.899999 %, which rounding to 4 decimals would show as
    # 99.9000 %, the target.
    r = report([MinuteBucket(at("2026-11-10T12:00"), 100_000_000, 100_001)])
    assert r.met is False
    assert "99.8999 %" in render_table([r])
