"""The UI's pages show what their visitor may see (issue 16, docs/visibility.md): the events
list and an event's page call the API's handlers with the visitor's session, so a members
event is for those signed in, a private one for its owner (and admins, registrants)."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.support import FakeClock
from tests.ui.pages import add_user, sign_in
from tests.ui.test_event_pages import create, titles


def made(ui: TestClient, clock: FakeClock) -> dict[str, str]:
    """Ann's three events, one of each visibility (she stays signed in); their ids."""
    add_user(ui, "ann")
    add_user(ui, "bob")
    sign_in(ui, "ann")
    ids = {}
    for title, visibility in (("Open", "public"), ("Club", "members"), ("Secret", "private")):
        ids[title] = create(ui, title=title, visibility=visibility)
        clock.advance(1)
    return ids


def seen(ui: TestClient, ids: dict[str, str]) -> tuple[list[str], dict[str, int]]:
    """The titles the list shows, and each event page's status."""
    pages = {title: ui.get(f"/ui/events/{event_id}").status_code for title, event_id in ids.items()}
    return titles(ui.get("/ui/").text), pages


def test_each_visitor_sees_the_events_they_may(ui: TestClient, clock: FakeClock) -> None:
    ids = made(ui, clock)
    assert seen(ui, ids) == (
        ["Open", "Club", "Secret"],
        {"Open": 200, "Club": 200, "Secret": 200},
    )

    ui.cookies.clear()  # signed out
    assert seen(ui, ids) == (["Open"], {"Open": 200, "Club": 404, "Secret": 404})

    sign_in(ui, "bob")
    assert seen(ui, ids) == (["Open", "Club"], {"Open": 200, "Club": 200, "Secret": 404})


def test_a_stale_session_sees_the_public_events(ui: TestClient, clock: FakeClock) -> None:
    # The API answers a stale session with 401; the pages go on signed out instead.
    ids = made(ui, clock)
    ui.cookies.clear()
    ui.cookies.set("eventsapi_session", "es_" + "x" * 40)

    assert seen(ui, ids) == (["Open"], {"Open": 200, "Club": 404, "Secret": 404})
