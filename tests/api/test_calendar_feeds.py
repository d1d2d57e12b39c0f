"""Calendar feeds: ``GET /events.ics`` and ``GET /events/{id}.ics`` (issue 15).

What calendar apps rely on: the feeds are iCalendar that two independent parsers read
(``icalendar``, which writes them, and ``vobject``, which shares no code with it), every
line is folded at 75 octets without splitting a character, text comes back exactly, the
UID stays, SEQUENCE grows with each version, and ETag/304 spare a refetch. Each test runs
on every backend (the ``client`` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import msgspec
import pytest
import vobject
from starlette.testclient import TestClient

from eventsapi.api import feeds
from eventsapi.app import create_app
from eventsapi.settings import Settings
from eventsapi.storage import Backend
from tests.api.asserts import MERGE_PATCH_HEADERS, assert_problem, create, send_json
from tests.support import START, FakeClock

CALENDAR_TYPE = "text/calendar; charset=utf-8"
IDENTITY = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}
PARIS_MEETUP: dict[str, Any] = {
    "id": "meetup",
    "title": "Go meetup",
    "description": "Talks, then pizza.",
    "starts_at": "2025-03-01T18:00:00+01:00",
    "ends_at": "2025-03-01T21:00:00+01:00",
    "timezone": "Europe/Paris",
    "location": "Paris",
    "tags": ["go", "meetup"],
}


def ics(client: TestClient, url: str, **headers: str) -> bytes:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == CALENDAR_TYPE
    return response.content


# The parsed components are Any: the library types each property as the union of every
# value type, and the tests read them as the property they are.
def parsed(body: bytes) -> Any:
    return icalendar.Calendar.from_ical(body)


def vevents(body: bytes) -> list[Any]:
    return list(parsed(body).walk("VEVENT"))


def the_vevent(body: bytes) -> Any:
    (event,) = vevents(body)
    return event


def read_by_vobject(body: bytes) -> Any:
    return vobject.readOne(body.decode("utf-8"))


def lines_of(body: bytes) -> list[bytes]:
    """The physical lines, checking that every one ends with CRLF and nothing else."""
    assert body.endswith(b"\r\n")
    lines = body[:-2].split(b"\r\n")
    for line in lines:
        assert b"\r" not in line, line
        assert b"\n" not in line, line
    return lines


def unfolded(body: bytes) -> list[str]:
    """The content lines (RFC 5545 3.1: a CRLF then one space or tab continues a line),
    each of them valid UTF-8 once joined."""
    logical: list[bytes] = []
    for line in lines_of(body):
        if line[:1] in (b" ", b"\t"):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return [line.decode("utf-8") for line in logical]


def content_line(body: bytes, name: str) -> str:
    """The one content line named ``name``, outside the VTIMEZONEs (their observances have
    a DTSTART of their own)."""
    found = []
    in_zone = False
    for line in unfolded(body):
        if line in ("BEGIN:VTIMEZONE", "END:VTIMEZONE"):
            in_zone = line.startswith("BEGIN")
        elif not in_zone and line.split(":")[0].split(";")[0] == name:
            found.append(line)
    assert len(found) == 1, (name, found)
    return found[0]


# --- one event ---------------------------------------------------------------------


def test_an_event_is_a_vevent_with_everything_a_calendar_shows(client: TestClient) -> None:
    event = create(client, **PARIS_MEETUP)

    body = ics(client, "/events/meetup.ics")
    calendar = parsed(body)
    vevent = the_vevent(body)

    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"] == "-//eventsapi//Calendar feeds//EN"
    assert calendar["CALSCALE"] == "GREGORIAN"
    assert calendar["METHOD"] == "PUBLISH"
    assert content_line(body, "X-WR-CALNAME") == "X-WR-CALNAME:Go meetup"
    assert content_line(body, "REFRESH-INTERVAL") == "REFRESH-INTERVAL;VALUE=DURATION:PT1H"
    assert content_line(body, "X-PUBLISHED-TTL") == "X-PUBLISHED-TTL:PT1H"
    assert vevent["UID"] == "meetup@eventsapi.invalid"
    assert vevent["SEQUENCE"] == 0
    assert vevent["SUMMARY"] == "Go meetup"
    assert vevent["DESCRIPTION"] == "Talks, then pizza."
    assert vevent["LOCATION"] == "Paris"
    assert vevent["CATEGORIES"].cats == ["go", "meetup"]
    assert vevent["STATUS"] == "CONFIRMED"
    created = datetime.fromisoformat(event["created_at"]).replace(microsecond=0)
    for stamp in ("DTSTAMP", "CREATED", "LAST-MODIFIED"):
        assert vevent.decoded(stamp) == created, stamp
        assert content_line(body, stamp).endswith("Z"), stamp  # in UTC
    assert vevent.decoded("DTSTART") == datetime.fromisoformat(PARIS_MEETUP["starts_at"])
    assert vevent.decoded("DTEND") == datetime.fromisoformat(PARIS_MEETUP["ends_at"])


def test_an_event_in_a_time_zone_has_its_tzid_and_vtimezone(client: TestClient) -> None:
    create(client, **PARIS_MEETUP)

    body = ics(client, "/events/meetup.ics")

    assert content_line(body, "DTSTART") == "DTSTART;TZID=Europe/Paris:20250301T180000"
    assert content_line(body, "DTEND") == "DTEND;TZID=Europe/Paris:20250301T210000"
    (zone,) = parsed(body).walk("VTIMEZONE")
    assert zone["TZID"] == "Europe/Paris"
    # the zone as the feed describes it: CET, +01:00 on that day
    assert zone.to_tz().utcoffset(datetime(2025, 3, 1, 18)) == timedelta(hours=1)
    # vobject builds its own time zone from the VTIMEZONE and gets the same instant
    vevent = read_by_vobject(body).vevent
    assert vevent.dtstart.value == datetime(2025, 3, 1, 17, tzinfo=UTC)
    assert vevent.dtend.value == datetime(2025, 3, 1, 20, tzinfo=UTC)


def test_an_event_without_a_time_zone_is_in_utc(client: TestClient) -> None:
    create(client, id="e1", starts_at="2025-03-01T18:00:00+01:00")

    body = ics(client, "/events/e1.ics")

    assert content_line(body, "DTSTART") == "DTSTART:20250301T170000Z"
    assert "DTEND" not in the_vevent(body)
    assert not list(parsed(body).walk("VTIMEZONE"))


def test_a_cancelled_event_is_status_cancelled(client: TestClient) -> None:
    create(client, **{**PARIS_MEETUP, "status": "cancelled"})

    body = ics(client, "/events/meetup.ics")

    assert the_vevent(body)["STATUS"] == "CANCELLED"
    assert read_by_vobject(body).vevent.status.value == "CANCELLED"


def test_an_event_without_a_start_is_an_empty_calendar_until_it_has_one(
    client: TestClient,
) -> None:
    create(client, id="e1", title="Some day")

    before = ics(client, "/events/e1.ics")
    send_json(
        client, "PATCH", "/events/e1", {"starts_at": "2025-03-01T18:00:00Z"}, MERGE_PATCH_HEADERS
    )
    after = ics(client, "/events/e1.ics")

    assert vevents(before) == []
    assert parsed(before)["X-WR-CALNAME"] == "Some day"
    assert the_vevent(after)["SUMMARY"] == "Some day"


def test_sequence_follows_the_version_and_the_uid_stays(client: TestClient) -> None:
    create(client, **PARIS_MEETUP)
    first = the_vevent(ics(client, "/events/meetup.ics"))

    patched = send_json(
        client, "PATCH", "/events/meetup", {"title": "Go meetup (moved)"}, MERGE_PATCH_HEADERS
    )
    second = the_vevent(ics(client, "/events/meetup.ics"))

    assert patched.json()["version"] == 2
    assert (first["SEQUENCE"], second["SEQUENCE"]) == (0, 1)
    assert first["UID"] == second["UID"]
    assert second["SUMMARY"] == "Go meetup (moved)"
    assert second.decoded("LAST-MODIFIED") >= first.decoded("LAST-MODIFIED")


@pytest.mark.parametrize("url", ["/events/meetup.ics", "/events.ics"])
def test_etag_and_304(client: TestClient, url: str) -> None:
    create(client, **PARIS_MEETUP)
    first = client.get(url)
    tag = first.headers["etag"]

    again = client.get(url)
    not_modified = client.get(url, headers={"If-None-Match": tag})
    head = client.head(url)
    send_json(client, "PATCH", "/events/meetup", {"location": "Lyon"}, MERGE_PATCH_HEADERS)
    changed = client.get(url, headers={"If-None-Match": tag})
    malformed = client.get(url, headers={"If-None-Match": "no quotes"})

    assert again.content == first.content  # the same events make the same bytes
    assert again.headers["etag"] == tag
    assert (not_modified.status_code, not_modified.content) == (304, b"")
    assert not_modified.headers["etag"] == tag
    assert head.headers["etag"] == tag
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag
    assert b"LOCATION:Lyon" in changed.content
    assert_problem(malformed, 400)


@pytest.mark.parametrize("path", ["/events/nothing.ics", "/events/..ics", "/events/a%20b.ics"])
def test_the_calendar_of_an_unknown_event_is_a_404_problem(client: TestClient, path: str) -> None:
    assert_problem(client.get(path), 404)


def test_the_calendar_of_a_deleted_event_is_gone(client: TestClient) -> None:
    create(client, **PARIS_MEETUP)
    assert client.delete("/events/meetup").status_code == 204

    assert_problem(client.get("/events/meetup.ics"), 404)
    assert vevents(ics(client, "/events.ics")) == []


@pytest.mark.parametrize("headers", [IDENTITY, GZIP], ids=["hot-path", "layered"])
def test_an_id_ending_in_ics_is_refused_and_the_suffix_names_the_calendar(
    client: TestClient, headers: dict[str, str]
) -> None:
    create(client, **PARIS_MEETUP)

    posted = send_json(client, "POST", "/events", {"id": "x.ics", "title": "No"})
    calendar = client.get("/events/meetup.ics", headers=headers)
    event = client.get("/events/meetup", headers=headers)

    assert assert_problem(posted, 422)["errors"][0]["pointer"] == "#/id"
    assert calendar.headers["content-type"] == CALENDAR_TYPE
    assert the_vevent(calendar.content)["UID"] == "meetup@eventsapi.invalid"
    assert event.json()["id"] == "meetup"
    assert client.options("/events/meetup.ics").headers["allow"] == "GET, HEAD, OPTIONS"
    # the calendar's URL is the calendar's only: no write reaches an event "meetup.ics"
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        refused = client.request(method, "/events/y.ics", json={"title": "No"}, headers=headers)
        assert assert_problem(refused, 405)
        assert refused.headers["allow"] == "GET, HEAD, OPTIONS"
    assert client.get("/events/y").status_code == 404


def test_the_uid_names_the_public_host(settings: Settings, store: Backend) -> None:
    configured = msgspec.structs.replace(settings, public_url="https://events.example.com")
    with TestClient(create_app(configured, store=store)) as client:
        create(client, **PARIS_MEETUP)
        body = ics(client, "/events/meetup.ics")

    assert the_vevent(body)["UID"] == "meetup@events.example.com"


# --- hostile text --------------------------------------------------------------------

HOSTILE = [
    pytest.param('a;b,c\\d:e"f', id="separators"),
    pytest.param("line one\nline two\n\nline four", id="line-feeds"),
    pytest.param("crlf\r\nalone\rend", id="carriage-returns"),
    pytest.param("tab\there", id="tab"),
    pytest.param("😀" * 150, id="emoji"),
    pytest.param("会議" * 90, id="cjk"),
    pytest.param("\\n is not a line break, \\, is not a comma", id="escapes-as-text"),
    *(
        # a 4-byte character across each octet where a 75-octet fold can fall
        pytest.param("x" * shift + "😀" * 60 + ";,\\" * 10, id=f"emoji-shifted-{shift}")
        for shift in range(4)
    ),
    pytest.param("é" * 37 + "\u0301" * 30 + "é\u20ac" * 40, id="combining-marks"),
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_folded_and_escaped_and_comes_back_exactly(
    client: TestClient, text: str
) -> None:
    create(
        client,
        id="e1",
        title=text[:200],
        description=text * 20,
        location=text[:500],
        tags=["a,b", "c;d", "e\\f"],
        starts_at="2025-03-01T18:00:00Z",
    )

    body = ics(client, "/events/e1.ics")

    for line in lines_of(body):
        assert len(line) <= 75, line
        line.decode("utf-8")  # no character is split between two lines
    # iCalendar text has one line break: a CR (alone or in CRLF) comes back as LF
    expected = {
        "SUMMARY": text[:200],
        "DESCRIPTION": text * 20,
        "LOCATION": text[:500],
    }
    expected = {k: v.replace("\r\n", "\n").replace("\r", "\n") for k, v in expected.items()}
    vevent = the_vevent(body)
    by_vobject = read_by_vobject(body).vevent
    for name, value in expected.items():
        assert str(vevent[name]) == value, name
        assert getattr(by_vobject, name.lower()).value == value, name
    assert vevent["CATEGORIES"].cats == ["a,b", "c;d", "e\\f"]
    assert content_line(body, "CATEGORIES") == "CATEGORIES:a\\,b,c\\;d,e\\\\f"
    assert the_vevent(ics(client, "/events.ics")).to_ical() == vevent.to_ical()


# --- the feed of many events ---------------------------------------------------------


@pytest.fixture
def calendar(client: TestClient) -> TestClient:
    """Events around the clock's now (2025-01-02): past, upcoming, cancelled, tagged."""
    day = timedelta(days=1)

    def at(delta: timedelta) -> str:
        return (START + delta).isoformat()

    create(client, id="long-ago", starts_at=at(-100 * day), tags=["go"])
    create(client, id="last-month", starts_at=at(-30 * day), tags=["go"])
    create(client, id="tomorrow", starts_at=at(day), tags=["go", "meetup"], title="Go talks")
    create(client, id="next-week", starts_at=at(7 * day), status="cancelled")
    create(client, id="next-year", starts_at=at(365 * day), title="Rust talks")
    create(client, id="no-start", title="Go someday", tags=["go"])
    return client


