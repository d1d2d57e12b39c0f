"""Screenshots of every page of the web UI, at 390 and 1,440 px wide, light and dark
(docs/ui.md#screenshots): a real ``eventsapi serve`` on SQLite with a few events, driven
by Debian's Chromium through Playwright.

    python -m tests.browser.screenshots            # writes docs/ui/<page>-<width>-<scheme>.jpg

JPEG at quality 70 keeps the folder small enough for the repository; the pages are taken
whole (``full_page``), so a long page at 390 px is one tall image.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Final

from playwright.sync_api import Browser, sync_playwright

from tests.browser.ui_server import ENVIRONMENT, PASSWORD, Service
from tests.server_process import ServerProcess, clean_environment, eventsapi_command, free_port

WIDTHS: Final = (390, 1440)
SCHEMES: Final = ("light", "dark")
HEIGHT: Final = 900
QUALITY: Final = 70
ADMIN: Final = "ann"
"""An admin without two-step verification: the screenshots' signed-in visitor."""
OTHERS: Final = ("bob", "cat")
FOLDER: Final = Path(__file__).resolve().parents[2] / "docs" / "ui"


@dataclass(frozen=True)
class Shot:
    name: str
    path: str
    signed_in: bool = True


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(service: Service) -> dict[str, str]:
    """A few events like a small club's (one full, with a waitlist; one deleted, in the
    trash); the ids of the one the event pages show and of the trash's."""
    day = datetime.now(UTC).replace(hour=18, minute=0, second=0, microsecond=0)
    events = [
        ("Jazz night at the Cellar", 3, "public", ["music", "jazz"], 40, "The Cellar, 12 Quay St"),
        ("Board games evening", 1, "members", ["games"], 3, "Library, room 2"),
        ("Chess club", 5, "public", ["games", "chess"], None, "Café Royal"),
        ("Open-air cinema", 9, "public", ["film"], 120, "Riverside park"),
        ("Volunteers' meeting", 12, "private", ["club"], 12, "Town hall"),
    ]
    ids = {}
    for title, days, visibility, tags, capacity, place in events:
        start = day + timedelta(days=days)
        fields: dict[str, object] = {
            "title": title,
            "description": f"{title}: everyone is welcome. Bring a friend.",
            "starts_at": _stamp(start),
            "ends_at": _stamp(start + timedelta(hours=3)),
            "timezone": "Europe/London",
            "location": place,
            "tags": tags,
            "visibility": visibility,
        }
        if capacity is not None:
            fields["capacity"] = capacity
        ids[title] = service.create_event(ADMIN, **fields)
    token = service.tokens[ADMIN]
    for event, people in (
        ("Jazz night at the Cellar", ("Ada Lovelace", "Alan Turing", "Grace Hopper")),
        ("Board games evening", ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra")),
    ):
        for person in people:
            email = person.lower().replace(" ", ".") + "@example.org"
            status, answer = service.call(
                "POST",
                f"/events/{ids[event]}/registrations",
                {"name": person, "email": email},
                token,
            )
            assert status in (200, 201), answer
    gone = service.create_event(ADMIN, title="Cancelled picnic", starts_at=_stamp(day))
    status, answer = service.call("DELETE", f"/events/{gone}", None, token)
    assert status in (200, 204), answer
    return {"event": ids["Jazz night at the Cellar"]}


def shots(ids: dict[str, str]) -> list[Shot]:
    event = f"/ui/events/{ids['event']}"
    return [
        Shot("events", "/ui/"),
        Shot("calendar", "/ui/calendar"),
        Shot("event", event),
        Shot("event-signed-out", event, signed_in=False),
        Shot("new-event", "/ui/new-event"),
        Shot("edit-event", f"{event}/edit"),
        Shot("registrations", f"{event}/registrations"),
        Shot("sign-in", "/ui/sign-in", signed_in=False),
        Shot("account", "/ui/account"),
        Shot("account-password", "/ui/account/password"),
        Shot("account-two-step", "/ui/account/two-step"),
        Shot("account-sessions", "/ui/account/sessions"),
        Shot("account-tokens", "/ui/account/tokens"),
        Shot("account-activity", "/ui/account/activity"),
        Shot("trash", "/ui/trash"),
        Shot("slo", "/ui/slo"),
        Shot("admin-users", "/ui/admin/users"),
        Shot("admin-webhooks", "/ui/admin/webhooks"),
    ]


@contextmanager
def service(folder: Path) -> Iterator[Service]:
    """A started server with an admin (``ADMIN``) and two members, all without two-step
    verification."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "events.db"
    for name in (ADMIN, *OTHERS):
        admin = ["--admin"] if name == ADMIN else []
        subprocess.run(
            eventsapi_command(
                "users", "create", name, *admin, "--password-stdin", "--database", str(database)
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
    args = ["serve", "--port", str(port), "--database", str(database)]
    with ServerProcess(args, port=port, cwd=folder, env=ENVIRONMENT) as server:
        server.wait_ready()
        yield Service(server, "")


@contextmanager
def chromium() -> Iterator[Browser]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise SystemExit("screenshots need Chromium: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
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
        try:
            yield browser
        finally:
            browser.close()


def capture(
    browser: Browser,
    origin: str,
    pages: Sequence[Shot],
    folder: Path,
    widths: Sequence[int] = WIDTHS,
    schemes: Sequence[str] = SCHEMES,
) -> list[Path]:
    """``folder/<page>-<width>-<scheme>.jpg`` of each of ``pages``; the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for width in widths:
        for scheme in schemes:
            for signed_in in (False, True):
                context = browser.new_context(
                    base_url=origin,
                    viewport={"width": width, "height": HEIGHT},
                    color_scheme="dark" if scheme == "dark" else "light",
                    reduced_motion="reduce",
                )
                try:
                    page = context.new_page()
                    if signed_in:
                        page.goto("/ui/sign-in")
                        page.get_by_label("Username").fill(ADMIN)
                        page.get_by_label("Password").fill(PASSWORD)
                        page.get_by_role("button", name="Continue").click()
                        page.wait_for_url(lambda url: "/sign-in" not in url)
                    for shot in pages:
                        if shot.signed_in != signed_in:
                            continue
                        answer = page.goto(shot.path)
                        # An error page would pass for the page in a screenshot.
                        if answer is None or not answer.ok:
                            status = answer.status if answer else None
                            raise RuntimeError(f"{shot.path} answered {status}")
                        target = folder / f"{shot.name}-{width}-{scheme}.jpg"
                        page.screenshot(path=target, type="jpeg", quality=QUALITY, full_page=True)
                        written.append(target)
                finally:
                    context.close()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=FOLDER, help="the folder (docs/ui)")
    options = parser.parse_args(argv)
    with TemporaryDirectory() as temporary, service(Path(temporary)) as running:
        ids = seed(running)
        with chromium() as browser:
            written = capture(browser, running.origin, shots(ids), options.out)
    size = sum(path.stat().st_size for path in written)
    print(f"{len(written)} screenshots, {size / 1e6:.1f} MB, in {options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
