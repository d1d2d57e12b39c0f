"""The events list, an event's page (register, waitlist, cancel), and the create form."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from eventsapi.ui.render import Renderer, static_files
from tests.api.asserts import send_json
from tests.support import FakeClock
from tests.ui.pages import add_user, error_of, post_form, sign_in, value_of


def create(ui: TestClient, **fields: Any) -> str:
    """An event made through the API by whoever is signed in; its id."""
    body = {"title": "Event", "starts_at": "2031-06-01T18:00:00Z", **fields}
    made = send_json(ui, "POST", "/events", body, {"Origin": "http://testserver"})
    assert made.status_code == 201, made.text
    event_id: str = made.json()["id"]
    return event_id


def titles(page: str) -> list[str]:
    return re.findall(r'<h3><a href="/ui/events/[^"]+">([^<]+)</a></h3>', page)


def test_the_list_searches_filters_and_sorts_as_the_api_does(
    ui: TestClient, clock: FakeClock
) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    create(ui, title="Jazz night", tags=["music"], starts_at="2031-06-03T20:00:00Z")
    clock.advance(1)
    create(ui, title="Rock concert", tags=["music", "loud"], starts_at="2031-06-01T20:00:00Z")
    clock.advance(1)
    create(ui, title="Chess club", tags=["games"], status="cancelled")

    assert titles(ui.get("/ui/").text) == ["Jazz night", "Rock concert", "Chess club"]
    assert titles(ui.get("/ui/?q=jazz").text) == ["Jazz night"]
    assert titles(ui.get("/ui/?tag=music").text) == ["Jazz night", "Rock concert"]
    assert titles(ui.get("/ui/?tag=music,+loud").text) == ["Rock concert"]
    assert titles(ui.get("/ui/?status=cancelled").text) == ["Chess club"]
    assert titles(ui.get("/ui/?tag=music&sort=starts_at").text) == ["Rock concert", "Jazz night"]
    filtered = ui.get("/ui/?q=jazz&tag=music&sort=title").text
    assert value_of(filtered, "q") == "jazz"
    assert value_of(filtered, "tag") == "music"
    assert '<option value="title" selected>' in filtered
    assert titles(ui.get("/ui/?q=nothing-matches").text) == []
    assert "No events match these filters." in ui.get("/ui/?q=nothing-matches").text


def test_the_list_pages_with_the_apis_cursors(ui: TestClient, clock: FakeClock) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    for number in range(25):
        create(ui, title=f"Event {number:02}")
        clock.advance(1)

    first = ui.get("/ui/?tag=&q=").text
    following = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert following is not None
    second = ui.get(following.group(1).replace("&amp;", "&")).text
    back = re.search(r'<a href="([^"]+)" rel="prev">', second)
    assert back is not None

    assert titles(first) == [f"Event {n:02}" for n in range(20)]
    assert titles(second) == [f"Event {n:02}" for n in range(20, 25)]
    assert 'rel="next"' not in second
    assert titles(ui.get(back.group(1).replace("&amp;", "&")).text) == titles(first)


def test_a_bad_filter_is_said_beside_its_field(ui: TestClient) -> None:
    bad_status = ui.get("/ui/?status=maybe")
    bad_cursor = ui.get("/ui/?cursor=forged")

    assert bad_status.status_code == 400
    assert "status must be one of" in (error_of(bad_status.text, "status") or "")
    assert bad_cursor.status_code == 400
    assert "Start from the first page" in bad_cursor.text


def register(ui: TestClient, event_id: str, email: str) -> str:
    """Register the signed-in person on the event's page: the page they land on."""
    page = ui.get(f"/ui/events/{event_id}").text
    key = re.search(r'name="key" value="([^"]+)"', page)
    assert key is not None
    fields = {"name": "", "email": email, "key": key.group(1)}
    answer = post_form(ui, f"/ui/events/{event_id}/register", fields, page=page)
    assert answer.status_code == 303, answer.text
    return ui.get(answer.headers["location"]).text


