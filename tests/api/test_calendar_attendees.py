"""Who comes, in ``GET /events/{id}.ics`` (issue 16): ``ATTENDEE`` lines for the event's
owner and admins only, never for anyone else, never without credentials, never in the feed
of many events; escaped so that no name or address adds a property; and cached apart from
the public calendar (``Cache-Control: private``, ``Vary``, an ETag of its own).
"""

# The people fixtures are test_event_authorization's, imported by name (pytest finds them so).
# ruff: noqa: F811

from __future__ import annotations

import re
from typing import Any

import icalendar
import pytest
import vobject
from starlette.testclient import TestClient

from eventsapi.api import feeds
from tests.api.asserts import assert_problem
from tests.api.test_calendar_feeds import lines_of, unfolded
from tests.api.test_event_authorization import (  # noqa: F401 - fixtures
    People,
    Person,
    accounts,
    people,
    send,
    settings,
)
from tests.api.test_registrations import ANONYMOUS, event, registered

URL = "/events/e1.ics"


# RFC 5545 3.1: a parameter value is quoted-string or paramtext (no '"', ';', ':' or ',').
_ATTENDEE = re.compile(r'ATTENDEE;CN=(?:"([^"]*)"|([^";:,]*));PARTSTAT=([A-Z-]+):(mailto:\S+)')
_CARET = {"n": "\n", "'": '"', "^": "^"}