def uids(body: bytes) -> list[str]:
    found = [str(event["UID"]).removesuffix("@eventsapi.invalid") for event in vevents(body)]
    by_vobject = [event.uid.value for event in read_by_vobject(body).contents.get("vevent", [])]
    assert [uid.removesuffix("@eventsapi.invalid") for uid in by_vobject] == found
    return found


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["last-month", "tomorrow", "next-week", "next-year"]),
        ("?tag=go", ["last-month", "tomorrow"]),
        ("?tag=go&tag=meetup", ["tomorrow"]),
        ("?status=cancelled", ["next-week"]),
        ("?status=scheduled", ["last-month", "tomorrow", "next-year"]),
        ("?q=talks", ["tomorrow", "next-year"]),
        ("?q=...", []),
        (
            "?starts_after=2024-01-01T00:00:00Z",
            ["long-ago", "last-month", "tomorrow", "next-week", "next-year"],
        ),
        ("?starts_before=2025-02-01T00:00:00Z", ["last-month", "tomorrow", "next-week"]),
    ],
)
def test_the_feed_has_the_filtered_events_by_start(
    calendar: TestClient, query: str, expected: list[str]
) -> None:
    assert uids(ics(calendar, "/events.ics" + query)) == expected


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("?limit=5", "limit"),
        ("?status=maybe", "status"),
        ("?starts_after=yesterday", "starts_after"),
        ("?tag=", "tag"),
        ("?status=cancelled&status=scheduled", "status"),
    ],
)
def test_a_bad_feed_parameter_is_a_400_naming_it(
    calendar: TestClient, query: str, parameter: str
) -> None:
    assert assert_problem(calendar.get("/events.ics" + query), 400)["parameter"] == parameter


