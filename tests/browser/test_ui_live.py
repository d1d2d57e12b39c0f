"""Live updates from the change stream, and the month, in a real browser (the fixtures and
their watch are tests/browser/test_ui.py's: no request to another origin, no console
error, no CSP refusal)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser import test_ui as shared
from tests.browser.checks import assert_accessible_and_fits, serious_violations, tab_to
from tests.browser.test_ui import WIDTHS, People
from tests.browser.ui_server import Service

pytestmark = pytest.mark.slow

# test_ui's fixtures, under their names here (this module gets its own service).
service = shared.service
browser = shared.browser
watch = shared.watch
people = shared.people

LIVE_MS = 10_000
"""How long a change may take to reach an open page (it takes well under a second)."""


def mark_unreloaded(page: Page) -> None:
    """A mark that a reload would remove: the page's own window object holds it."""
    page.evaluate("window.notReloaded = true")


def still_unreloaded(page: Page) -> bool:
    return bool(page.evaluate("window.notReloaded === true"))


def test_a_cancellation_promotes_the_waitlisted_person_while_their_page_is_open(
    people: People, service: Service
) -> None:
    event_id = service.create_event(
        "dan", title="Small workshop", starts_at="2031-06-02T18:00:00Z", capacity=2
    )
    bob = people.signed_in("bob")
    cat = people.signed_in("cat")
    dan = people.signed_in("dan")

    # Register until it is full.
    for page, name in ((bob, "bob"), (dan, "dan")):
        page.goto(f"/ui/events/{event_id}")
        page.get_by_label("E-mail address").fill(f"{name}@example.org")
        page.get_by_role("button", name="Register").click()
        expect(page.locator("#my-status")).to_contain_text(f"You are registered, as {name}")

    # The next person lands on the waitlist.
    cat.goto(f"/ui/events/{event_id}")
    cat.get_by_label("E-mail address").fill("cat@example.org")
    cat.get_by_role("button", name="Join the waitlist").click()
    expect(cat.get_by_role("status")).to_contain_text("you are on its waitlist")
    expect(cat.locator("#my-status")).to_contain_text("on the waitlist, number 1")
    waitlisted = cat.locator("#facts dt:has-text('On the waitlist') + dd")
    expect(waitlisted).to_have_text("1")
    mark_unreloaded(cat)

    # Bob cancels, in his own browser: Cat's open page shows her registered.
    bob.get_by_role("button", name="Cancel my registration").click()
    expect(bob.get_by_role("status")).to_have_text("Your registration is cancelled.")

    expect(cat.locator("#my-status")).to_contain_text("You are registered, as cat", timeout=LIVE_MS)
    expect(waitlisted).to_have_text("0")
    expect(cat.locator("#live-note")).to_contain_text("Updated")
    assert still_unreloaded(cat)
    # What the update brought works: Cat can cancel from it.
    cat.get_by_role("button", name="Cancel my registration").click()
    expect(cat.get_by_role("status")).to_have_text("Your registration is cancelled.")


def test_cancelling_by_keyboard_alone_from_a_live_update(people: People, service: Service) -> None:
    event_id = service.create_event(
        "dan", title="Pottery class", starts_at="2031-06-05T18:00:00Z", capacity=1
    )
    bob = people.signed_in("bob")
    cat = people.signed_in("cat")
    for page, name in ((bob, "bob"), (cat, "cat")):
        page.goto(f"/ui/events/{event_id}")
        tab_to(page, page.get_by_label("E-mail address"))
        page.keyboard.type(f"{name}@example.org")
        page.keyboard.press("Enter")
    expect(cat.locator("#my-status")).to_contain_text("on the waitlist, number 1")
    cancel = cat.get_by_role("button", name="Cancel my registration")
    tab_to(cat, cancel)
    mark_unreloaded(cat)

    # Bob cancels by keyboard; Cat's page is updated with her focus on her cancel button.
    tab_to(bob, bob.get_by_role("button", name="Cancel my registration"))
    bob.keyboard.press("Enter")
    expect(bob.get_by_role("status")).to_have_text("Your registration is cancelled.")
    expect(cat.locator("#my-status")).to_contain_text("You are registered, as cat", timeout=LIVE_MS)
    assert still_unreloaded(cat)
    expect(cancel).to_be_focused()  # the update kept the focus where it was
    cat.keyboard.press("Enter")
    expect(cat.get_by_role("status")).to_have_text("Your registration is cancelled.")
    expect(cat.get_by_role("button", name="Join the waitlist")).to_have_count(0)
    expect(cat.get_by_role("button", name="Register")).to_be_visible()