def test_people_register_until_it_is_full_then_join_the_waitlist_and_a_cancellation_promotes(
    ui: TestClient,
) -> None:
    for name in ("owner", "ann", "bob"):
        add_user(ui, name)
    sign_in(ui, "owner")
    event_id = create(ui, title="Small room", capacity=1)

    ui.cookies.clear()
    sign_in(ui, "ann")
    ann = register(ui, event_id, "ann@example.org")
    assert "You are registered." in ann
    assert "You are registered, as ann (ann@example.org)." in ann
    # The API's event carries its counts, so the page shows them as they are now.
    assert '<dd id="spots-left">0</dd>' in ann
    assert "<dt>Registered</dt><dd>1</dd>" in ann
    ann_cookies = dict(ui.cookies)

    ui.cookies.clear()
    sign_in(ui, "bob")
    bob = register(ui, event_id, "bob@example.org")
    assert "you are on its waitlist" in bob
    assert "You are on the waitlist, number 1" in bob
    assert "<dt>On the waitlist</dt><dd>1</dd>" in bob
    assert "Full, 1 on the waitlist" in ui.get("/ui/").text

    ui.cookies.clear()
    ui.cookies.update(ann_cookies)
    page = ui.get(f"/ui/events/{event_id}").text
    mine = re.search(r'name="registration" value="([^"]+)"', page)
    assert mine is not None
    cancelled = post_form(
        ui, f"/ui/events/{event_id}/cancel", {"registration": mine.group(1)}, page=page
    )
    assert cancelled.status_code == 303
    assert "Your registration is cancelled." in ui.get(cancelled.headers["location"]).text
    assert 'value="Register"' not in page

    ui.cookies.clear()
    sign_in(ui, "bob")
    promoted = ui.get(f"/ui/events/{event_id}").text
    assert "You are registered, as bob" in promoted
    assert "<dt>Registered</dt><dd>1</dd>" in promoted
    assert "<dt>On the waitlist</dt><dd>0</dd>" in promoted


def test_a_form_sent_twice_registers_once(ui: TestClient) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    event_id = create(ui)
    page = ui.get(f"/ui/events/{event_id}").text
    key = re.search(r'name="key" value="([^"]+)"', page)
    assert key is not None
    fields = {"name": "Ann", "email": "ann@example.org", "key": key.group(1)}

    first = post_form(ui, f"/ui/events/{event_id}/register", fields, page=page)
    again = post_form(ui, f"/ui/events/{event_id}/register", fields, page=page)

    assert first.status_code == again.status_code == 303
    assert len(ui.get(f"/events/{event_id}/registrations").json()) == 1


def test_a_refused_registration_is_said_beside_its_field_and_keeps_what_was_typed(
    ui: TestClient,
) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    event_id = create(ui)
    page = ui.get(f"/ui/events/{event_id}").text

    refused = post_form(
        ui, f"/ui/events/{event_id}/register", {"name": "Ann", "email": "not-an-address"}, page=page
    )

    assert refused.status_code == 422
    assert error_of(refused.text, "email") == "must be an e-mail address (name@example.org)"
    assert value_of(refused.text, "email") == "not-an-address"
    assert value_of(refused.text, "name") == "Ann"


def test_signed_out_people_are_asked_to_sign_in_to_register(ui: TestClient) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    event_id = create(ui)
    ui.cookies.clear()

    page = ui.get(f"/ui/events/{event_id}").text

    assert f'href="/ui/sign-in?next=%2Fui%2Fevents%2F{event_id}">Sign in</a>' in page
    assert "/register" not in page


