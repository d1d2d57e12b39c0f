"""Signing in and out on the UI's pages: the API's login, step by step."""

from __future__ import annotations

import re

import pyotp
from starlette.testclient import TestClient

from tests.api.asserts import send_json
from tests.support import FakeClock
from tests.ui.pages import PASSWORD, add_user, error_of, post_form, sign_in, value_of

WRONG = "The username, password or two-step code is wrong, or the account is locked."


def enable_totp(ui: TestClient, clock: FakeClock, name: str) -> tuple[str, list[str]]:
    """Turn two-step verification on for ``name`` through the API: its secret and its
    recovery codes."""
    login = send_json(ui, "POST", "/auth/login", {"username": name, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    ui.cookies.clear()
    secret = ui.post("/auth/totp", headers=headers).json()["secret"]
    code = pyotp.TOTP(secret).at(clock.now())
    confirm = {"code": code, "password": PASSWORD}
    confirmed = send_json(ui, "POST", "/auth/totp/confirm", confirm, headers)
    assert confirmed.status_code == 200, confirmed.text
    ui.cookies.clear()
    clock.advance(30)  # the confirming code's step is spent
    return secret, confirmed.json()["recovery_codes"]


def first_step(ui: TestClient, name: str, password: str = PASSWORD, next_: str = "/ui/") -> str:
    page = ui.get("/ui/sign-in").text
    answer = post_form(
        ui, "/ui/sign-in", {"username": name, "password": password, "next": next_}, page=page
    )
    assert answer.status_code == 200, answer.text
    assert 'action="/ui/sign-in/code"' in answer.text
    return answer.text


def pending_of(page: str) -> str:
    found = re.search(r'name="pending" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_signing_in_sets_the_session_and_goes_where_the_person_was_going(
    ui: TestClient,
) -> None:
    add_user(ui, "ann")
    page = ui.get("/ui/sign-in?next=/ui/new-event").text

    answer = post_form(
        ui,
        "/ui/sign-in",
        {"username": "ann", "password": PASSWORD, "next": "/ui/new-event"},
        page=page,
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/new-event"
    assert "Signed in as <strong>ann</strong>" in ui.get("/ui/").text
    assert ui.get("/auth/me").json()["username"] == "ann"  # the API's own session


def test_a_wrong_password_is_said_beside_it_and_the_username_is_kept(ui: TestClient) -> None:
    add_user(ui, "ann")
    page = ui.get("/ui/sign-in").text

    answer = post_form(ui, "/ui/sign-in", {"username": "ann", "password": "nope"}, page=page)

    assert answer.status_code == 422
    assert error_of(answer.text, "password") == WRONG
    assert value_of(answer.text, "username") == "ann"
    assert value_of(answer.text, "password") == ""  # never sent back
    assert "Sign in" in answer.text
    assert ui.get("/auth/me").status_code == 401


def test_an_unknown_username_reads_as_a_wrong_password(ui: TestClient) -> None:
    page = ui.get("/ui/sign-in").text

    answer = post_form(ui, "/ui/sign-in", {"username": "nobody", "password": "x"}, page=page)

    assert answer.status_code == 422
    assert error_of(answer.text, "password") == WRONG


def test_two_step_verification_asks_for_the_code_then_signs_in(
    ui: TestClient, clock: FakeClock
) -> None:
    add_user(ui, "ann")
    secret, _ = enable_totp(ui, clock, "ann")

    step_two = first_step(ui, "ann")
    pending = pending_of(step_two)
    assert PASSWORD not in step_two
    assert PASSWORD.split()[0] not in pending  # sealed, not encoded
    wrong = post_form(ui, "/ui/sign-in/code", {"pending": pending, "code": "000000"}, page=step_two)
    assert wrong.status_code == 422
    assert error_of(wrong.text, "code") == WRONG
    code = pyotp.TOTP(secret).at(clock.now())
    right = post_form(
        ui, "/ui/sign-in/code", {"pending": pending_of(wrong.text), "code": code}, page=wrong.text
    )

    assert right.status_code == 303, right.text
    assert ui.get("/auth/me").json()["username"] == "ann"


def test_a_recovery_code_signs_in_once(ui: TestClient, clock: FakeClock) -> None:
    add_user(ui, "ann")
    _, recovery = enable_totp(ui, clock, "ann")
    step_two = first_step(ui, "ann")

    used = post_form(
        ui,
        "/ui/sign-in/code",
        {"pending": pending_of(step_two), "code": recovery[0]},
        page=step_two,
    )

    assert used.status_code == 303
    assert ui.get("/auth/me").status_code == 200


def test_an_empty_code_is_asked_for_again(ui: TestClient, clock: FakeClock) -> None:
    add_user(ui, "ann")
    enable_totp(ui, clock, "ann")
    step_two = first_step(ui, "ann")

    empty = post_form(
        ui, "/ui/sign-in/code", {"pending": pending_of(step_two), "code": ""}, page=step_two
    )

    assert empty.status_code == 422
    assert "Enter the code" in (error_of(empty.text, "code") or "")


def test_the_second_step_expires(ui: TestClient, clock: FakeClock) -> None:
    add_user(ui, "ann")
    secret, _ = enable_totp(ui, clock, "ann")
    step_two = first_step(ui, "ann")
    clock.advance(6 * 60)

    late = post_form(
        ui,
        "/ui/sign-in/code",
        {"pending": pending_of(step_two), "code": pyotp.TOTP(secret).at(clock.now())},
        page=step_two,
    )

    assert late.status_code == 422
    assert "more than 5 minutes" in late.text
    assert 'action="/ui/sign-in"' in late.text
    assert ui.get("/auth/me").status_code == 401


def test_a_tampered_second_step_is_refused(ui: TestClient, clock: FakeClock) -> None:
    add_user(ui, "ann")
    enable_totp(ui, clock, "ann")
    step_two = first_step(ui, "ann")
    pending = pending_of(step_two)
    tampered = pending[:20] + ("A" if pending[20] != "A" else "B") + pending[21:]

    refused = post_form(
        ui, "/ui/sign-in/code", {"pending": tampered, "code": "123456"}, page=step_two
    )

    assert refused.status_code == 422
    assert 'action="/ui/sign-in"' in refused.text


def test_signing_out_ends_the_session(ui: TestClient) -> None:
    add_user(ui, "ann")
    sign_in(ui, "ann")
    session = ui.cookies.get("eventsapi_session")
    page = ui.get("/ui/").text

    answer = post_form(ui, "/ui/sign-out", {}, page=page)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/?notice=signed-out"
    assert "You are signed out." in ui.get("/ui/?notice=signed-out").text
    ended = ui.get("/auth/me", headers={"Authorization": f"Bearer {session}"})
    assert ended.status_code == 401


def test_after_signing_in_only_pages_of_the_ui_are_followed(ui: TestClient) -> None:
    add_user(ui, "ann")
    for target in ("https://evil.example/", "//evil.example/ui/", "/ui/../events", "/docs"):
        ui.cookies.clear()
        page = ui.get("/ui/sign-in").text
        answer = post_form(
            ui, "/ui/sign-in", {"username": "ann", "password": PASSWORD, "next": target}, page=page
        )
        assert answer.headers["location"] == "/ui/", target


def test_a_stale_session_cookie_shows_the_pages_signed_out(ui: TestClient) -> None:
    ui.cookies.set("eventsapi_session", "es_" + "x" * 40)

    page = ui.get("/ui/")

    assert page.status_code == 200
    assert 'href="/ui/sign-in"' in page.text
    assert any(
        value.startswith("eventsapi_session=;") for value in page.headers.get_list("set-cookie")
    )


def test_a_throttled_sign_in_says_how_long_to_wait(ui: TestClient) -> None:
    add_user(ui, "ann")
    page = ui.get("/ui/sign-in").text
    wrong = {"username": "ann", "password": "not the password"}
    answers = [post_form(ui, "/ui/sign-in", wrong, page=page) for _ in range(8)]

    throttled = answers[-1]
    assert [answer.status_code for answer in answers[:6]] == [422] * 6
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    assert "Too many failed attempts" in (error_of(throttled.text, "password") or "")
