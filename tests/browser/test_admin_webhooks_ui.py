"""The admin's webhooks page in a real browser with endpoints that have had deliveries: one
to a receiver that answered 500 then 200, one to a port where nothing listens (no
answer). The server may deliver to loopback (``EVENTSAPI_WEBHOOK_ALLOW_PRIVATE``, as
tests/webhooks run it); the webhooks are registered and the events made through the API,
as an integrator would. The browser, the watch and axe are ``test_ui.py``'s."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import test_ui as shared
from tests.browser.checks import assert_accessible_and_fits
from tests.browser.test_ui import WIDTHS, People
from tests.browser.ui_server import PASSWORD, Service
from tests.server_process import ServerProcess, clean_environment, eventsapi_command, free_port
from tests.webhooks.receiver import Receiver, serve_receiver

pytestmark = pytest.mark.slow

# test_ui.py's fixtures, here by name; they take this module's service.
browser = shared.browser
watch = shared.watch
people = shared.people

ENVIRONMENT = {"EVENTSAPI_ANONYMOUS_WRITES": "off", "EVENTSAPI_WEBHOOK_ALLOW_PRIVATE": "true"}
DELIVERED_WITHIN = 60.0
"""Seconds for the server's worker to make the attempts the tests look at: the first of
each message (it is woken by each change), and the retry 5 s after a failed one; the next
retries wait 5 minutes (``webhooks/schedule.py``)."""


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("webhooks-ui")
    database = folder / "events.db"
    subprocess.run(
        eventsapi_command(
            "users", "create", "--admin", "root", "--password-stdin", "--database", str(database)
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
        env=ENVIRONMENT,
    )
    with server:
        server.wait_ready()
        made = Service(server, "")
        _deliveries_made(made, receiver)
        yield made


def _deliveries_made(service: Service, receiver: Receiver) -> None:
    """Two endpoints with attempts of each kind: delivered (200), refused (500), and
    no answer at all (a port where nothing listens). Once each failed message's retry is
    made (the receiver then answers 200), nothing changes for minutes."""
    token = service.token("root")
    receiver.answer(500)
    hooks: list[dict[str, Any]] = []
    for url, description in (
        (receiver.url, "The CRM's receiver"),
        (f"http://127.0.0.1:{free_port()}/hook", "A receiver that is down"),
    ):
        status, hook = service.call(
            "POST",
            "/webhooks",
            {"url": url, "types": ["event.*"], "description": description},
            token,
        )
        assert status == 201, hook
        hooks.append(hook)
    for title in ("Quarterly review", "Team offsite"):
        status, event = service.call("POST", "/events", {"title": title}, token)
        assert status == 201, event
    deadline = time.monotonic() + DELIVERED_WITHIN
    for hook, wanted in zip(hooks, (3, 4), strict=True):
        while True:
            status, attempts = service.call(
                "GET", f"/webhooks/{hook['id']}/deliveries", None, token
            )
            assert status == 200, attempts
            if len(attempts) >= wanted:
                break
            assert time.monotonic() < deadline, f"{hook['url']}: {attempts}"
            time.sleep(0.5)


def test_an_admin_sees_each_endpoints_deliveries_and_retries_a_failed_one(
    people: People,
) -> None:
    page = people.signed_in("root")
    page.goto("/ui/admin/webhooks")
    expect(page.locator("section.webhook")).to_have_count(2)
    crm = page.locator("section.webhook", has_text="The CRM's receiver")
    expect(crm.locator("tbody tr")).to_have_count(3)
    statuses = crm.locator("tbody td:nth-of-type(4)").all_inner_texts()
    assert sorted(text.split()[0] for text in statuses) == ["200", "200", "500"]
    down = page.locator("section.webhook", has_text="A receiver that is down")
    expect(down.locator("tbody tr")).to_have_count(4)
    for text in down.locator("tbody td:nth-of-type(4)").all_inner_texts():
        assert text.startswith("no answer"), text

    retry = down.get_by_role("button", name="Retry now").first
    retry.click()
    expect(page.get_by_role("status")).to_have_text(
        "The message is due again now; its retry schedule started over."
    )


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_the_webhooks_page_with_deliveries_passes_axe_and_fits_the_width(
    people: People, width: int, dark: bool
) -> None:
    page = people.signed_in("root", width=width, dark=dark)
    page.goto("/ui/admin/webhooks")
    expect(page.locator("tr[data-delivery]").first).to_be_visible()
    expect(page.get_by_role("button", name="Retry now").first).to_be_visible()
    assert_accessible_and_fits(page, width)