def test_an_event_shows_its_spots_left_when_the_api_sends_them() -> None:
    renderer = Renderer(static_files())
    event = {
        "id": "e1",
        "title": "Full house",
        "starts_at": "2031-06-01T18:00:00Z",
        "timezone": "Europe/Paris",
        "tags": [],
        "capacity": 10,
        "status": "scheduled",
        "spots_left": 0,
        "registered": 10,
        "waitlisted": 3,
    }
    context = {
        "visit": None,
        "event": event,
        "url": "/ui/events/e1",
        "mine": None,
        "notice": None,
        "errors": {},
        "typed": {},
        "key": "k",
        "sign_in": "/ui/sign-in",
        "manage": False,
        "etag": "",
        "calendar": "/events/e1.ics",
        "stream": None,
    }

    page = renderer.render("event.html", context)
    listed = renderer.render(
        "events.html",
        {
            "visit": None,
            "filters": {"q": "", "tag": "", "status": "", "sort": ""},
            "sorts": (),
            "statuses": (),
            "events": [event],
            "pages": {},
            "errors": {},
            "notice": None,
            "undo": "",
            "filtered": False,
            "feed": {"webcal": "webcal://h/events.ics", "web": "https://h/events.ics"},
            "stream": None,
        },
    )

    assert '<dd id="spots-left">0</dd>' in page
    assert "<dt>On the waitlist</dt><dd>3</dd>" in page
    assert "Sun 1 Jun 2031, 20:00" in page  # in the event's time zone
    assert "Full, 3 on the waitlist" in listed


def test_creating_an_event_with_a_mistake_shows_it_beside_the_field_and_keeps_the_rest(
    ui: TestClient,
) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    form = ui.get("/ui/new-event").text
    typed = {
        "title": "Picnic",
        "description": "Bring <food>",
        "starts_at": "2031-07-01T12:00",
        "ends_at": "2031-07-01T11:00",
        "timezone": "Europe/Paris",
        "location": "The park",
        "tags": "outdoor, food",
        "capacity": "lots",
    }

    refused = post_form(ui, "/ui/new-event", typed, page=form)

    assert refused.status_code == 422
    assert error_of(refused.text, "capacity")
    assert error_of(refused.text, "title") is None
    for name, value in typed.items():
        assert value_of(refused.text, name) == value, name
    assert 'href="#f-capacity"' in refused.text  # the summary links to the field
    # and the page starts with the focus on it (focus.js, which no page without one loads).
    assert re.search(r'<div class="problem"[^>]* tabindex="-1" data-focus-on-load>', refused.text)
    assert re.search(r'<script src="/ui/static/focus\.js\?[^"]+" defer>', refused.text)
    assert "focus.js" not in form
    assert ui.get("/events").json() == []

    fixed = post_form(ui, "/ui/new-event", {**typed, "capacity": "30"}, page=refused.text)
    assert fixed.status_code == 422
    assert error_of(fixed.text, "ends_at")  # ends before it starts: the API's rule
    made = post_form(
        ui,
        "/ui/new-event",
        {**typed, "capacity": "30", "ends_at": "2031-07-01T15:00"},
        page=fixed.text,
    )
    assert made.status_code == 303
    event = ui.get("/events").json()[0]
    assert event["starts_at"] == "2031-07-01T12:00:00+02:00"  # noon in Paris, in summer
    assert event["tags"] == ["outdoor", "food"]
    assert event["capacity"] == 30
    assert event["owner"]
    shown = ui.get(made.headers["location"]).text
    assert "The event is created." in shown
    assert "Bring &lt;food&gt;" in shown


def test_a_title_left_empty_is_the_apis_error(ui: TestClient) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    form = ui.get("/ui/new-event").text

    refused = post_form(ui, "/ui/new-event", {"title": "", "timezone": "UTC"}, page=form)

    assert refused.status_code == 422
    assert error_of(refused.text, "title")


def test_signed_out_people_are_asked_to_sign_in_to_create(ui: TestClient) -> None:
    page = ui.get("/ui/new-event").text

    assert 'href="/ui/sign-in?next=%2Fui%2Fnew-event">Sign in</a> to create events.' in page
    assert 'action="/ui/new-event"' not in page
