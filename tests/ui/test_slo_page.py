"""The SLO dashboard, ``/ui/slo``: what ``GET /slo`` and ``GET /sla`` say, as a page
anyone may read, with a burn-down chart drawn as SVG and a banner while a drill runs."""

from __future__ import annotations

import html
import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.settings import Settings
from eventsapi.slo.service import SLOService
from tests.support import FakeClock
from tests.ui.pages import add_user, sign_in

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def drilled(tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:
    """The service with a drill failing a quarter of the event requests."""
    settings = Settings(
        database=str(tmp_path / "events.db"),
        rate_limits=[],
        anonymous_writes="off",
        drill_error_ratio=0.25,
    )
    with TestClient(create_app(settings, clock=clock.now)) as client:
        yield client


def _slo(client: TestClient) -> SLOService:
    service: SLOService = client.app.state.slo  # type: ignore[attr-defined]
    return service


def _next_minute(client: TestClient, clock: FakeClock) -> None:
    """Let the minute end, its counts reach the database and its alerts be evaluated."""
    clock.advance(60)
    client.portal.call(_slo(client).flush)  # type: ignore[union-attr]
    client.portal.call(_slo(client).evaluate, clock.now())  # type: ignore[union-attr]


def _traffic(client: TestClient, clock: FakeClock, requests: int = 40) -> None:
    for _ in range(requests):
        client.get("/events/nope")
    _next_minute(client, clock)


def _field(section: str, name: str) -> str:
    found = re.search(rf'data-field="{name}">(.*?)</', section, re.S)
    assert found, f"no {name}"
    return html.unescape(found.group(1)).strip()


def _section(page: str, slug: str) -> str:
    found = re.search(rf'<section class="slo" id="slo-{slug}".*?</section>', page, re.S)
    assert found, f"no section of {slug}"
    return found.group(0)


def _pct(value: float, digits: int) -> str:
    return f"{value * 100:.{digits}f} %"


def test_the_dashboard_is_public_and_linked_from_every_page(ui: TestClient) -> None:
    page = ui.get("/ui/slo")
    events = ui.get("/ui/")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<h2 id="slo-availability-heading">availability</h2>' in page.text
    assert '<a href="/ui/slo">SLOs</a>' in events.text
    assert "/ui/admin/users" not in events.text  # no Admin link for the signed out
    assert "drill-banner" not in page.text
    assert "No alert has fired" in page.text


def test_the_numbers_shown_are_those_of_get_slo(drilled: TestClient, clock: FakeClock) -> None:
    _traffic(drilled, clock)

    page = drilled.get("/ui/slo").text
    status = drilled.get("/slo").json()

    assert status["slos"], "the default SLOs"
    for slo in status["slos"]:
        section = _section(page, slo["name"])
        assert _field(section, "sli") == _pct(slo["sli"], 3)
        assert _field(section, "target") == _pct(slo["target"], 3)
        assert _field(section, "budget-remaining").startswith(
            _pct(slo["error_budget"]["remaining"], 1)
        )
        total, bad = slo["requests"]["total"], slo["requests"]["bad"]
        assert _field(section, "requests") == f"{total} ({bad} bad)"
        for window, value in slo["burn_rates"].items():
            shown = re.search(rf'data-window="{window}">([^<]*)<', section)
            assert shown, window
            assert shown.group(1) == ("—" if value is None else f"{value:.2f}")
    availability = _section(page, "availability")
    assert "(overspent)" in availability  # 25 % errors under a 99.9 % target


def test_a_running_drill_is_announced(drilled: TestClient, clock: FakeClock) -> None:
    page = drilled.get("/ui/slo").text
    drill = drilled.get("/slo").json()["drill"]

    banner = re.search(r'<div class="drill-banner" role="status".*?</div>', page, re.S)
    assert banner, "no banner"
    assert html.escape(drill) in banner.group(0)
    assert "25.00% of API requests fail with 503" in html.unescape(banner.group(0))


def test_alerts_fired_are_listed(drilled: TestClient, clock: FakeClock) -> None:
    _traffic(drilled, clock, requests=120)  # above the alerts' traffic guard (100)

    page = drilled.get("/ui/slo").text
    history = drilled.get("/slo").json()["history"]

    assert history, "a quarter of errors fires alerts"
    table = re.search(r'<table class="data" id="alert-history">.*?</table>', page, re.S)
    assert table
    rows = re.findall(r"<tr>.*?</tr>", table.group(0), re.S)[1:]  # after the header
    assert len(rows) == len(history)
    for row, transition in zip(rows, history, strict=True):
        assert f'<th scope="row">{transition["alert"]}</th>' in row
        assert ("fired" if transition["state"] == "firing" else "resolved") in row


def test_the_sla_report_shows_compliance_and_the_credit_owed(
    drilled: TestClient, clock: FakeClock
) -> None:
    _traffic(drilled, clock)

    page = drilled.get("/ui/slo").text
    reports = drilled.get("/sla").json()

    table = re.search(r'<table class="data" id="sla-report">.*?</table>', page, re.S)
    assert table, "no SLA report"
    for report in reports:
        row = re.search(rf'<th scope="row">{report["slo"]}</th>.*?</tr>', table.group(0), re.S)
        assert row, report["slo"]
        assert _field(row.group(0), "compliance") == _pct(report["compliance"], 4)
        assert _field(row.group(0), "credit") == f"{round(report['credit_percent'], 2)} %"
    owed = [r for r in reports if r["credit_percent"]]
    assert owed, "a quarter of errors breaks an SLA"
    assert "(owed this month)" in page


def _charts(page: str) -> list[ET.Element]:
    found = re.findall(r"<svg .*?</svg>", page, re.S)
    return [ET.fromstring(svg) for svg in found]  # noqa: S314 - our own page


def test_the_burn_down_is_well_formed_accessible_svg_ending_at_the_budget_left(
    drilled: TestClient, clock: FakeClock
) -> None:
    _traffic(drilled, clock)

    page = drilled.get("/ui/slo").text
    status = drilled.get("/slo").json()
    charts = _charts(page)

    assert len(charts) == len(status["slos"])
    for chart, slo in zip(charts, status["slos"], strict=True):
        assert chart.tag == SVG + "svg"
        assert chart.get("role") == "img"
        title, desc = chart.find(SVG + "title"), chart.find(SVG + "desc")
        assert title is not None
        assert desc is not None
        assert chart.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert slo["name"] in (title.text or "")
        assert chart.findall(SVG + "polyline"), "a line for the minute with traffic"
        assert "style" not in ET.tostring(chart).decode()  # the CSP refuses inline styles
        section = _section(page, slo["name"])
        last_row = re.findall(r"<tr><th scope=\"row\">.*?</tr>", section, re.S)[-1]
        remaining = _pct(slo["error_budget"]["remaining"], 1)
        assert f"<td>{remaining}</td>" in last_row


def test_the_budget_history_ends_at_what_the_status_says(
    drilled: TestClient, clock: FakeClock
) -> None:
    _traffic(drilled, clock)
    clock.advance(3 * 3600)
    _traffic(drilled, clock, requests=8)
    service = _slo(drilled)

    points = drilled.portal.call(service.budget_history, "availability")  # type: ignore[union-attr]
    status: Any = drilled.portal.call(service.status)  # type: ignore[union-attr]
    now = next(s for s in status.slos if s.name == "availability")

    assert points[-1].at == status.evaluated_at
    assert points[-1].remaining == pytest.approx(now.error_budget.remaining)
    assert points[-1].total == now.requests.total
    assert points[0].at == status.evaluated_at - timedelta(days=30)
    assert points[0].remaining is None  # no traffic 30 days ago
    steps = {b.at - a.at for a, b in itertools.pairwise(points)}
    assert steps == {timedelta(hours=1)}
    with_traffic = [p.remaining for p in points if p.remaining is not None]
    assert len(with_traffic) >= 4  # the first minute's traffic, then more three hours on


def test_a_signed_in_member_sees_the_slo_link_but_no_admin_link(ui: TestClient) -> None:
    add_user(ui, "mia")
    sign_in(ui, "mia")

    page = ui.get("/ui/slo").text

    assert '<a href="/ui/slo">SLOs</a>' in page
    assert '<a href="/ui/admin/users">Admin</a>' not in page
