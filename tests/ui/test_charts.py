"""The server-side SVG charts (``ui/charts.py``): well-formed, accessible, no inline style,
and the line breaks where there is no value."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from eventsapi.ui.charts import Point, line_chart

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2026, 11, 1, tzinfo=UTC)


def _chart(values: list[float | None], **extra: float) -> ET.Element:
    points = [Point(START + timedelta(hours=n), v) for n, v in enumerate(values)]
    drawn = line_chart(
        points,
        chart_id="c",
        title="Budget <left> & more",
        description="A description",
        value_label=lambda v: f"{v * 100:.0f} %",
        **extra,
    )
    return ET.fromstring(str(drawn))  # noqa: S314 - our own output


def test_a_chart_is_an_image_named_by_its_title_and_described() -> None:
    chart = _chart([1.0, 0.5, 0.25])

    assert chart.get("role") == "img"
    assert chart.get("aria-labelledby") == "c-title c-desc"
    assert chart.findtext(SVG + "title") == "Budget <left> & more"  # escaped, then read back
    assert chart.findtext(SVG + "desc") == "A description"
    assert "style" not in ET.tostring(chart).decode()


def test_the_line_breaks_where_there_is_no_value_and_a_lone_value_is_a_dot() -> None:
    chart = _chart([None, 1.0, 0.9, None, 0.5, None, None])

    lines = chart.findall(SVG + "polyline")
    assert [len(line.get("points", "").split()) for line in lines] == [2, 1]
    assert len(chart.findall(SVG + "circle")) == 1


def test_an_overspent_budget_draws_the_zero_line_and_labels_below_zero() -> None:
    chart = _chart([1.0, -2.0], floor=0.0, ceiling=1.0)

    assert chart.findall(f"{SVG}line[@class='chart-zero']")
    labels = [t.text for t in chart.findall(f"{SVG}text")]
    assert "-200 %" in labels
    assert "100 %" in labels


def test_without_any_value_the_axes_are_drawn_alone() -> None:
    chart = _chart([None, None], floor=0.0, ceiling=1.0)

    assert chart.findall(SVG + "polyline") == []
    assert len(chart.findall(f"{SVG}line[@class='chart-axis']")) == 2


def test_a_chart_needs_two_points() -> None:
    with pytest.raises(ValueError, match="two points"):
        _chart([1.0])
