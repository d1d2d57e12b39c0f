"""What every page of the web UI shares: the way in from ``/``, the security fields, the
static files, CSRF, the route table, error pages."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from eventsapi.api.meta import prefers_html
from eventsapi.api.routes import RouteGroups
from eventsapi.api.security_headers import UI_PAGE_CSP
from tests.ui.pages import ORIGIN, add_user, post_form, sign_in, token_in

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
PAGES = ("/ui/", "/ui/sign-in", "/ui/new-event", "/ui/calendar")


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER, True),
        ("text/html", True),
        ("text/*, application/json;q=0.5", True),
        ("", False),
        ("*/*", False),
        ("application/json", False),
        ("application/json, text/html", False),
        ("text/html;q=0.5, application/json", False),
        ("text/html;q=2, application/json;q=0.1", False),  # not a qvalue: 0
        ("text/html;q=abc", False),
    ],
)
def test_a_browser_is_told_by_its_accept_field(accept: str, html: bool) -> None:
    assert prefers_html(accept) is html


def test_the_root_sends_a_browser_to_the_ui_and_keeps_its_json_for_api_clients(
    ui: TestClient,
) -> None:
    browser = ui.get("/", headers={"Accept": BROWSER}, follow_redirects=False)
    client = ui.get("/", headers={"Accept": "*/*"})

    assert browser.status_code == 303
    assert browser.headers["location"] == "/ui/"
    assert browser.headers["vary"] == "Accept"
    assert client.status_code == 200
    assert client.json()["message"] == "Welcome home!"
    assert client.headers["vary"] == "Accept"
    assert ui.get("/ui", follow_redirects=False).headers["location"] == "/ui/"


@pytest.mark.parametrize("path", PAGES)
def test_pages_run_only_this_origins_files_none_inline_and_are_never_cached(
    ui: TestClient, path: str
) -> None:
    response = ui.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == UI_PAGE_CSP
    assert "default-src 'self'" in UI_PAGE_CSP
    assert "unsafe" not in UI_PAGE_CSP
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    # Not no-referrer: with it, browsers send a form's Origin as "null" (ui/csrf.py)
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    page = response.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "an inline script"
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", page), "an inline style or handler"
    for url in re.findall(r'(?:src|href|action)="([^"]*)"', page):
        # Absolute: only the calendar feed's, of this origin (apps subscribe to it).
        own = ("/", "#", "http://testserver/events.ics", "webcal://testserver/events.ics")
        assert url.startswith(own), f"{url} is not this origin's"
        assert not url.startswith("//"), url


def test_static_files_are_cached_for_a_year_when_named_by_their_hash(ui: TestClient) -> None:
    page = ui.get("/ui/").text
    urls = re.findall(r'(?:src|href)="(/ui/static/[^"]+)"', page)
    assert {url.split("?")[0] for url in urls} == {
        "/ui/static/ui.css",
        "/ui/static/icon.svg",
        "/ui/static/htmx.min.js",
        "/ui/static/live.js",
    }
    for url in urls:
        named = ui.get(url)
        assert named.status_code == 200, url
        assert named.headers["cache-control"] == "public, max-age=31536000, immutable"
        etag = named.headers["etag"]
        unnamed = ui.get(url.split("?")[0])
        assert unnamed.headers["cache-control"] == "no-cache"  # revalidated: never stale
        assert unnamed.content == named.content
        assert ui.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert ui.get("/ui/static/ui.css").headers["content-type"] == "text/css; charset=utf-8"
    assert ui.get("/ui/static/README.md").status_code == 404
    assert ui.get("/ui/static/nothing.js").status_code == 404
    assert ui.post("/ui/static/ui.css").status_code == 405


def test_the_api_document_does_not_list_the_ui(ui: TestClient) -> None:
    paths = ui.get("/openapi.json").json()["paths"]

    assert paths
    assert not [path for path in paths if path.startswith("/ui")]


def test_pages_read_in_the_read_group_and_forms_write_in_the_write_group(
    ui: TestClient,
) -> None:
    groups: RouteGroups = ui.app.state.rate_limits.routes  # type: ignore[attr-defined]

    assert groups.group_of("GET", "/ui/") == "read"
    assert groups.group_of("GET", "/ui/events/x") == "read"
    assert groups.group_of("GET", "/ui/static/ui.css") == "read"
    assert groups.group_of("POST", "/ui/sign-in") == "write"
    assert groups.group_of("POST", "/ui/events/x/register") == "write"
    # The API's own groups are as they were.
    assert groups.group_of("POST", "/auth/login") == "auth"
    assert groups.group_of("GET", "/events") == "read"


def _new_event_form(ui: TestClient) -> str:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    return ui.get("/ui/new-event").text


CSRF_ATTEMPTS = {
    "another site": ({"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, True),
    "a sibling subdomain": ({"Origin": ORIGIN, "Sec-Fetch-Site": "same-site"}, True),
    "another origin, said by Origin alone": ({"Origin": "https://evil.example"}, True),
    "our origin, without the token": ({"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"}, False),
}


@pytest.mark.parametrize("attempt", list(CSRF_ATTEMPTS))
def test_a_form_not_from_our_own_page_is_refused_and_does_nothing(
    ui: TestClient, attempt: str
) -> None:
    page = _new_event_form(ui)
    headers, with_token = CSRF_ATTEMPTS[attempt]

    refused = post_form(
        ui, "/ui/new-event", {"title": "Forged"}, page=page if with_token else None, headers=headers
    )

    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "text/html; charset=utf-8"
    assert "Not allowed" in refused.text
    assert ui.get("/events").json() == []


def test_a_form_from_before_signing_in_is_refused_after(ui: TestClient) -> None:
    add_user(ui, "ann")
    before = ui.get("/ui/sign-in").text  # its header's form, signed out
    sign_in(ui, "ann")

    stale = post_form(ui, "/ui/new-event", {"title": "Late"}, page=before)
    fresh = post_form(ui, "/ui/new-event", {"title": "Fresh"}, page=ui.get("/ui/new-event").text)

    assert stale.status_code == 403
    assert "out of date" in stale.text
    assert fresh.status_code == 303
    assert [event["title"] for event in ui.get("/events").json()] == ["Fresh"]


def test_a_token_is_bound_to_the_browsers_key_cookie(ui: TestClient) -> None:
    page = _new_event_form(ui)
    token = token_in(page)
    ui.cookies.delete("eventsapi_csrf")
    ui.cookies.set("eventsapi_csrf", "A" * 43)  # a planted key: the token does not match

    refused = post_form(ui, "/ui/new-event", {"title": "Planted", "csrf_token": token})

    assert refused.status_code == 403


def test_the_key_cookie_is_http_only_and_strict(ui: TestClient) -> None:
    cookie = ui.get("/ui/").headers["set-cookie"]

    assert cookie.startswith("eventsapi_csrf=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie


def test_errors_are_pages_for_people(ui: TestClient) -> None:
    missing = ui.get("/ui/events/no-such-event")
    unknown = ui.get("/ui/events/bad%20id")

    assert missing.status_code == 404
    assert missing.headers["content-type"] == "text/html; charset=utf-8"
    assert "No event with id" in missing.text
    assert missing.headers["content-security-policy"] == UI_PAGE_CSP
    assert unknown.status_code == 404


def test_a_form_that_is_not_one_is_a_page_saying_so(ui: TestClient) -> None:
    page = ui.get("/ui/sign-in").text
    headers = {"Origin": ORIGIN, "Content-Type": "application/json"}

    wrong_type = ui.post("/ui/sign-in", content=b"{}", headers=headers)
    not_utf8 = ui.post(
        "/ui/sign-in",
        content=b"username=%FF&csrf_token=" + token_in(page).encode(),
        headers={"Origin": ORIGIN, "Content-Type": "application/x-www-form-urlencoded"},
    )

    assert wrong_type.status_code == 415
    assert "text/html" in wrong_type.headers["content-type"]
    assert not_utf8.status_code == 400
