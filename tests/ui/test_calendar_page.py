"""The month (``/ui/calendar``), the calendar feeds' links, and what live updates need of
the pages (the browser test of the live update itself is in tests/browser)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.settings import Settings
from tests.support import FakeClock
from tests.ui.pages import add_user, sign_in
from tests.ui.test_event_pages import create


def days_of(page: str) -> dict[str, list[str]]:
    """Each day of the grid (``2031-06-01``) with its events as ``time title``."""
    found: dict[str, list[str]] = {}
    for cell in re.findall(r"<td class=\"day[^\"]*\"[^>]*>(.*?)</td>", page, re.S):
        day = re.search(r'<time datetime="(\d{4}-\d{2}-\d{2})">', cell)
        assert day is not None
        entries = re.findall(
            r'<li><time datetime="[^"]+">([^<]+)</time> <a [^>]+>([^<]+)</a>', cell
        )
        found[day.group(1)] = [f"{time} {html.unescape(title)}" for time, title in entries]
    return found


def rows_of(page: str) -> list[list[str]]:
    """The grid's weeks, each its days' dates."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        re.findall(r'<time datetime="(\d{4}-\d{2}-\d{2})">', row)
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def link(page: str, rel: str) -> str:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    assert found is not None, f"no {rel} link"
    return html.unescape(found.group(1))


@pytest.fixture
def signed_in(ui: TestClient) -> TestClient:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    return ui


def test_the_month_is_a_grid_of_iso_weeks_with_each_days_events(signed_in: TestClient) -> None:
    ui = signed_in
    create(ui, title="Jazz & blues", starts_at="2031-06-03T20:00:00Z")
    create(ui, title="Breakfast", starts_at="2031-06-03T07:30:00Z")
    create(ui, title="Last one", starts_at="2031-06-30T21:00:00Z")
    create(ui, title="In July", starts_at="2031-07-01T09:00:00Z")
    create(ui, title="No date", starts_at=None)

    answer = ui.get("/ui/calendar?month=2031-06")

    assert answer.status_code == 200
    page = answer.text
    assert "<h1>June 2031</h1>" in page
    assert re.findall(r'<th scope="col"><abbr title="(\w+)">', page) == [
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
    ]  # fmt: skip
    # June 2031 starts on a Sunday: the grid starts on Monday 26 May and ends on Sunday 6 July.
    rows = rows_of(page)
    assert [len(row) for row in rows] == [7] * 6
    assert (rows[0][0], rows[0][6]) == ("2031-05-26", "2031-06-01")
    assert (rows[-1][0], rows[-1][6]) == ("2031-06-30", "2031-07-06")
    days = days_of(page)
    assert days["2031-06-03"] == ["07:30 Breakfast", "20:00 Jazz & blues"]
    assert days["2031-06-30"] == ["21:00 Last one"]
    assert days["2031-07-01"] == []  # outside the month: its events are July's
    assert sum(len(entries) for entries in days.values()) == 3
    assert "June 2031: 3 events, days and times in UTC" in page
    assert 'class="day outside"' in page
    assert link(page, "prev") == "/ui/calendar?month=2031-05"
    assert link(page, "next") == "/ui/calendar?month=2031-07"
    assert '<a href="/ui/events/' in page


def test_an_events_day_is_that_of_the_calendars_time_zone_and_its_time_its_own(
    signed_in: TestClient,
) -> None:
    ui = signed_in
    # 1 June 01:30 in Paris, 31 May 23:30 in UTC.
    create(ui, title="Night walk", starts_at="2031-05-31T23:30:00Z", timezone="Europe/Paris")
    # 30 June 23:00 in New York, 1 July 03:00 in UTC.
    create(ui, title="Late show", starts_at="2031-07-01T03:00:00Z", timezone="America/New_York")
    # The first instant of June in Tokyo, and the last of June in Tokyo.
    create(ui, title="Tokyo first", starts_at="2031-05-31T15:00:00Z", timezone="Asia/Tokyo")
    create(ui, title="Tokyo last", starts_at="2031-06-30T14:59:59Z", timezone="Asia/Tokyo")
    create(ui, title="Tokyo next", starts_at="2031-06-30T15:00:00Z", timezone="Asia/Tokyo")

    utc_june = days_of(ui.get("/ui/calendar?month=2031-06").text)
    utc_may = days_of(ui.get("/ui/calendar?month=2031-05").text)
    paris = days_of(ui.get("/ui/calendar?month=2031-06&tz=Europe/Paris").text)
    new_york = days_of(ui.get("/ui/calendar?month=2031-06&tz=America/New_York").text)
    tokyo_page = ui.get("/ui/calendar?month=2031-06&tz=Asia/Tokyo").text
    tokyo = days_of(tokyo_page)

    assert utc_may["2031-05-31"] == ["00:00 JST Tokyo first", "01:30 CEST Night walk"]
    assert "Night walk" not in str(utc_june)
    assert "Late show" not in str(utc_june)
    assert paris["2031-06-01"][0] == "01:30 Night walk"
    assert new_york["2031-06-30"][-1] == "23:00 Late show"
    assert tokyo["2031-06-01"] == ["00:00 Tokyo first", "01:30 CEST Night walk"]
    assert tokyo["2031-06-30"] == ["23:59 Tokyo last"]
    assert "Tokyo next" not in tokyo_page
    # The zone is kept by the months' links.
    assert link(tokyo_page, "next") == "/ui/calendar?month=2031-07&tz=Asia%2FTokyo"


