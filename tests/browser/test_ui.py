"""The web UI in a real browser: Debian's Chromium driven by Playwright.

Every request the pages make is seen by a route handler: one to another origin is
refused and recorded, and the module ends by checking that there was none (the host
resolver also maps every name but 127.0.0.1 to nowhere). Every message the console shows
is kept: a script error or anything the Content-Security-Policy refused fails the test
that caused it. axe-core (``checks.py``: the copy axe-playwright-python ships) checks each
page, in light and dark, at 390 and 1,440 px wide.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    Route,
    expect,
    sync_playwright,
)

from tests.browser.checks import assert_each_accessible_and_fits, tab_to
from tests.browser.ui_server import PASSWORD, Service, next_code, prepare, ready

pytestmark = pytest.mark.slow

WIDTHS = (390, 1440)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with prepare(tmp_path_factory.mktemp("ui")) as server:
        yield ready(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (Playwright's own download is not used), or a failure, never a
    skip: CI must run these tests, so a missing browser is an error to fix."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail(
            "the UI's browser tests need Chromium: apt-get install --no-install-recommends "
            "chromium (.ci/run installs it)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
        )
        yield launched
        launched.close()


@dataclass
class Watch:
    """What the pages of a test did that they must not: requests to another origin,
    console errors (CSP refusals among them), uncaught script errors."""

    origin: str
    elsewhere: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = route.request.url
        if url == self.origin or url.startswith(self.origin + "/"):
            route.continue_()
        else:
            self.elsewhere.append(url)
            route.abort()

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type not in ("error", "warning"):
            return
        # A page answered with a 4xx (a form shown again with its errors, the error page)
        # is logged as a failed load; a failed file is caught by on_response.
        if "Failed to load resource" in message.text and "status of 4" in message.text:
            return
        self.console.append(f"{message.type}: {message.text}")

    def on_response(self, response: Response) -> None:
        if response.request.resource_type != "document" and response.status >= 400:
            self.console.append(f"{response.status} for {response.url}")

    def check(self) -> None:
        assert self.elsewhere == [], "requests to another origin"
        assert self.console == [], "console errors, CSP refusals or failed loads"


@pytest.fixture
def watch(service: Service) -> Iterator[Watch]:
    watched = Watch(service.origin)
    yield watched
    watched.check()


@pytest.fixture
def people(browser: Browser, service: Service, watch: Watch) -> Iterator[People]:
    made = People(browser, service, watch)
    yield made
    made.close()


class People:
    """A browser context per person (their own cookies), each page watched."""

    def __init__(self, browser: Browser, service: Service, watch: Watch) -> None:
        self.browser = browser
        self.service = service
        self.watch = watch
        self.contexts: list[BrowserContext] = []

    def page(self, *, width: int = 1440, dark: bool = False) -> Page:
        context = self.browser.new_context(
            base_url=self.service.origin,
            viewport={"width": width, "height": 900},
            color_scheme="dark" if dark else "light",
        )
        context.route("**/*", self.watch.route)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self.watch.on_console)
        page.on("response", self.watch.on_response)
        page.on("pageerror", lambda error: self.watch.console.append(f"pageerror: {error}"))
        return page

    def signed_in(self, name: str, **options: Any) -> Page:
        page = self.page(**options)
        page.goto("/ui/sign-in")
        page.get_by_label("Username").fill(name)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


# -- flows ------------------------------------------------------------------------------


def test_signing_in_with_two_step_verification_by_keyboard_alone(
    people: People, service: Service
) -> None:
    page = people.page()
    page.goto("/ui/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.goto("/ui/sign-in")

    # The username field has the focus; Tab goes on to the password, Enter sends.
    page.keyboard.type("ann")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    code = page.get_by_label("Code")
    expect(code).to_be_focused()
    page.keyboard.type("000000")
    page.keyboard.press("Enter")
    expect(page.locator("#f-code-error")).to_contain_text("wrong")
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Code")).to_be_focused()
    page.keyboard.type(next_code(service.totp_secret))
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/ui/$"))
    expect(page.get_by_text("Signed in as ann")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def test_register_until_full_then_the_next_person_is_waitlisted(
    people: People, service: Service
) -> None:
    event_id = service.create_event(
        "dan", title="Tiny workshop", starts_at="2031-06-01T18:00:00Z", capacity=1
    )
    bob = people.signed_in("bob")
    cat = people.signed_in("cat")

    bob.goto(f"/ui/events/{event_id}")
    bob.get_by_label("E-mail address").fill("bob@example.org")
    bob.get_by_role("button", name="Register").click()
    expect(bob.get_by_role("status")).to_have_text("You are registered.")
    expect(bob.locator("#my-status")).to_contain_text("You are registered, as bob")

    cat.goto(f"/ui/events/{event_id}")
    cat.get_by_label("E-mail address").fill("cat@example.org")
    cat.get_by_role("button", name=re.compile("Register|Join the waitlist")).click()
    expect(cat.get_by_role("status")).to_contain_text("you are on its waitlist")
    expect(cat.locator("#my-status")).to_contain_text("on the waitlist, number 1")

    # Bob cancels: his spot goes to Cat.
    bob.get_by_role("button", name="Cancel my registration").click()
    expect(bob.get_by_role("status")).to_have_text("Your registration is cancelled.")
    cat.reload()
    expect(cat.locator("#my-status")).to_contain_text("You are registered, as cat")


def test_register_until_full_then_the_waitlist_then_cancel_by_keyboard_alone(
    people: People, service: Service
) -> None:
    event_id = service.create_event(
        "dan", title="Keyed workshop", starts_at="2031-06-01T18:00:00Z", capacity=1
    )
    bob = people.signed_in("bob")
    cat = people.signed_in("cat")

    bob.goto(f"/ui/events/{event_id}")
    tab_to(bob, bob.get_by_label("E-mail address"))
    bob.keyboard.type("bob@example.org")
    bob.keyboard.press("Enter")  # from the field: the form is sent
    expect(bob.get_by_role("status")).to_have_text("You are registered.")
    expect(bob.locator("#my-status")).to_contain_text("You are registered, as bob")

    cat.goto(f"/ui/events/{event_id}")
    name = cat.get_by_label("Name")
    tab_to(cat, name)
    expect(name).to_have_value("cat")
    cat.keyboard.press("Tab")
    expect(cat.get_by_label("E-mail address")).to_be_focused()
    cat.keyboard.type("cat@example.org")
    cat.keyboard.press("Tab")
    expect(cat.get_by_role("button", name="Join the waitlist")).to_be_focused()
    cat.keyboard.press("Space")
    expect(cat.get_by_role("status")).to_contain_text("you are on its waitlist")
    expect(cat.locator("#my-status")).to_contain_text("on the waitlist, number 1")

    # Bob cancels: his spot goes to Cat.
    tab_to(bob, bob.get_by_role("button", name="Cancel my registration"))
    bob.keyboard.press("Enter")
    expect(bob.get_by_role("status")).to_have_text("Your registration is cancelled.")
    cat.reload()
    expect(cat.locator("#my-status")).to_contain_text("You are registered, as cat")


def test_creating_an_event_with_a_mistake_by_keyboard_alone(people: People) -> None:
    page = people.signed_in("dan")
    tab_to(page, page.get_by_role("link", name="New event"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("New event")
    tab_to(page, page.get_by_label("Title"))
    page.keyboard.type("Chess club")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Description")).to_be_focused()
    page.keyboard.type("Bring a board.")
    tab_to(page, page.get_by_label("Time zone"))
    page.keyboard.type("Europe/Paris")
    tab_to(page, page.get_by_label("Tags"))
    page.keyboard.type("games")
    page.keyboard.press("Tab")
    capacity = page.get_by_label("Places", exact=False)
    expect(capacity).to_be_focused()
    page.keyboard.type("twelve")
    page.keyboard.press("Enter")

    expect(page.locator("#f-capacity-error")).to_be_visible()
    expect(capacity).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Title")).to_have_value("Chess club")
    expect(page.get_by_label("Description")).to_have_value("Bring a board.")
    expect(page.get_by_label("Tags")).to_have_value("games")
    expect(capacity).to_have_value("twelve")
    # The summary's link comes before the form and takes the focus to the field.
    summary_link = page.get_by_role("link", name=re.compile("^Places:"))
    tab_to(page, summary_link)
    page.keyboard.press("Enter")
    expect(capacity).to_be_focused()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("12")
    tab_to(page, page.get_by_role("button", name="Create the event"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Chess club")
    expect(page.get_by_role("status")).to_have_text("The event is created.")
    expect(page.locator(".facts")).to_contain_text("12")


def test_creating_an_event_with_a_mistake_shows_it_beside_the_field_and_keeps_the_rest(
    people: People,
) -> None:
    page = people.signed_in("dan")
    page.get_by_role("link", name="New event").click()
    page.get_by_label("Title").fill("Board games")
    page.get_by_label("Description").fill("Bring a game.")
    page.get_by_label("Starts").fill("2031-09-05T19:00")
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_label("Tags").fill("games, evening")
    page.get_by_label("Places", exact=False).fill("twelve")
    page.get_by_role("button", name="Create the event").click()

    capacity = page.get_by_label("Places", exact=False)
    expect(page.locator("#f-capacity-error")).to_be_visible()
    expect(capacity).to_have_attribute("aria-invalid", "true")
    expect(capacity).to_have_attribute("aria-describedby", re.compile("f-capacity-error"))
    expect(page.get_by_role("alert")).to_contain_text("Places:")
    expect(page.get_by_label("Title")).to_have_value("Board games")
    expect(page.get_by_label("Description")).to_have_value("Bring a game.")
    expect(page.get_by_label("Starts")).to_have_value("2031-09-05T19:00")
    expect(page.get_by_label("Tags")).to_have_value("games, evening")
    expect(capacity).to_have_value("twelve")

    page.get_by_role("link", name=re.compile("^Places:")).click()  # from the summary
    expect(capacity).to_be_focused()
    capacity.fill("12")
    page.get_by_role("button", name="Create the event").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Board games")
    expect(page.get_by_role("status")).to_have_text("The event is created.")
    expect(page.locator(".facts")).to_contain_text("Fri 5 Sep 2031, 19:00")


def test_the_search_updates_the_results_in_place_and_in_the_address(
    people: People, service: Service
) -> None:
    service.create_event("dan", title="Quiet reading hour", tags=["books"])
    page = people.page()
    page.goto("/ui/")
    page.get_by_label("Search").fill("reading")

    expect(page).to_have_url(re.compile(r"q=reading"))
    expect(page.locator("#results h3")).to_have_text(["Quiet reading hour"])
    page.get_by_role("link", name="books").click()
    expect(page.get_by_role("textbox", name=re.compile("^Tags"))).to_have_value("books")


# -- every page --------------------------------------------------------------------------


def _pages(people: People, service: Service, width: int, dark: bool) -> Iterator[Page]:
    """Each page of the UI in turn (the same Page, moved on), in each state worth checking."""
    event_id = service.create_event(
        "dan", title="Picnic", starts_at="2031-07-01T10:00:00Z", location="Park", tags=["food"]
    )
    page = people.page(width=width, dark=dark)
    for path in ("/ui/", f"/ui/events/{event_id}", "/ui/sign-in", "/ui/new-event", "/ui/events/x"):
        page.goto(path)
        yield page
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Code")).to_be_visible()
    yield page  # the second step
    signed_in = people.signed_in("bob", width=width, dark=dark)
    for path in (f"/ui/events/{event_id}", "/ui/new-event"):
        signed_in.goto(path)
        yield signed_in
    signed_in.get_by_role("button", name="Create the event").click()
    expect(signed_in.locator("#f-title-error")).to_be_visible()
    yield signed_in  # a form with its errors


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_passes_axe_and_fits_the_width(
    people: People, service: Service, width: int, dark: bool
) -> None:
    assert len(assert_each_accessible_and_fits(_pages(people, service, width, dark), width)) == 9


def test_the_events_page_weighs_under_100_kb_compressed_on_first_load(
    people: People, service: Service, record_property: Any
) -> None:
    for number in range(20):
        service.create_event(
            "dan",
            title=f"Evening talk {number}: a title of a usual length",
            description="A description of a usual length, " * 8,
            starts_at="2031-10-01T18:00:00Z",
            location="The library, 12 High Street",
            tags=["talks", "evening"],
            capacity=40,
        )
    page = people.page()
    loaded: list[Any] = []
    page.on("requestfinished", lambda request: loaded.append(request))

    page.goto("/ui/?sort=-created_at", wait_until="networkidle")

    sizes = [request.sizes() for request in loaded]
    weight = sum(size["responseBodySize"] + size["responseHeadersSize"] for size in sizes)
    record_property("events_page_bytes", weight)
    print(f"events page, first load: {len(loaded)} requests, {weight} bytes")
    assert len(loaded) >= 4  # the page, its stylesheet, script and icon
    assert weight < 100_000


def test_the_pages_are_served_with_their_policy(people: People, service: Service) -> None:
    page = people.page()
    response = page.goto("/ui/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert policy.startswith("default-src 'self'")
    # htmx ran, under the policy: it marks what it has processed.
    expect(page.locator("form.filters")).to_have_attribute("hx-get", "/ui/")
    assert page.evaluate("typeof htmx") == "object"


def test_a_browser_at_the_root_lands_on_the_events_page(people: People) -> None:
    page = people.page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/ui/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Events")


def test_the_watch_sees_a_request_to_another_origin(people: People, watch: Watch) -> None:
    # Guards the guard: a page of no policy that asks another origin for an image.
    page = people.page()
    page.set_content('<img src="http://elsewhere.example/pixel.png" alt="">')
    page.wait_for_timeout(500)

    assert watch.elsewhere == ["http://elsewhere.example/pixel.png"]
    watch.elsewhere.clear()
    watch.console.clear()  # the image's failed load
