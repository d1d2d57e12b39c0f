"""The SLI and alert-transition tables (migration 0003), as every backend reads and writes them.

The SQL is the same for SQLite and PostgreSQL but for the placeholder (``?`` or ``%s``), so it
is built here once from :data:`~eventsapi.domain.sli.LATENCY_BOUNDS_MS`: the latency columns
are ``within_<bound>``, one per bound, in bound order. The memory backend shares the input
checks and the minute arithmetic, so all three answer alike.

Minutes are stored as :func:`~eventsapi.domain.sli.epoch_minute` integers. A time bound given
between two whole minutes is rounded up (:func:`minute_at_or_after`), so that "minutes ``m``
with ``start <= m < end``" is exact whatever instant the caller passes.
"""

# Every fragment joined into SQL here is a constant of this module (column names come from
# LATENCY_BOUNDS_MS, integers); values are always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import msgspec

from eventsapi.domain.sli import (
    LATENCY_BOUNDS_MS,
    AlertTransition,
    MinuteTotals,
    Routes,
    SLIRow,
    epoch_minute,
    from_epoch_minute,
)

__all__ = [
    "COUNT_COLUMNS",
    "SLI_COLUMNS",
    "WITHIN_COLUMNS",
    "SLIKey",
    "Statement",
    "check_limit",
    "insert_transition",
    "merged",
    "minute_at_or_after",
    "minute_totals",
    "select_minutes",
    "select_transitions",
    "transition",
    "transition_params",
    "upsert_params",
    "upsert_sli",
]

WITHIN_COLUMNS: Final = tuple(f"within_{bound}" for bound in LATENCY_BOUNDS_MS)
"""``within_5``, ``within_10``, ...: requests answered within each bound, in bound order."""

COUNT_COLUMNS: Final = ("total", "errors", *WITHIN_COLUMNS)
"""The columns that record_sli adds to, in the order of an :class:`SLIRow`'s counts."""

SLI_COLUMNS: Final = ("minute", "route", "method", *COUNT_COLUMNS)
"""Every column of ``sli_minutes``, in the order of the migration."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE_US: Final = 60_000_000

SLIKey = tuple[int, str, str]
"""``(epoch minute, route, method)``: the primary key of ``sli_minutes``."""


def minute_at_or_after(instant: datetime) -> int:
    """The epoch minute of the first whole minute at or after ``instant`` (aware).

    Equal to :func:`epoch_minute` on a whole minute. Integer arithmetic on microseconds:
    a float timestamp divided by 60 could land on the wrong side of a minute.
    """
    microseconds = (instant - _EPOCH) // timedelta(microseconds=1)
    return -(-microseconds // _MINUTE_US)


def merged(rows: Sequence[SLIRow]) -> dict[SLIKey, list[int]]:
    """The rows' counts (total, errors, within...) summed per key, sorted by key.

    Sorted so that every writer changes rows in one order: two PostgreSQL transactions that
    upsert the same keys in opposite orders would deadlock. Raises ``ValueError`` for a row
    whose ``within`` does not have one count per bound or that has a negative count, before
    anything is stored.
    """
    summed: dict[SLIKey, list[int]] = {}
    for row in rows:
        if len(row.within) != len(LATENCY_BOUNDS_MS):
            raise ValueError(
                f"an SLI row has {len(LATENCY_BOUNDS_MS)} latency counts, not {len(row.within)}"
            )
        counts = (row.total, row.errors, *row.within)
        if min(counts) < 0:
            raise ValueError(f"SLI counts are never negative: {row!r}")
        key = (epoch_minute(row.minute), row.route, row.method)
        stored = summed.setdefault(key, [0] * len(COUNT_COLUMNS))
        for index, count in enumerate(counts):
            stored[index] += count
    return dict(sorted(summed.items()))


def upsert_sli(placeholder: str) -> str:
    """One row's upsert that *adds* its counts to the stored ones (atomic in the database)."""
    values = ", ".join([placeholder] * len(SLI_COLUMNS))
    adds = ", ".join(
        f"{column} = sli_minutes.{column} + excluded.{column}" for column in COUNT_COLUMNS
    )
    return (
        f"INSERT INTO sli_minutes ({', '.join(SLI_COLUMNS)}) VALUES ({values})"
        f" ON CONFLICT (minute, route, method) DO UPDATE SET {adds}"
    )


