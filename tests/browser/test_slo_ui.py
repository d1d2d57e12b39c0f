"""The SLO dashboard and the admin pages in a real browser, against a server whose drill
fails a quarter of the event requests (``EVENTSAPI_DRILL_ERROR_RATIO``, as docs/slo.md
rehearses it). The browser, the watch on other origins and console errors, and axe are
``test_ui.py``'s."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser import test_ui as shared
from tests.browser.checks import assert_each_accessible_and_fits, tab_to
from tests.browser.test_ui import WIDTHS, People
from tests.browser.ui_server import PASSWORD, Service
from tests.server_process import ServerProcess, clean_environment, eventsapi_command, free_port

pytestmark = pytest.mark.slow

# test_ui.py's fixtures, here by name; they take this module's service.
browser = shared.browser
watch = shared.watch
people = shared.people

DRILL = {"EVENTSAPI_ANONYMOUS_WRITES": "off", "EVENTSAPI_DRILL_ERROR_RATIO": "0.25"}
MINUTE_AND_FLUSH = 90.0
"""Seconds until a minute's requests are in the numbers: the minute ends, then every
worker writes its counts (every 5 s)."""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("slo-ui")
    database = folder / "events.db"
    for name, role in (("root", ["--admin"]), ("mia", [])):
        subprocess.run(
            eventsapi_command(
                "users", "create", *role, name, "--password-stdin", "--database", str(database)
            ),
            input=PASSWORD,
            text=True,
            capture_output=True,
            check=True,
            timeout=60,
            cwd=folder,
            env=clean_environment(),
        )
    port = free_port()
    server = ServerProcess(
        ["serve", "--port", str(port), "--database", str(database)],
        port=port,
        cwd=folder,
        env=DRILL,
    )
    with server:
        server.wait_ready()
        yield Service(server, "")


def _budget_left(page: Page) -> float | None:
    """The availability SLO's budget left as the page shows it (``None``: no traffic)."""
    text = page.locator('#slo-availability [data-field="budget-remaining"]').inner_text()
    found = re.match(r"(-?[0-9.]+) %", text)
    return None if found is None else float(found.group(1))


def _until(page: Page, settled: object, deadline: float) -> float | None:
    """Reload until the budget left satisfies ``settled`` (a predicate), or fail."""
    while True:
        page.reload()
        left = _budget_left(page)
        if settled(left):  # type: ignore[operator]
            return left
        assert time.monotonic() < deadline, f"the budget left stayed at {left}"
        page.wait_for_timeout(3000)


def test_the_slo_dashboard_shows_the_budget_burning_while_a_drill_runs(
    people: People, service: Service
) -> None:
    page = people.page()
    page.goto("/ui/")
    page.get_by_role("link", name="SLOs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Service level objectives")
    banner = page.locator("#drill-banner")
    expect(banner).to_contain_text("25.00% of API requests fail with 503")

    # Requests the drill spares (it fails event routes only): a minute of clean traffic.
    for _ in range(30):
        status, _ = service.call("GET", "/slo")
        assert status == 200
    before = _until(page, lambda left: left is not None, time.monotonic() + MINUTE_AND_FLUSH)
    assert before is not None

    # Then event requests, a quarter of which fail: the budget burns.
    failed = 0
    for _ in range(80):
        status, _ = service.call("GET", "/events")
        failed += status == 503
    assert failed == 20
    after = _until(
        page, lambda left: left is not None and left < before, time.monotonic() + MINUTE_AND_FLUSH
    )
    assert after is not None
    assert after < before
    expect(banner).to_be_visible()
    expect(page.locator("#slo-availability svg.chart polyline").first).to_be_attached()
    if after < 0:
        expect(page.locator('#slo-availability [data-field="budget-remaining"]')).to_contain_text(
            "overspent"
        )


def _follow_by_keyboard(page: Page, link: Locator) -> None:
    """Tab to ``link`` and press Enter, then wait for the page it loads (the same
    address too: a keyboard user's reload)."""
    page.evaluate("window.left = true")
    tab_to(page, link)
    page.keyboard.press("Enter")
    page.wait_for_function("!window.left")
    page.wait_for_load_state()


def test_the_drill_and_its_budget_burning_by_keyboard_alone(
    people: People, service: Service
) -> None:
    page = people.page()
    page.goto("/ui/")
    slos = page.get_by_role("navigation", name="Main").get_by_role("link", name="SLOs")
    _follow_by_keyboard(page, slos)
    expect(page.get_by_role("heading", level=1)).to_have_text("Service level objectives")
    expect(page.get_by_role("status")).to_contain_text("A fault-injection drill is running")
    expect(page.locator("#drill-banner")).to_contain_text("25.00% of API requests fail with 503")

    # Event requests, a quarter of which the drill fails; the page again, by keyboard,
    # until their minute is in the numbers.
    for _ in range(40):
        service.call("GET", "/events")
    deadline = time.monotonic() + MINUTE_AND_FLUSH
    while (left := _budget_left(page)) is None or left >= 100:
        assert time.monotonic() < deadline, f"the budget left stayed at {left}"
        page.wait_for_timeout(3000)
        _follow_by_keyboard(page, slos)

    # The objective's own section, from the page's list of them: its figures, then its
    # tables, each a scrolling region the keyboard reaches.
    objectives = page.get_by_role("navigation", name="Objectives")
    tab_to(page, objectives.get_by_role("link", name="availability", exact=True))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#slo-availability$"))
    page.keyboard.press("Tab")
    expect(
        page.get_by_role("region", name=re.compile("^Burn rates of availability"))
    ).to_be_focused()
    section = page.locator("#slo-availability")
    expect(section.locator('[data-field="budget-remaining"]')).to_have_text(
        re.compile(r"-?[0-9.]+ %")
    )
    assert _budget_left(page) == left < 100


def test_an_admin_reaches_the_admin_pages_from_the_header(people: People) -> None:
    member = people.signed_in("mia")
    expect(member.get_by_role("link", name="Admin")).to_have_count(0)
    member.goto("/ui/admin/users")
    expect(member.get_by_role("heading", level=1)).to_have_text("You may not do this")

    admin = people.signed_in("root")
    admin.get_by_role("link", name="Admin").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Users")
    admin.get_by_role("textbox", name="Username").fill("ned")
    admin.get_by_role("button", name="Create the account").click()
    expect(admin.locator("#generated-password")).to_be_visible()
    expect(admin.locator('tr[data-user="ned"]')).to_be_visible()
    admin.get_by_label("Role of ned", exact=True).select_option("admin")
    admin.get_by_role("button", name="Change role of ned").click()
    expect(admin.get_by_role("status")).to_contain_text("The role is changed")
    expect(admin.locator('tr[data-user="ned"] td').first).to_have_text("admin")


def _new_pages(people: People, width: int, dark: bool) -> Iterator[Page]:
    page = people.signed_in("root", width=width, dark=dark)
    for path in ("/ui/slo", "/ui/admin/users", "/ui/admin/webhooks"):
        page.goto(path)
        yield page


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_the_new_pages_pass_axe_and_fit_the_width(people: People, width: int, dark: bool) -> None:
    assert len(assert_each_accessible_and_fits(_new_pages(people, width, dark), width)) == 3
