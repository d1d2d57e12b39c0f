"""Service level agreements: a promise per calendar period, what it owes when broken (pure).

An SLA takes one SLO's requests (its routes, ``bad`` counted as its kind says) and measures
them per calendar month or quarter in UTC, as a contract's billing period is. Compliance is
request-weighted, like every ratio in :mod:`eventsapi.slo.math`; comparisons with the target
and the credit tiers are exact (:func:`~eventsapi.slo.spec.exact`), so a compliance of
exactly 99.9 % meets a 0.999 target and owes nothing from a ``below: 0.999`` tier.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from fractions import Fraction
from typing import Annotated, Any, Literal

import msgspec

from eventsapi.errors import NotFound
from eventsapi.slo.spec import CalendarWindow, SLOSpec, exact
from eventsapi.slo.windows import MinuteBucket, calendar_period_bounds, floor_minute

__all__ = [
    "CreditTier",
    "NoSuchSLA",
    "SLAContract",
    "SLAReport",
    "parse_period",
    "period_kind",
    "period_label",
    "render_csv",
    "render_json",
    "render_table",
    "select_contracts",
    "sla_report",
]

Period = Literal["month", "quarter"]
_Instant = Annotated[datetime, msgspec.Meta(tz=True)]  # documented as format: date-time
_Count = Annotated[int, msgspec.Meta(ge=0)]


def _check_share(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} is a number, not {value!r}")
    if not math.isfinite(value) or not 0 < value < 1:
        raise ValueError(f"{name} is strictly between 0 and 1 (e.g. 0.999), not {value!r}")


class CreditTier(msgspec.Struct, frozen=True):
    """A compliance strictly below ``below`` owes ``credit`` percent of the period's fee."""

    below: float
    credit: float

    def __post_init__(self) -> None:
        _check_share("below", self.below)
        if isinstance(self.credit, bool) or not isinstance(self.credit, int | float):
            raise TypeError(f"credit is a number, not {self.credit!r}")
        if not math.isfinite(self.credit) or not 0 <= self.credit <= 100:
            raise ValueError(f"credit is a percentage from 0 to 100, not {self.credit!r}")


class SLAContract(msgspec.Struct, frozen=True):
    """The compliance promised for ``slo`` per calendar ``period``, and the credits owed.

    When compliance falls short of ``target``, the largest credit among the tiers whose
    ``below`` is above the compliance is owed. Tiers are sensible: each ``below`` at most the
    target (a met SLA owes nothing), no two alike, and a lower ``below`` never owes less.
    """

    slo: str
    period: Period
    target: float
    credits: tuple[CreditTier, ...] = ()

    def __post_init__(self) -> None:
        if not self.slo.strip():
            raise ValueError("an SLA names the SLO it measures")
        if self.period not in ("month", "quarter"):
            raise ValueError(f"an SLA period is 'month' or 'quarter', not {self.period!r}")
        _check_share("target", self.target)
        credits = tuple(self.credits)
        msgspec.structs.force_setattr(self, "credits", credits)
        target = exact(self.target)
        for tier in credits:
            if exact(tier.below) > target:
                raise ValueError(
                    f"a credit tier below {tier.below!r} is above the target {self.target!r}: "
                    "a met SLA owes nothing"
                )
        ordered = sorted(credits, key=lambda tier: exact(tier.below), reverse=True)
        for higher, lower in itertools.pairwise(ordered):
            if exact(higher.below) == exact(lower.below):
                raise ValueError(f"two credit tiers are below {lower.below!r}")
            if exact(lower.credit) < exact(higher.credit):
                raise ValueError(
                    f"the tier below {lower.below!r} owes less ({lower.credit!r} %) than the "
                    f"tier below {higher.below!r} ({higher.credit!r} %): worse service "
                    "cannot owe less"
                )


_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")


