"""Charts drawn on the server, as inline SVG: no script, no inline style (the pages' CSP
refuses both), colours from ``ui.css`` classes so that they follow light and dark.

An SVG is an image to assistive technology (``role="img"``), named by its ``<title>`` and
described by its ``<desc>``; the numbers themselves are in a table beside it (the page's
job), which is the chart's text alternative.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final

import msgspec
from markupsafe import Markup, escape

__all__ = ["Point", "line_chart"]

WIDTH: Final = 640
HEIGHT: Final = 260
LEFT: Final = 64  # room for the value labels
RIGHT: Final = 16
TOP: Final = 16
BOTTOM: Final = 40  # room for the date labels
TICKS: Final = 5


class Point(msgspec.Struct, frozen=True):
    """One value at one instant; ``None``: nothing to show (a gap in the line)."""

    at: datetime
    value: float | None


def _f(number: float) -> str:
    return f"{number:.1f}".removesuffix(".0")


def _segments(points: Sequence[Point]) -> list[list[Point]]:
    """The runs of points that have a value: the line breaks where there is none."""
    runs: list[list[Point]] = [[]]
    for point in points:
        if point.value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _nice_range(low: float, high: float) -> tuple[float, float]:
    if high - low < 1e-9:
        return low - 0.5, high + 0.5
    return low, high


def line_chart(
    points: Sequence[Point],
    *,
    chart_id: str,
    title: str,
    description: str,
    value_label: Callable[[float], str],
    floor: float | None = None,
    ceiling: float | None = None,
) -> Markup:
    """A line over time with the area down to zero shaded, value ticks on the left, date
    ticks below. The value axis spans the values, widened to ``floor`` and ``ceiling``."""
    if len(points) < 2:
        raise ValueError("a chart needs two points at least")
    shown = [p.value for p in points if p.value is not None]
    low = min([*shown, *([] if floor is None else [floor])], default=0.0)
    high = max([*shown, *([] if ceiling is None else [ceiling])], default=1.0)
    low, high = _nice_range(low, high)
    first, last = points[0].at, points[-1].at
    span = (last - first).total_seconds() or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime) -> float:
        return LEFT + plot_w * (at - first).total_seconds() / span

    def y(value: float) -> float:
        return TOP + plot_h * (high - value) / (high - low)

    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(description)}</desc>',
    ]
    # Value axis: evenly spaced ticks with their grid lines.
    for n in range(TICKS):
        value = low + (high - low) * n / (TICKS - 1)
        at_y = _f(y(value))
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at_y}" y2="{at_y}"/>'
        )
        parts.append(
            f'<text class="chart-label" x="{LEFT - 6}" y="{at_y}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(value_label(value))}</text>'
        )
    if low < 0 < high:  # where the budget runs out
        zero = _f(y(0))
        parts.append(
            f'<line class="chart-zero" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{zero}" y2="{zero}"/>'
        )
    # Time axis: about five dates, the last one the newest point's.
    days = max(1, math.ceil(span / 86400))
    every = max(1, math.ceil(days / 5))
    ticks = [first + (last - first) * (n * every / days) for n in range(0, days // every + 1)]
    if (last - ticks[-1]).total_seconds() > span / 10:
        ticks.append(last)
    else:
        ticks[-1] = last
    base = _f(TOP + plot_h)
    parts.append(
        f'<line class="chart-axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}"/>'
    )
    parts.append(f'<line class="chart-axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{base}"/>')
    for n, at in enumerate(ticks):
        anchor = "start" if n == 0 else "end" if at == last else "middle"
        parts.append(
            f'<text class="chart-label" x="{_f(x(at))}" y="{HEIGHT - BOTTOM + 20}" '
            f'text-anchor="{anchor}">{at.day} {at:%b}</text>'
        )
    # The values: an area down to zero (or to the bottom), and its line on top.
    ground = _f(y(min(max(0.0, low), high)))
    for run in _segments(points):
        coords = " ".join(f"{_f(x(p.at))},{_f(y(p.value or 0.0))}" for p in run)
        area = f"{_f(x(run[0].at))},{ground} {coords} {_f(x(run[-1].at))},{ground}"
        parts.append(f'<polygon class="chart-area" points="{area}"/>')
        parts.append(f'<polyline class="chart-line" points="{coords}"/>')
        if len(run) == 1:
            only = run[0]
            parts.append(
                f'<circle class="chart-dot" cx="{_f(x(only.at))}" '
                f'cy="{_f(y(only.value or 0.0))}" r="3"/>'
            )
    parts.append("</svg>")
    return Markup("\n".join(parts))  # noqa: S704 - every value above is escaped or a number