def attendees(body: bytes) -> list[tuple[str, str, str]]:
    """``(address, CN, PARTSTAT)`` of each ATTENDEE, read from the content lines by the
    grammar (the CN decoded as RFC 6868 says); icalendar and vobject, which share no code,
    must find the same addresses and statuses."""
    read = []
    for line in unfolded(body):
        if line.startswith("ATTENDEE"):
            found = _ATTENDEE.fullmatch(line)
            assert found is not None, line
            quoted, plain, partstat, address = found.groups()
            name = re.sub(r"\^(.)", lambda m: _CARET.get(m[1], m[0]), quoted or plain)
            read.append((address, name, partstat))
    (vevent,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    parsed = vevent.get("ATTENDEE", [])
    parsed = parsed if isinstance(parsed, list) else [parsed]
    assert [(str(a), str(a.params["PARTSTAT"])) for a in parsed] == [(a, p) for a, _, p in read]
    by_vobject = vobject.readOne(body.decode()).vevent.contents.get("attendee", [])
    assert [a.value for a in by_vobject] == [address for address, _, _ in read]
    return read


def names(lines: list[str]) -> list[str]:
    return [line.split(":")[0].split(";")[0] for line in lines]


@pytest.fixture
def meetup(client: TestClient, people: People) -> dict[str, str]:
    """Alice's event for 2: Bob and Root confirmed, then a cancelled one, then one waiting.
    The registration ids by name."""
    event(client, people.alice, capacity=2)
    ids = {"bob": registered(client, people.bob.headers, "bob@example.org", name="Bob")["id"]}
    ids["root"] = registered(client, people.root.headers, "root@example.org", name="Root")["id"]
    gone = registered(client, people.alice.headers, "gone@example.org", name="Gone")["id"]
    cancelled = client.delete(f"/events/e1/registrations/{gone}", headers=people.alice.headers)
    assert cancelled.status_code == 204
    ids["wait"] = registered(client, people.alice.headers, "wait@example.org", name="Wai")["id"]
    return ids


def test_the_owner_and_admins_see_who_comes(
    client: TestClient, people: People, meetup: dict[str, str]
) -> None:
    expected = [
        ("mailto:bob@example.org", "Bob", "ACCEPTED"),
        ("mailto:root@example.org", "Root", "ACCEPTED"),
        ("mailto:wait@example.org", "Wai", "TENTATIVE"),  # waitlisted; the cancelled: absent
    ]
    for headers in (people.alice.headers, people.reader, people.root.headers):
        response = client.get(URL, headers=headers)
        assert response.status_code == 200, response.text
        assert attendees(response.content) == expected
        # iTIP's PUBLISH forbids attendees; no ORGANIZER, so no app schedules (mails) them.
        assert {"METHOD", "ORGANIZER"}.isdisjoint(names(unfolded(response.content)))


def test_nobody_else_sees_them(client: TestClient, people: People, meetup: dict[str, str]) -> None:
    public = client.get(URL)
    assert attendees(public.content) == []
    assert "METHOD:PUBLISH" in unfolded(public.content)
    for headers in (ANONYMOUS, people.bob.headers):  # Bob registered, but is not the owner
        response = client.get(URL, headers=headers)
        assert response.content == public.content
        assert response.headers["etag"] == public.headers["etag"]
        assert "cache-control" not in response.headers
    for headers in (ANONYMOUS, people.alice.headers, people.root.headers):
        feed = client.get("/events.ics", headers=headers)
        assert b"ATTENDEE" not in feed.content
        assert b"example.org" not in feed.content


@pytest.mark.parametrize("settings", ["on"], indirect=True)
def test_without_credentials_never_even_with_anonymous_writes(
    client: TestClient, people: People
) -> None:
    # Anonymous is the owner of an event made anonymously (it lists its registrations),
    # but a calendar without credentials is the public one, the same for everyone.
    event(client, Person("anonymous", ANONYMOUS))
    registered(client, people.bob.headers, "bob@example.org")
    assert len(client.get("/events/e1/registrations").json()) == 1
    assert b"ATTENDEE" not in client.get(URL).content
    assert b"ATTENDEE" in client.get(URL, headers=people.root.headers).content


def test_the_owners_calendar_is_cached_apart(
    client: TestClient, people: People, meetup: dict[str, str]
) -> None:
    public = client.get(URL)
    owners = client.get(URL, headers=people.alice.headers)

    assert owners.headers["cache-control"] == "private, no-cache"
    assert owners.headers["etag"] != public.headers["etag"]
    for response in (public, owners):
        assert "Authorization" in response.headers["vary"]
        assert "Cookie" in response.headers["vary"]
    # Each tag revalidates its own calendar only; a 304 keeps the 200's caching fields.
    again = client.get(
        URL, headers={**people.alice.headers, "If-None-Match": owners.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.headers["cache-control"] == "private, no-cache"
    assert "Cookie" in again.headers["vary"]
    stale = client.get(
        URL, headers={**people.alice.headers, "If-None-Match": public.headers["etag"]}
    )
    assert stale.status_code == 200
    assert client.get(URL, headers={"If-None-Match": owners.headers["etag"]}).status_code == 200
    # A change of who comes is a new calendar (the event's version did not change).
    registered(client, people.bob.headers, "bob2@example.org", name="Bob 2")
    assert (
        client.get(
            URL, headers={**people.alice.headers, "If-None-Match": owners.headers["etag"]}
        ).status_code
        == 200
    )


def test_credentials_that_are_not_valid_are_401(client: TestClient, people: People) -> None:
    event(client, people.alice)
    assert_problem(client.get(URL, headers={"Authorization": "Bearer expired"}), 401)


HOSTILE_NAMES = [
    'Ann "the boss", of; Sales: Ltd',
    "Eve\nATTENDEE;PARTSTAT=ACCEPTED:mailto:evil@example.com",
    "Eve\r\nX-INJECTED:1\r\nEND:VEVENT",
    "caret ^n ^' ^^ and backslash \\n \\, \\;",
    "😀" * 40 + "é\u0301" * 20,
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_no_name_or_address_adds_a_property(client: TestClient, people: People, name: str) -> None:
    event(client, people.alice)
    address = 'o,dd?x=1&y#z%41/"q"@example.org'
    registered(client, people.bob.headers, address, name=name)

    body = client.get(URL, headers=people.alice.headers).content

    for line in lines_of(body):
        assert len(line) <= 75, line
    lines = unfolded(body)
    assert names(lines).count("ATTENDEE") == 1
    assert "X-INJECTED" not in names(lines)
    assert names(lines).count("END") == 2  # the VEVENT's and the VCALENDAR's
    expected_name = name.replace("\r\n", "\n")
    ((uri, cn, partstat),) = attendees(body)
    assert (cn, partstat) == (expected_name, "ACCEPTED")
    # One address, percent-encoded (RFC 6068): the comma would start a second one.
    assert uri == "mailto:o%2Cdd%3Fx%3D1%26y%23z%2541%2F%22q%22@example.org"


def test_at_most_the_first_attendees(
    client: TestClient, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeds, "ATTENDEES_MAX", 3)
    monkeypatch.setattr(feeds, "_PAGE", 2)  # pages, and a cancelled one on the way
    event(client, people.alice)
    made = [
        registered(client, people.root.headers, f"p{n}@example.org", name=f"P{n}")["id"]
        for n in range(5)
    ]
    cancelled = client.delete(f"/events/e1/registrations/{made[1]}", headers=people.alice.headers)
    assert cancelled.status_code == 204

    body = client.get(URL, headers=people.alice.headers).content

    assert [cn for _, cn, _ in attendees(body)] == ["P0", "P2", "P3"]


def test_an_event_without_a_start_has_no_attendees_to_show(
    client: TestClient, people: People
) -> None:
    body: dict[str, Any] = {"id": "e1", "title": "Someday"}
    assert send(client, "POST", "/events", body, headers=people.alice.headers).status_code == 201
    registered(client, people.bob.headers, "bob@example.org")
    response = client.get(URL, headers=people.alice.headers)
    assert b"BEGIN:VEVENT" not in response.content
    assert response.headers["cache-control"] == "private, no-cache"