def test_a_form_being_filled_in_is_not_replaced_by_an_update(
    people: People, service: Service
) -> None:
    event_id = service.create_event(
        "dan", title="Choir practice", starts_at="2031-06-03T18:00:00Z", capacity=5
    )
    bob = people.signed_in("bob")
    bob.goto(f"/ui/events/{event_id}")
    bob.get_by_label("E-mail address").fill("bob@")
    mark_unreloaded(bob)

    # The organiser moves it: the facts change, the form Bob is filling in stays.
    status, answer = service.call(
        "PATCH", f"/events/{event_id}", {"location": "The crypt"}, service.tokens["dan"]
    )
    assert status == 200, answer

    expect(bob.locator("#facts")).to_contain_text("The crypt", timeout=LIVE_MS)
    expect(bob.locator("#live-note")).to_contain_text("Updated")
    expect(bob.get_by_label("E-mail address")).to_have_value("bob@")
    assert still_unreloaded(bob)


def test_the_events_list_shows_a_new_event_while_it_is_open(
    people: People, service: Service
) -> None:
    page = people.page()
    page.goto("/ui/?sort=-created_at")
    mark_unreloaded(page)

    service.create_event("dan", title="Pop-up market", starts_at="2031-06-04T09:00:00Z")

    expect(page.locator("#results h3").first).to_have_text("Pop-up market", timeout=LIVE_MS)
    assert still_unreloaded(page)


def test_the_calendar_is_navigated_by_keyboard_alone(people: People, service: Service) -> None:
    service.create_event("dan", title="Midsummer party", starts_at="2031-07-20T17:00:00Z")
    page = people.page()
    page.goto("/ui/calendar?month=2031-06")
    expect(page.get_by_role("heading", level=1)).to_have_text("June 2031")

    next_month = page.get_by_role("link", name=re.compile("^Next month"))
    tab_to(page, next_month, limit=20)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("July 2031")
    party = page.get_by_role("link", name="Midsummer party")
    tab_to(page, party, limit=30)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Midsummer party")


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_the_calendar_passes_axe_and_fits_the_width(
    people: People, service: Service, width: int, dark: bool
) -> None:
    service.create_event(
        "dan",
        title="A workshop with a rather long title about calendars",
        starts_at="2031-08-12T09:00:00Z",
        timezone="Europe/Paris",
    )
    page = people.page(width=width, dark=dark)
    for path in ("/ui/calendar?month=2031-08", "/ui/calendar?month=2031-08&tz=Asia/Tokyo"):
        page.goto(path)
        assert_accessible_and_fits(page, width)
        expect(page.get_by_role("link", name=re.compile("A workshop")).first).to_be_visible()
    page.goto("/ui/calendar?month=2031-99")
    assert serious_violations(page) == []


def test_an_open_events_page_says_when_the_event_is_deleted(
    people: People, service: Service
) -> None:
    event_id = service.create_event("dan", title="Cancelled picnic")
    page = people.page()
    page.goto(f"/ui/events/{event_id}")
    mark_unreloaded(page)

    status, _ = service.call("DELETE", f"/events/{event_id}", None, service.tokens["dan"])
    assert status == 204

    expect(page.locator("#live-note")).to_have_text("This event has been deleted.", timeout=LIVE_MS)
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancelled picnic")
    assert still_unreloaded(page)
