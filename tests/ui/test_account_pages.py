"""The account security pages (``/ui/account/...``) and the sign-in's new-password step:
the API's own rules, shown as pages."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import Cookie
from urllib.parse import urlencode

import httpx2
import pyotp
import pytest
from starlette.testclient import TestClient

from eventsapi.auth.principal import OPERATOR
from eventsapi.auth.service import AccountService
from tests.api.asserts import send_json
from tests.support import FakeClock
from tests.ui.pages import PASSWORD, SAME_ORIGIN, add_user, error_of, post_form, sign_in, token_in
from tests.ui.test_sign_in import enable_totp, first_step, pending_of

NEW_PASSWORD = "copper meadow lantern ninety orbit"  # noqa: S105 - a test's
WRONG = "The username, password or two-step code is wrong, or the account is locked."
PAGES = (
    "/ui/account",
    "/ui/account/password",
    "/ui/account/two-step",
    "/ui/account/sessions",
    "/ui/account/tokens",
    "/ui/account/activity",
)


class Jar:
    """Another browser's cookies: ``with jar.on(ui)`` sends the client's requests as that
    browser (one client, since the app's database lives on its event loop)."""

    def __init__(self) -> None:
        self.cookies: list[Cookie] = []

    @contextmanager
    def on(self, ui: TestClient) -> Iterator[TestClient]:
        mine = list(ui.cookies.jar)
        ui.cookies.jar.clear()
        for cookie in self.cookies:
            ui.cookies.jar.set_cookie(cookie)
        try:
            yield ui
        finally:
            self.cookies = list(ui.cookies.jar)
            ui.cookies.jar.clear()
            for cookie in mine:
                ui.cookies.jar.set_cookie(cookie)


def api_login(ui: TestClient, password: str = PASSWORD) -> int:
    """A login as ann through the API, by another client (the page's cookies stay)."""
    with Jar().on(ui):
        body = {"username": "ann", "password": password}
        return send_json(ui, "POST", "/auth/login", body).status_code


def bearer_status(ui: TestClient, value: str) -> int:
    with Jar().on(ui):
        return ui.get("/auth/me", headers={"Authorization": f"Bearer {value}"}).status_code


@pytest.fixture
def ann(ui: TestClient) -> TestClient:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    return ui


@pytest.mark.parametrize("path", PAGES)
def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(ui: TestClient, path: str) -> None:
    answer = ui.get(path, follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/ui/sign-in?next={path}"


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_shown_uncached_with_the_account_link(ann: TestClient, path: str) -> None:
    page = ann.get(path)

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert '<a href="/ui/account">Account</a>' in page.text
    assert 'aria-current="page"' in page.text


def test_a_form_sent_signed_out_leads_to_sign_in_and_changes_nothing(ann: TestClient) -> None:
    with Jar().on(ann):
        sign_in(ann, "ann")  # another session, which the form would end
    with Jar().on(ann):
        form = ann.get("/ui/sign-in").text  # a signed-out visitor's token

        answer = post_form(ann, "/ui/account/sessions/terminate-others", {}, page=form)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/sign-in?next=/ui/account"
    assert ann.get("/ui/account/sessions").text.count("<tr") == 3  # both sessions


# -- password ---------------------------------------------------------------------------


def change(ui: TestClient, fields: dict[str, str] | None = None) -> httpx2.Response:
    """The password form sent (with ``fields`` instead of the right ones)."""
    page = ui.get("/ui/account/password").text
    sent = {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD,
        **(fields or {}),
    }
    return post_form(ui, "/ui/account/password", sent, page=page)


def test_changing_the_password_keeps_this_browser_signed_in(ann: TestClient) -> None:
    answer = change(ann)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/account?notice=password-changed"
    assert "Your password is changed" in ann.get(answer.headers["location"]).text
    assert ann.get("/auth/me").status_code == 200  # the new session's cookie
    assert api_login(ann) == 401
    assert api_login(ann, NEW_PASSWORD) == 200


def test_a_wrong_current_password_is_said_beside_it(ann: TestClient) -> None:
    answer = change(ann, {"current_password": "not it at all, sorry"})
    text = answer.text

    assert answer.status_code == 422
    assert error_of(text, "current_password") == WRONG
    assert api_login(ann) == 200  # unchanged


def test_a_weak_new_password_shows_the_servers_feedback_beside_it(ann: TestClient) -> None:
    answer = change(ann, {"new_password": "password1", "new_password_again": "password1"})
    text = answer.text

    assert answer.status_code == 422
    message = error_of(text, "new_password")
    assert message is not None
    assert "15" in message or "common" in message
    assert 'aria-invalid="true"' in text
    assert api_login(ann) == 200


def test_the_new_password_typed_twice_must_match(ann: TestClient) -> None:
    answer = change(ann, {"new_password_again": NEW_PASSWORD + "x"})
    text = answer.text

    assert answer.status_code == 422
    assert error_of(text, "new_password_again") == (
        "The two new passwords differ: type the same one twice."
    )
    assert api_login(ann) == 200


def test_a_form_without_its_token_is_refused_and_changes_nothing(ann: TestClient) -> None:
    sent = {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD,
    }
    answer = post_form(ann, "/ui/account/password", {**sent, "csrf_token": "forged"})
    cross_site = post_form(
        ann,
        "/ui/account/password",
        sent,
        page=ann.get("/ui/account/password").text,
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )

    assert answer.status_code == 403
    assert cross_site.status_code == 403
    assert api_login(ann) == 200


# -- two-step verification ----------------------------------------------------------------


def test_turning_on_two_step_verification_shows_the_codes_once(
    ann: TestClient, clock: FakeClock
) -> None:
    page = ann.get("/ui/account/two-step").text
    scan = post_form(ann, "/ui/account/two-step/start", {}, page=page)
    assert scan.status_code == 200
    assert "<svg" in scan.text
    assert scan.headers["cache-control"] == "no-store"
    found = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', scan.text)
    assert found
    secret = found.group(1).replace(" ", "")

    wrong = post_form(
        ann,
        "/ui/account/two-step/confirm",
        {"code": "000000", "current_password": PASSWORD},
        page=scan.text,
    )
    assert wrong.status_code == 422
    assert error_of(wrong.text, "code") == "This code is not the one the app shows now; try again."

    code = pyotp.TOTP(secret).at(clock.now())
    shown = post_form(
        ann,
        "/ui/account/two-step/confirm",
        {"code": code, "current_password": PASSWORD},
        page=wrong.text,
    )
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    codes = re.findall(r'<input type="hidden" name="code" value="([0-9a-z-]+)">', shown.text)
    assert len(codes) == 10
    assert ann.get("/auth/me").json()["totp_enabled"] is True  # the new session's cookie

    fields = [("code", c) for c in codes] + [("csrf_token", token_in(shown.text))]
    download = ann.post(
        "/ui/account/two-step/recovery-codes",
        content=urlencode(fields),
        headers={**SAME_ORIGIN, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    assert download.headers["content-disposition"] == (
        'attachment; filename="eventsapi-recovery-codes.txt"'
    )
    assert download.headers["cache-control"] == "no-store"
    assert all(c in download.text for c in codes)
    assert "Two-step verification is <strong>on</strong>" in ann.get("/ui/account/two-step").text


def test_the_download_echoes_recovery_codes_only(ann: TestClient) -> None:
    page = ann.get("/ui/account/two-step").text

    answer = post_form(
        ann, "/ui/account/two-step/recovery-codes", {"code": "<script>alert(1)</script>"}, page=page
    )

    assert answer.status_code == 400
    assert "text/html" in answer.headers["content-type"]


def test_turning_two_step_verification_off_needs_a_code(ann: TestClient, clock: FakeClock) -> None:
    ann.cookies.clear()
    secret, _ = enable_totp(ann, clock, "ann")
    page = first_step(ann, "ann")
    code = pyotp.TOTP(secret).at(clock.now())
    post_form(
        ann,
        "/ui/sign-in/code",
        {"pending": pending_of(page), "code": code, "next": "/ui/"},
        page=page,
    )
    clock.advance(30)
    page = ann.get("/ui/account/two-step").text

    wrong = post_form(
        ann,
        "/ui/account/two-step/off",
        {"current_password": PASSWORD, "code": "000000"},
        page=page,
    )
    # A password of 8+ characters may be too short alone: the advice is the API's.
    assert wrong.status_code == 422
    assert error_of(wrong.text, "current_password") == WRONG

    right = post_form(
        ann,
        "/ui/account/two-step/off",
        {"current_password": PASSWORD, "code": pyotp.TOTP(secret).at(clock.now())},
        page=page,
    )
    assert right.status_code == 303
    assert ann.get("/auth/me").json()["totp_enabled"] is False


# -- sessions -------------------------------------------------------------------------------


def test_sessions_show_this_device_and_end_the_others(ann: TestClient) -> None:
    other = Jar()
    with other.on(ann):
        sign_in(ann, "ann")
    page = ann.get("/ui/account/sessions").text
    assert page.count("<tr") == 3  # the heading's row and two sessions
    assert page.count("this device") == 1
    assert "testclient" in page  # the User-Agent, shown as it is when no browser is known

    found = re.search(r'action="(/ui/account/sessions/[0-9A-Z]{26}/terminate)"', page)
    assert found
    ended = post_form(ann, found.group(1), {}, page=page)

    assert ended.status_code == 303
    assert "The session is ended" in ann.get(ended.headers["location"]).text
    with other.on(ann):
        assert "Signed in as" not in ann.get("/ui/").text  # that browser is signed out
    again = post_form(ann, found.group(1), {}, page=page)
    assert again.status_code == 404


def test_terminate_all_other_sessions(ann: TestClient) -> None:
    others = [Jar(), Jar()]
    for other in others:
        with other.on(ann):
            sign_in(ann, "ann")
    page = ann.get("/ui/account/sessions").text

    answer = post_form(ann, "/ui/account/sessions/terminate-others", {}, page=page)

    assert answer.status_code == 303
    assert ann.get(answer.headers["location"]).text.count("<tr") == 2
    for other in others:
        with other.on(ann):
            assert ann.get("/auth/me").status_code == 401


# -- API tokens -----------------------------------------------------------------------------


def test_a_token_is_shown_once_works_and_is_revoked(ann: TestClient) -> None:
    page = ann.get("/ui/account/tokens").text
    assert 'value="admin"' not in page  # a member has no admin scope to give

    created = post_form(
        ann,
        "/ui/account/tokens",
        {"name": "laptop script", "scopes": "events:read", "lifetime": "30"},
        page=page,
    )
    assert created.status_code == 200
    found = re.search(r'id="new-token" type="text" value="([^"]+)"', created.text)
    assert found
    value = found.group(1)
    assert bearer_status(ann, value) == 200
    listed = ann.get("/ui/account/tokens").text
    assert "laptop script" in listed
    assert value not in listed  # shown once

    revoke = re.search(r'action="(/ui/account/tokens/[0-9A-Z]{26}/revoke)"', listed)
    assert revoke
    answer = post_form(ann, revoke.group(1), {}, page=listed)
    assert answer.status_code == 303
    assert "laptop script" not in ann.get("/ui/account/tokens").text
    assert bearer_status(ann, value) == 401


def test_a_token_without_name_or_scope_is_said_beside_the_fields(ann: TestClient) -> None:
    page = ann.get("/ui/account/tokens").text

    answer = post_form(ann, "/ui/account/tokens", {"name": "", "lifetime": "90"}, page=page)

    assert answer.status_code == 422
    assert error_of(answer.text, "name") is not None or error_of(answer.text, "scopes") is not None
    assert 'id="new-token"' not in answer.text


# -- activity ---------------------------------------------------------------------------------


def test_the_activity_lists_the_accounts_security_events(ann: TestClient) -> None:
    api_login(ann, "wrong password here")
    change(ann)

    page = ann.get("/ui/account/activity").text

    assert "Password changed" in page
    assert "A sign-in failed" in page
    assert page.index("Password changed") < page.index("A sign-in failed")  # newest first


# -- the sign-in's new-password step ------------------------------------------------------------


def reset(ui: TestClient, name: str) -> str:
    accounts: AccountService = ui.app.state.accounts  # type: ignore[attr-defined]
    reset_password = functools.partial(accounts.admin.reset_password, OPERATOR, name)
    _, given = ui.portal.call(reset_password)  # type: ignore[union-attr]
    return given


def test_a_reset_password_is_replaced_at_sign_in(ui: TestClient) -> None:
    add_user(ui, "ann")
    given = reset(ui, "ann")
    page = ui.get("/ui/sign-in").text
    step = post_form(
        ui, "/ui/sign-in", {"username": "ann", "password": given, "next": "/ui/account"}, page=page
    )
    assert step.status_code == 200
    assert 'action="/ui/sign-in/new-password"' in step.text

    weak = post_form(
        ui,
        "/ui/sign-in/new-password",
        {
            "pending": pending_of(step.text),
            "next": "/ui/account",
            "new_password": "password1",
            "new_password_again": "password1",
        },
        page=step.text,
    )
    assert weak.status_code == 422
    assert error_of(weak.text, "new_password") is not None
    differ = post_form(
        ui,
        "/ui/sign-in/new-password",
        {
            "pending": pending_of(weak.text),
            "next": "/ui/account",
            "new_password": NEW_PASSWORD,
            "new_password_again": "something else",
        },
        page=weak.text,
    )
    assert error_of(differ.text, "new_password_again") is not None

    done = post_form(
        ui,
        "/ui/sign-in/new-password",
        {
            "pending": pending_of(differ.text),
            "next": "/ui/account",
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
        page=differ.text,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/ui/account"
    assert "Signed in as <strong>ann</strong>" in ui.get("/ui/account").text
    assert api_login(ui, given) == 401
    assert api_login(ui, NEW_PASSWORD) == 200


def test_a_reset_password_with_two_step_verification_asks_a_newer_code_if_needed(
    ui: TestClient, clock: FakeClock
) -> None:
    add_user(ui, "ann")
    secret, _ = enable_totp(ui, clock, "ann")
    given = reset(ui, "ann")
    page = first_step(ui, "ann", given)
    code = pyotp.TOTP(secret).at(clock.now())
    step = post_form(
        ui,
        "/ui/sign-in/code",
        {"pending": pending_of(page), "code": code, "next": "/ui/"},
        page=page,
    )
    assert 'action="/ui/sign-in/new-password"' in step.text
    assert 'id="f-code"' not in step.text  # the code typed is carried

    clock.advance(120)  # the code has expired meanwhile
    fields = {"next": "/ui/", "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    late = post_form(
        ui, "/ui/sign-in/new-password", {**fields, "pending": pending_of(step.text)}, page=step.text
    )
    assert late.status_code == 422
    assert error_of(late.text, "code") == "Enter the code your authenticator app shows now."

    newer = pyotp.TOTP(secret).at(clock.now())
    done = post_form(
        ui,
        "/ui/sign-in/new-password",
        {**fields, "pending": pending_of(late.text), "code": newer},
        page=late.text,
    )
    assert done.status_code == 303
    assert "Signed in as <strong>ann</strong>" in ui.get("/ui/").text