def parse_period(text: str) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of a month (``2026-11``) or a quarter (``2026-Q4``)."""
    text = text.strip()
    if match := _MONTH.fullmatch(text):
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12 or year < 1:
            raise ValueError(f"no such month: {text!r} (months are 01 to 12)")
        return calendar_period_bounds(CalendarWindow("month"), datetime(year, month, 1, tzinfo=UTC))
    if match := _QUARTER.fullmatch(text):
        year, quarter = int(match[1]), int(match[2])
        if year < 1:
            raise ValueError(f"no such quarter: {text!r}")
        first = datetime(year, 3 * quarter - 2, 1, tzinfo=UTC)
        return calendar_period_bounds(CalendarWindow("quarter"), first)
    raise ValueError(f"a period is a month like 2026-11 or a quarter like 2026-Q4, not {text!r}")


def period_label(start: datetime, end: datetime) -> str:
    """``2026-11`` for a calendar month, ``2026-Q4`` for a quarter (the inverse of
    :func:`parse_period`); ``ValueError`` for any other span."""
    start = start.astimezone(UTC)
    if (start, end) == calendar_period_bounds(CalendarWindow("month"), start):
        return f"{start.year:04d}-{start.month:02d}"
    if (start, end) == calendar_period_bounds(CalendarWindow("quarter"), start):
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    raise ValueError(f"{start.isoformat()} to {end.isoformat()} is not a calendar month or quarter")


def period_kind(label: str) -> Period:
    """Whether a period label (``2026-11``, ``2026-Q4``) is a month or a quarter."""
    return "quarter" if "q" in label.lower() else "month"


class NoSuchSLA(NotFound):
    """No SLA, of any period, measures the SLO asked for (a name mistyped, most likely)."""

    def __init__(self, slo: str, contracts: Sequence[SLAContract]) -> None:
        self.slo = slo
        self.measured = tuple(dict.fromkeys(c.slo for c in contracts))
        """The SLOs that have an SLA, each once, in the order of the contracts."""
        names = ", ".join(sorted(self.measured)) or "none"
        super().__init__(f"No SLA measures an SLO named {slo!r} (SLAs: {names}).")


def select_contracts(
    contracts: Sequence[SLAContract], period: str, only: str | None = None
) -> list[SLAContract]:
    """The contracts a report of ``period`` (``2026-11``, ``2026-Q4``) covers: those of its
    kind, monthly or quarterly, and only the one of the SLO ``only`` if given.

    :class:`NoSuchSLA` when no contract of any period measures ``only``; an SLO whose SLA is
    of the other period's kind selects nothing, without an error.
    """
    kind = period_kind(period)
    if only is not None and not any(c.slo == only for c in contracts):
        raise NoSuchSLA(only, contracts)
    return [c for c in contracts if c.period == kind and (only is None or c.slo == only)]


# The body of GET /sla and of `sla report --format json`: its OpenAPI schema is generated
# from this struct, docstring included.
class SLAReport(msgspec.Struct, frozen=True):
    """One SLA measured over one period.

    - ``complete``: the period is over (``now >= end``); otherwise the numbers are the period
      to date, up to the last completed minute.
    - ``compliance``: good / total requests; ``None`` without traffic.
    - ``met``: compliance reaches the target exactly; true without traffic (no request broke
      the promise).
    - ``bad_minutes``: minutes whose own share of good requests is below the target.
    - ``budget_requests``: bad requests the target allows for this traffic,
      ``(1 - target) * total``; ``budget_used``: ``bad / budget_requests`` (1 = all of it,
      above 1 = overspent), ``None`` without traffic.
    - ``credit_percent``: the percentage of the period's fee owed: the largest credit among
      the tiers whose ``below`` is above the compliance; 0 when met or without traffic.
    """

    slo: str
    period: Annotated[str, msgspec.Meta(examples=["2026-11", "2026-Q4"])]
    start: _Instant
    end: _Instant
    complete: Annotated[bool, msgspec.Meta(description="The period is over")]
    total_requests: _Count
    bad_requests: _Count
    compliance: Annotated[
        Annotated[float, msgspec.Meta(ge=0, le=1)] | None,
        msgspec.Meta(description="Good / total; null without traffic"),
    ]
    target: float
    met: bool
    bad_minutes: _Count
    budget_requests: Annotated[float, msgspec.Meta(ge=0)]
    budget_used: Annotated[float, msgspec.Meta(ge=0)] | None
    credit_percent: Annotated[float, msgspec.Meta(ge=0, le=100)]


def sla_report(
    contract: SLAContract,
    slo: SLOSpec,
    buckets: Iterable[MinuteBucket],
    start: datetime,
    end: datetime,
    now: datetime,
) -> SLAReport:
    """Measure ``contract`` over ``[start, end)`` with ``slo``'s buckets, as known at ``now``.

    Only completed minutes count (before ``floor_minute(now)``), as in every SLO window.
    Several buckets of the same minute (one per replica) add up before the minute is judged.
    """
    if contract.slo != slo.name:
        raise ValueError(f"the SLA measures SLO {contract.slo!r}, not {slo.name!r}")
    label = period_label(start, end)
    if (start, end) != calendar_period_bounds(CalendarWindow(contract.period), start):
        raise ValueError(f"the SLA of {contract.slo!r} is per {contract.period}; {label} is not")
    cut = min(end, floor_minute(now))
    per_minute: defaultdict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    for bucket in buckets:
        if start <= bucket.start < cut:
            counts = per_minute[bucket.start]
            counts[0] += bucket.total
            counts[1] += bucket.bad
    target = exact(contract.target)
    allowed = 1 - target
    total = sum(counts[0] for counts in per_minute.values())
    bad = sum(counts[1] for counts in per_minute.values())
    # A minute is bad when its error ratio exceeds the budget's: bad/total > 1 - target.
    bad_minutes = sum(1 for t, b in per_minute.values() if t and Fraction(b, t) > allowed)
    budget = allowed * total
    if total == 0:
        compliance: Fraction | None = None
        met, credit = True, 0.0
    else:
        compliance = Fraction(total - bad, total)
        met = compliance >= target
        owed = [tier.credit for tier in contract.credits if exact(tier.below) > compliance]
        credit = 0.0 if met or not owed else float(max(owed))
    return SLAReport(
        slo=contract.slo,
        period=label,
        start=start,
        end=end,
        complete=now >= end,
        total_requests=total,
        bad_requests=bad,
        compliance=None if compliance is None else float(compliance),
        target=contract.target,
        met=met,
        bad_minutes=bad_minutes,
        budget_requests=float(budget),
        budget_used=None if total == 0 else float(bad / budget),
        credit_percent=credit,
    )


# -- rendering ------------------------------------------------------------------------------

_COLUMNS = SLAReport.__struct_fields__


def report_record(report: SLAReport) -> dict[str, Any]:
    """One report as a JSON-ready object (what ``--format json`` and CSV give), times as the
    API writes them everywhere: UTC with a Z."""
    record: dict[str, Any] = msgspec.to_builtins(report)
    return record


def render_json(reports: Sequence[SLAReport]) -> str:
    """A JSON array, one object per report (times in ISO 8601, no traffic as ``null``)."""
    return json.dumps([report_record(report) for report in reports], indent=2) + "\n"


def render_csv(reports: Sequence[SLAReport]) -> str:
    """CSV with a header row (the JSON's field names); an unknown value is an empty cell."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for report in reports:
        writer.writerow(
            {k: "" if v is None else str(v).lower() if isinstance(v, bool) else v
             for k, v in report_record(report).items()}
        )  # fmt: skip
    return out.getvalue()


def _floor_percent(good: int, total: int, digits: int) -> str:
    """``good / total`` as a percentage cut (never rounded up) to ``digits`` decimals.

    Rounding could print 99.9000 % for a compliance just short of a 99.9 % target that was
    not met; cutting never makes a breach look met.
    """
    scale = 10**digits
    value = math.floor(Fraction(good * 100 * scale, total))
    return f"{value // scale}.{value % scale:0{digits}d} %"


def _percent(value: float, digits: int = 2) -> str:
    return f"{value * 100:.{digits}f} %"


def render_table(reports: Sequence[SLAReport]) -> str:
    """A plain-text table for people, one line per report."""
    header = (
        "SLO", "Period", "Status", "Requests", "Bad", "Compliance", "Target", "Met",
        "Bad minutes", "Budget used", "Credit",
    )  # fmt: skip
    rows = [header]
    for r in reports:
        rows.append(
            (
                r.slo,
                r.period,
                "complete" if r.complete else "in progress",
                str(r.total_requests),
                str(r.bad_requests),
                "no traffic"
                if r.total_requests == 0
                else _floor_percent(r.total_requests - r.bad_requests, r.total_requests, 4),
                f"{float(exact(r.target) * 100):g} %",
                "yes" if r.met else "NO",
                str(r.bad_minutes),
                "-" if r.budget_used is None else _percent(r.budget_used, 1),
                f"{r.credit_percent:g} %",
            )
        )
    numeric = {3, 4, 5, 6, 8, 9, 10}
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"