def upsert_params(rows: Sequence[SLIRow]) -> list[tuple[int | str, ...]]:
    """The parameters of :func:`upsert_sli`, one tuple per key (see :func:`merged`)."""
    return [(*key, *counts) for key, counts in merged(rows).items()]


class Statement(msgspec.Struct, frozen=True):
    sql: str
    params: list[int | str]


def select_minutes(
    start: datetime, end: datetime, routes: Routes, placeholder: str
) -> Statement | None:
    """The per-minute sums over ``routes`` for ``start <= minute < end``, oldest first.

    ``None`` when ``routes`` selects nothing (an empty tuple): no query needed.
    """
    p = placeholder
    where = f"minute >= {p} AND minute < {p}"
    params: list[int | str] = [minute_at_or_after(start), minute_at_or_after(end)]
    if routes != "all":
        if not routes:
            return None
        terms = []
        for match in routes:
            if match.methods:
                methods = sorted(match.methods)
                terms.append(f"(route = {p} AND method IN ({', '.join([p] * len(methods))}))")
                params += [match.template, *methods]
            else:
                terms.append(f"(route = {p})")
                params.append(match.template)
        where += f" AND ({' OR '.join(terms)})"
    sums = ", ".join(f"sum({column})" for column in COUNT_COLUMNS)
    return Statement(
        f"SELECT minute, {sums} FROM sli_minutes WHERE {where} GROUP BY minute ORDER BY minute",
        params,
    )


def minute_totals(row: Sequence[Any]) -> MinuteTotals:
    """A row of :func:`select_minutes` (PostgreSQL sums bigints as numeric: made ints here)."""
    counts = [int(count) for count in row[1:]]
    return MinuteTotals(
        minute=from_epoch_minute(int(row[0])),
        total=counts[0],
        errors=counts[1],
        within=tuple(counts[2:]),
    )


_TRANSITION_COLUMNS: Final = "slo, rule, severity, at, firing, long_burn_rate, short_burn_rate"


def insert_transition(placeholder: str) -> str:
    """Store a transition unless its ``(slo, rule, at)`` is stored: one row changed or none."""
    values = ", ".join([placeholder] * 7)
    return (
        f"INSERT INTO slo_alert_transitions ({_TRANSITION_COLUMNS}) VALUES ({values})"
        " ON CONFLICT (slo, rule, at) DO NOTHING"
    )


def transition_params(
    transition: AlertTransition,
) -> tuple[str, str, str, int, bool, float | None, float | None]:
    return (
        transition.slo,
        transition.rule,
        transition.severity,
        epoch_minute(transition.at),
        transition.firing,
        transition.long_burn_rate,
        transition.short_burn_rate,
    )


def check_limit(limit: int) -> None:
    if limit < 0:
        raise ValueError(f"a limit is a count >= 0, not {limit}")


def select_transitions(placeholder: str) -> str:
    """Transitions at or after a minute, newest first (ties: slo, rule), at most a limit."""
    return (
        f"SELECT {_TRANSITION_COLUMNS} FROM slo_alert_transitions WHERE at >= {placeholder}"
        f" ORDER BY at DESC, slo, rule LIMIT {placeholder}"
    )


def _severity(value: str) -> Literal["page", "ticket"]:
    if value == "page":
        return "page"
    if value == "ticket":
        return "ticket"
    raise ValueError(f"a stored alert has severity 'page' or 'ticket', not {value!r}")


def transition(row: Sequence[Any]) -> AlertTransition:
    """A row of :func:`select_transitions`."""
    slo, rule, severity, at, firing, long_rate, short_rate = row
    return AlertTransition(
        slo=slo,
        rule=rule,
        severity=_severity(severity),
        at=from_epoch_minute(at),
        firing=bool(firing),  # SQLite keeps 0 or 1
        long_burn_rate=None if long_rate is None else float(long_rate),
        short_burn_rate=None if short_rate is None else float(short_rate),
    )
