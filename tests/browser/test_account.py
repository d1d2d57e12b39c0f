"""The account security pages in a real browser: two-step verification turned on, its
recovery codes downloaded and one used to sign in elsewhere; the other session seen and
ended from the first browser, which signs the second out; every page checked by axe."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.browser import test_ui as shared
from tests.browser.checks import assert_each_accessible_and_fits, tab_to
from tests.browser.test_ui import WIDTHS, People
from tests.browser.ui_server import PASSWORD

# test_ui's fixtures, for this module too (a service of its own: module-scoped).
service = shared.service
browser = shared.browser
watch = shared.watch
people = shared.people

SLOW = 30_000
"""Milliseconds for a page that checks a password (argon2, on 2 shared cores)."""
ACCOUNT_PAGES = (
    "/ui/account",
    "/ui/account/password",
    "/ui/account/two-step",
    "/ui/account/sessions",
    "/ui/account/tokens",
    "/ui/account/activity",
)


def turn_on_two_step(page: Page) -> tuple[str, list[str]]:
    """Through the pages: the secret shown under the QR code, and the recovery codes."""
    page.goto("/ui/account/two-step")
    page.get_by_role("button", name="Set up two-step verification").click()
    expect(page.locator("figure.qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time()))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible(timeout=SLOW)
    codes = page.locator("ul.codes code").all_inner_texts()
    assert len(codes) == 10
    return secret, codes


def sign_in_with_code(page: Page, name: str, code: str) -> None:
    page.goto("/ui/sign-in")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible(timeout=SLOW)


def test_two_step_on_then_a_second_browser_is_seen_and_signed_out(
    people: People, tmp_path: Path
) -> None:
    first = people.signed_in("cat")
    first.get_by_role("link", name="Account").click()
    expect(first.get_by_role("heading", name="Your account")).to_be_visible()
    _, codes = turn_on_two_step(first)

    with first.expect_download() as download:
        first.get_by_role("button", name="Download the codes").click()
    saved = tmp_path / "codes.txt"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "eventsapi-recovery-codes.txt"
    assert all(code in saved.read_text() for code in codes)

    # The second browser signs in with two-step verification (a recovery code).
    second = people.page()
    sign_in_with_code(second, "cat", codes[0])

    first.goto("/ui/account/sessions")
    rows = first.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(first.locator("tr.current")).to_contain_text("this device")
    first.locator("tbody tr:not(.current)").get_by_role("button", name="Terminate").click()
    expect(first.get_by_text("The session is ended")).to_be_visible()
    expect(rows).to_have_count(1)

    # The second browser is signed out at its next click.
    second.get_by_role("link", name="Events", exact=True).click()
    expect(second.get_by_role("link", name="Sign in")).to_be_visible()
    expect(second.get_by_text("Signed in as cat")).to_have_count(0)


def test_ending_the_other_sessions_by_keyboard_alone(people: People) -> None:
    first = people.signed_in("dan")
    people.signed_in("dan")
    first.goto("/ui/account/sessions")
    expect(first.locator("tbody tr")).to_have_count(2)

    button = first.get_by_role("button", name="Terminate all other sessions")
    tab_to(first, button)
    first.keyboard.press("Enter")

    expect(first.get_by_text("Every other session is ended")).to_be_visible()
    expect(first.locator("tbody tr")).to_have_count(1)


def _account_pages(people: People, width: int, dark: bool) -> Iterator[Page]:
    page = people.signed_in("bob", width=width, dark=dark)
    for path in ACCOUNT_PAGES:
        page.goto(path)
        yield page
    page.goto("/ui/account/password")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("password1")
    page.get_by_label("New password again").fill("password1")
    page.get_by_role("button", name="Change the password").click()
    expect(page.locator("#f-new_password-error")).to_be_visible(timeout=SLOW)
    yield page  # the server's feedback beside the field
    page.goto("/ui/account/tokens")
    page.get_by_label("Name").fill(f"axe {width} {dark}")
    page.get_by_label(re.compile("events:read")).check()
    page.get_by_role("button", name="Create the token").click()
    expect(page.locator("#new-token")).to_be_visible()
    yield page  # a token shown once
    page.goto("/ui/account/two-step")
    page.get_by_role("button", name="Set up two-step verification").click()
    expect(page.locator("figure.qr svg")).to_be_visible()
    yield page  # the QR code


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_every_account_page_passes_axe_and_fits_the_width(
    people: People, width: int, dark: bool
) -> None:
    checked = assert_each_accessible_and_fits(_account_pages(people, width, dark), width)
    assert len(checked) == len(ACCOUNT_PAGES) + 3


def test_a_refused_password_change_starts_with_the_focus_on_its_summary(people: People) -> None:
    page = people.signed_in("dan")
    page.goto("/ui/account/password")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("password1")
    page.get_by_label("New password again").fill("password1")
    page.get_by_label("New password again").press("Enter")
    expect(page.locator("#f-new_password-error")).to_be_visible(timeout=SLOW)

    # document.activeElement: the summary, not the top of the page.
    expect(page.get_by_role("alert")).to_be_focused()
    assert page.evaluate("document.activeElement.matches('.problem')")
    page.keyboard.press("Tab")
    link = page.get_by_role("link", name=re.compile("^New password:")).first
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("New password", exact=True)).to_be_focused()