@pytest.fixture
def small_pages(
    settings: Settings, store: Backend, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """A service reading pages of 2 events, whose feed holds at most 5."""
    monkeypatch.setattr(feeds, "FEED_MAX_EVENTS", 5)
    configured = msgspec.structs.replace(settings, max_page_size=2)
    with TestClient(create_app(configured, store=store, clock=clock.now)) as client:
        yield client


def test_a_feed_over_its_bound_holds_the_first_events_by_start(small_pages: TestClient) -> None:
    # created in another order than they start, so that the order is the feed's own
    for day in (6, 2, 4, 1, 7, 3, 5):
        create(small_pages, id=f"day-{day}", starts_at=(START + timedelta(days=day)).isoformat())

    assert uids(ics(small_pages, "/events.ics")) == [f"day-{day}" for day in range(1, 6)]
    assert uids(ics(small_pages, "/events.ics?starts_after=2025-01-05T00:00:00Z")) == [
        f"day-{day}" for day in range(3, 8)
    ]


def test_a_feed_stops_at_its_size_bound(
    small_pages: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    for day in range(1, 5):
        create(
            small_pages,
            id=f"day-{day}",
            description="x" * 1000,
            starts_at=(START + timedelta(days=day)).isoformat(),
        )
    document = len(small_pages.get("/events/day-1").content)
    monkeypatch.setattr(feeds, "FEED_MAX_BYTES", document * 5 // 2)  # two and a half

    assert uids(ics(small_pages, "/events.ics")) == ["day-1", "day-2"]
