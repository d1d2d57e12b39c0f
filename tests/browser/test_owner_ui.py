"""The owner's pages in a real browser (fixtures of ``test_ui.py``): two people editing the
same event at once lose nothing; every new page passes axe and fits the width."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser import test_ui
from tests.browser.checks import assert_each_accessible_and_fits, serious_violations, tab_to
from tests.browser.test_ui import WIDTHS, People
from tests.browser.ui_server import Service

pytestmark = pytest.mark.slow

# test_ui.py's fixtures, shared: the service (one per module), the browser, the watch.
service = test_ui.service
browser = test_ui.browser
watch = test_ui.watch
people = test_ui.people


def test_two_people_editing_the_same_event_lose_nothing(people: People, service: Service) -> None:
    event_id = service.create_event(
        "dan", title="Team lunch", location="Canteen", starts_at="2031-05-04T12:00:00Z"
    )
    first = people.signed_in("dan")
    second = people.signed_in("dan")  # another browser, the same owner
    for page in (first, second):
        page.goto(f"/ui/events/{event_id}")
        page.get_by_role("link", name="Edit the event").click()
        expect(page.get_by_label("Title")).to_have_value("Team lunch")

    first.get_by_label("Title").fill("Team dinner")
    first.get_by_role("button", name="Save the changes").click()
    expect(first.get_by_role("status")).to_have_text("Your changes are saved.")
    second.get_by_role("textbox", name="Place (optional)").fill("Roof terrace")
    second.get_by_role("button", name="Save the changes").click()

    conflict = second.get_by_role("alert")
    expect(conflict).to_contain_text("Someone changed this event while you were editing it")
    expect(second.locator("#changes tbody tr")).to_have_count(1)
    expect(second.locator("#changes tbody tr")).to_contain_text("Team dinner")
    expect(second.get_by_label("Title")).to_have_value("Team dinner")
    expect(second.get_by_role("textbox", name="Place (optional)")).to_have_value("Roof terrace")
    assert serious_violations(second) == []
    second.get_by_role("button", name="Save the changes").click()

    expect(second.get_by_role("status")).to_have_text("Your changes are saved.")
    expect(second.get_by_role("heading", level=1)).to_have_text("Team dinner")
    expect(second.locator(".facts")).to_contain_text("Roof terrace")
    first.reload()
    expect(first.locator(".facts")).to_contain_text("Roof terrace")


def test_two_people_editing_the_same_event_by_keyboard_alone(
    people: People, service: Service
) -> None:
    event_id = service.create_event(
        "dan", title="Team picnic", location="Park", starts_at="2031-05-07T12:00:00Z"
    )
    first = people.signed_in("dan")
    second = people.signed_in("dan")
    for page in (first, second):
        page.goto(f"/ui/events/{event_id}")
        tab_to(page, page.get_by_role("link", name="Edit the event"))
        page.keyboard.press("Enter")
        expect(page.get_by_label("Title")).to_have_value("Team picnic")

    tab_to(first, first.get_by_label("Title"))
    first.keyboard.press("ControlOrMeta+A")
    first.keyboard.type("Team barbecue")
    first.keyboard.press("Enter")
    expect(first.get_by_role("status")).to_have_text("Your changes are saved.")
    place = second.get_by_role("textbox", name="Place (optional)")
    tab_to(second, place)
    second.keyboard.press("ControlOrMeta+A")
    second.keyboard.type("Beach")
    second.keyboard.press("Enter")

    expect(second.get_by_role("alert").first).to_contain_text(
        "Someone changed this event while you were editing it"
    )
    expect(place).to_have_value("Beach")
    # The table of changes links to each changed field.
    changed = second.locator("#changes").get_by_role("link", name="Title")
    tab_to(second, changed)
    second.keyboard.press("Enter")
    title = second.get_by_label("Title")
    expect(title).to_be_focused()
    expect(title).to_have_value("Team barbecue")
    tab_to(second, second.get_by_role("button", name="Save the changes"))
    second.keyboard.press("Space")

    expect(second.get_by_role("status")).to_have_text("Your changes are saved.")
    expect(second.get_by_role("heading", level=1)).to_have_text("Team barbecue")
    expect(second.locator(".facts")).to_contain_text("Beach")


def test_a_form_sent_back_starts_with_the_focus_on_what_went_wrong(
    people: People, service: Service
) -> None:
    page = people.signed_in("dan")
    page.goto("/ui/new-event")
    page.get_by_label("Title").fill("Chess club")
    page.get_by_label("Places", exact=False).fill("twelve")
    page.get_by_role("button", name="Create the event").click()

    # document.activeElement: the summary; Tab goes on to its link to the field.
    summary = page.locator(".problem")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Places:")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name=re.compile("^Places:"))).to_be_focused()

    # An edit the API refuses; then one that someone else's change got to first.
    event_id = service.create_event("dan", title="Chess night", starts_at="2031-05-08T19:00:00Z")
    other = people.signed_in("dan")
    for each in (page, other):
        each.goto(f"/ui/events/{event_id}/edit")
    page.get_by_label("Places", exact=False).fill("-3")
    page.get_by_role("button", name="Save the changes").click()
    expect(page.locator("#f-capacity-error")).to_be_visible()
    expect(summary).to_be_focused()

    other.get_by_label("Title").fill("Chess evening")
    other.get_by_role("button", name="Save the changes").click()
    expect(other.get_by_role("status")).to_have_text("Your changes are saved.")
    page.get_by_label("Places", exact=False).fill("16")
    page.get_by_role("button", name="Save the changes").click()
    conflict = page.locator("section.conflict")
    expect(conflict).to_contain_text("Someone changed this event while you were editing it")
    expect(conflict).to_be_focused()


def test_delete_then_undo_in_the_browser(people: People, service: Service) -> None:
    event_id = service.create_event("dan", title="Book swap", starts_at="2031-05-05T12:00:00Z")
    page = people.signed_in("dan")
    page.goto(f"/ui/events/{event_id}")
    page.get_by_role("button", name="Delete the event").click()
    expect(page.get_by_role("status")).to_have_text("The event is deleted: it is in the trash.")
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_have_text("The event is restored from the trash.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Book swap")


def _pages(people: People, service: Service, width: int, dark: bool) -> Iterator[Page]:
    """Each new page in turn, in the states worth checking."""
    event_id = service.create_event(
        "dan", title="Garden party", starts_at="2031-07-02T15:00:00Z", capacity=1
    )
    bob = people.signed_in("bob", width=width, dark=dark)
    bob.goto(f"/ui/events/{event_id}")
    bob.get_by_label("E-mail address").fill("bob@example.org")
    bob.get_by_role("button", name="Register").click()
    expect(bob.get_by_role("status")).to_have_text("You are registered.")

    page = people.signed_in("dan", width=width, dark=dark)
    page.goto(f"/ui/events/{event_id}")
    yield page  # with the owner's controls
    page.goto(f"/ui/events/{event_id}/edit")
    yield page
    page.get_by_label("Places", exact=False).fill("lots")
    page.get_by_role("button", name="Save the changes").click()
    expect(page.locator("#f-capacity-error")).to_be_visible()
    yield page  # an edit with its errors
    page.goto(f"/ui/events/{event_id}/registrations")
    expect(page.locator("#registrations tbody tr")).to_have_count(1)
    yield page
    page.goto(f"/ui/events/{event_id}")
    page.get_by_role("button", name="Delete the event").click()
    expect(page.get_by_role("button", name="Undo")).to_be_visible()
    yield page  # the events, with the undo
    page.get_by_role("link", name="Trash").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Trash")
    yield page
    page.get_by_role("button", name="Purge Garden party").first.click()
    expect(page.get_by_role("button", name="Purge for good")).to_be_visible()
    yield page
    page.get_by_role("button", name="Purge for good").click()
    expect(page.get_by_role("status")).to_have_text("The event is purged for good.")


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_every_owner_page_passes_axe_and_fits_the_width(
    people: People, service: Service, width: int, dark: bool
) -> None:
    assert len(assert_each_accessible_and_fits(_pages(people, service, width, dark), width)) == 7


def test_the_csv_downloads_as_a_file(people: People, service: Service) -> None:
    event_id = service.create_event("dan", title="Quiz", starts_at="2031-05-06T19:00:00Z")
    page = people.signed_in("dan")
    page.goto(f"/ui/events/{event_id}/registrations")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert re.fullmatch(r"registrations-.+\.csv", download.value.suggested_filename)
    with open(download.value.path(), "rb") as file:
        assert file.read().startswith(b'"id","status","position","name"')