def test_without_a_month_it_is_this_month_in_the_time_zone(
    ui: TestClient, clock: FakeClock
) -> None:
    # The tests' clock: 2 January 2025, 03:04 UTC, still 1 January in Los Angeles.
    assert "<h1>January 2025</h1>" in ui.get("/ui/calendar").text
    page = ui.get("/ui/calendar?tz=America/Los_Angeles").text
    assert "<h1>January 2025</h1>" in page
    assert re.search(r'aria-current="date">\s*<p class="date"><time datetime="2025-01-01"', page)
    kiritimati = ui.get("/ui/calendar?tz=Pacific/Kiritimati&month=2024-12").text
    assert "<h1>December 2024</h1>" in kiritimati


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("month=2031-13", "month"),
        ("month=2031-6", "month"),
        ("month=June", "month"),
        ("month=0001-01", "month"),
        ("tz=Mars/Olympus", "tz"),
        ("tz=../../etc/passwd", "tz"),
    ],
)
def test_a_month_or_zone_that_is_none_is_a_400_page(
    ui: TestClient, query: str, parameter: str
) -> None:
    answer = ui.get(f"/ui/calendar?{query}")

    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert f"{parameter} must be" in answer.text


@pytest.fixture
def small_pages(tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:
    """The service with API pages of 2 events at most."""
    settings = Settings(
        database=str(tmp_path / "events.db"),
        rate_limits=[],
        anonymous_writes="off",
        max_page_size=2,
        page_size=2,
    )
    with TestClient(create_app(settings, clock=clock.now)) as client:
        yield client


def test_the_month_reads_every_page_of_the_apis_listing(small_pages: TestClient) -> None:
    ui = small_pages
    add_user(ui, "ann")
    sign_in(ui, "ann")
    for day in range(1, 8):
        create(ui, title=f"Day {day}", starts_at=f"2031-06-{day:02}T12:00:00Z")

    days = days_of(ui.get("/ui/calendar?month=2031-06").text)

    assert [days[f"2031-06-{day:02}"] for day in range(1, 8)] == [
        [f"12:00 Day {day}"] for day in range(1, 8)
    ]


def test_the_list_offers_the_feed_to_subscribe_to_with_its_filters(ui: TestClient) -> None:
    page = ui.get("/ui/?q=jazz&tag=music,+live&status=scheduled&sort=title").text

    webcal = re.search(r'<a href="(webcal://[^"]+)">Subscribe in your calendar app</a>', page)
    web = re.search(r'<a class="feed-url" href="([^"]+)">', page)
    assert webcal is not None
    assert web is not None
    expected = "testserver/events.ics?q=jazz&status=scheduled&tag=music&tag=live"
    assert html.unescape(webcal.group(1)) == "webcal://" + expected
    assert html.unescape(web.group(1)) == "http://" + expected
    # The feed answers that address, with those filters.
    feed = ui.get("/events.ics?q=jazz&status=scheduled&tag=music&tag=live")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    plain = ui.get("/ui/").text
    assert 'href="webcal://testserver/events.ics"' in plain


def test_the_feeds_links_name_the_public_url_when_it_is_set(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = Settings(
        database=str(tmp_path / "events.db"),
        rate_limits=[],
        public_url="https://events.example.com",
    )
    with TestClient(create_app(settings, clock=clock.now)) as ui:
        page = ui.get("/ui/?tag=go", headers={"Host": "attacker.example"}).text

    assert 'href="webcal://events.example.com/events.ics?tag=go"' in page
    assert 'href="https://events.example.com/events.ics?tag=go"' in page
    assert "attacker.example" not in page


def test_an_events_page_links_its_own_calendar_file(signed_in: TestClient) -> None:
    ui = signed_in
    event_id = create(ui, title="Picnic")
    undated = create(ui, title="Some day", starts_at=None)

    page = ui.get(f"/ui/events/{event_id}").text
    found = re.search(r'<a href="([^"]+)" download>Add to my calendar</a>', page)

    assert found is not None
    calendar = ui.get(found.group(1))
    assert calendar.status_code == 200
    assert "SUMMARY:Picnic" in calendar.text
    assert "Add to my calendar" not in ui.get(f"/ui/events/{undated}").text


def stream_of(page: str) -> str:
    script = r'<script src="/ui/static/live\.js\?v=[^"]+" defer data-stream="([^"]+)"'
    found = re.search(script, page)
    assert found is not None, "the page does not follow the stream"
    return html.unescape(found.group(1))


def test_pages_follow_the_stream_from_before_they_read_their_events(
    signed_in: TestClient,
) -> None:
    ui = signed_in
    event_id = create(ui, title="Picnic")
    token = ui.get("/events").headers["sync-token"]  # the log's last position now

    for path in ("/ui/", f"/ui/events/{event_id}", "/ui/calendar?month=2031-06"):
        page = ui.get(path).text
        stream = stream_of(page)
        assert stream == f"/changes/stream?since={token}"
        assert "data-live" in page
    assert f'data-event="{event_id}"' in ui.get(f"/ui/events/{event_id}").text


def test_without_the_stream_pages_load_no_live_script(tmp_path: Path, clock: FakeClock) -> None:
    settings = Settings(database=str(tmp_path / "events.db"), rate_limits=[], stream_limit=0)
    with TestClient(create_app(settings, clock=clock.now)) as ui:
        for path in ("/ui/", "/ui/calendar"):
            answer = ui.get(path)
            assert answer.status_code == 200
            assert "live.js" not in answer.text
