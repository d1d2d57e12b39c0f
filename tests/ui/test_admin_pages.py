"""The admin pages: users (create, role, unlock, end sessions) and webhooks (endpoints,
deliveries, retry), for admins only; everyone else gets the API's refusal as a page."""

from __future__ import annotations

import functools
import html
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.auth.principal import OPERATOR
from eventsapi.auth.service import AccountService
from eventsapi.domain.accounts import Role, User
from eventsapi.settings import Settings
from tests.support import FakeClock
from tests.ui.pages import PASSWORD, add_user, error_of, post_form, sign_in

ADMIN_PAGES = ("/ui/admin/users", "/ui/admin/webhooks")


@pytest.fixture
def site(tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:
    """The service with an admin, ``root``, signed in; webhooks may call loopback."""
    settings = Settings(
        database=str(tmp_path / "events.db"),
        rate_limits=[],
        anonymous_writes="off",
        webhook_allow_private=True,
    )
    with TestClient(create_app(settings, clock=clock.now)) as client:
        create = functools.partial(
            _accounts(client).admin.create_user, "root", PASSWORD, role=Role.ADMIN, actor=OPERATOR
        )
        client.portal.call(create)  # type: ignore[union-attr]
        sign_in(client, "root")
        yield client


def _accounts(client: TestClient) -> AccountService:
    accounts: AccountService = client.app.state.accounts  # type: ignore[attr-defined]
    return accounts


def _lock(client: TestClient, name: str) -> None:
    """Lock the account as too many failed logins would."""
    store = client.app.state.store  # type: ignore[attr-defined]
    lock = functools.partial(
        store.update_user,
        _user(client, name).id,
        lambda u: msgspec.structs.replace(u, locked=True, failed_logins=100),
    )
    client.portal.call(lock)  # type: ignore[union-attr]
    assert _user(client, name).locked


def _user(client: TestClient, name: str) -> User:
    found = client.portal.call(_accounts(client).admin.users, OPERATOR)  # type: ignore[union-attr]
    return next(user for user in found if user.username == name)


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_signed_out_visitors_and_members_are_refused(ui: TestClient, path: str) -> None:
    signed_out = ui.get(path)
    add_user(ui, "mia")
    sign_in(ui, "mia")
    member = ui.get(path)

    assert signed_out.status_code == 401
    assert member.status_code == 403
    assert "admin scope" in html.unescape(member.text)
    assert '<a href="/ui/admin/users">Admin</a>' not in member.text


def test_a_member_cannot_change_a_role_through_the_form(ui: TestClient) -> None:
    add_user(ui, "mia")
    sign_in(ui, "mia")
    page = ui.get("/ui/slo").text

    refused = post_form(ui, "/ui/admin/users/mia/role", {"role": "admin"}, page=page)

    assert refused.status_code == 403
    assert _user(ui, "mia").role is Role.MEMBER


def test_an_admin_sees_every_account_and_the_admin_link(site: TestClient) -> None:
    add_user(site, "mia")

    page = site.get("/ui/admin/users")

    assert page.status_code == 200
    assert '<a href="/ui/admin/users">Admin</a>' in page.text
    assert 'data-user="root"' in page.text
    assert 'data-user="mia"' in page.text


def test_creating_an_account_with_a_generated_password_shows_it_once(site: TestClient) -> None:
    page = site.get("/ui/admin/users").text

    created = post_form(site, "/ui/admin/users", {"username": "ned", "password": ""}, page=page)
    again = site.get("/ui/admin/users").text

    assert created.status_code == 200
    password = re.search(r'<code id="generated-password">([^<]+)</code>', created.text)
    assert password, "the generated password is shown"
    assert 'data-user="ned"' in created.text
    assert "generated-password" not in again
    site.cookies.clear()
    sign_in(site, "ned", html.unescape(password.group(1)))  # the password works


def test_creating_an_account_with_a_typed_password_and_role(site: TestClient) -> None:
    page = site.get("/ui/admin/users").text

    created = post_form(
        site,
        "/ui/admin/users",
        {"username": "ada", "password": PASSWORD, "role": "admin"},
        page=page,
    )

    assert created.status_code == 200
    assert "generated-password" not in created.text
    assert _user(site, "ada").role is Role.ADMIN


def test_a_refused_account_is_shown_beside_its_field_and_nothing_is_created(
    site: TestClient,
) -> None:
    page = site.get("/ui/admin/users").text

    taken = post_form(site, "/ui/admin/users", {"username": "root", "password": ""}, page=page)
    weak = post_form(site, "/ui/admin/users", {"username": "bob", "password": "abc"}, page=page)

    assert taken.status_code == 409
    assert weak.status_code == 422
    assert error_of(weak.text, "password")
    assert 'value="bob"' in weak.text  # what was typed is kept
    assert not any(
        u.username == "bob"
        for u in site.portal.call(  # type: ignore[union-attr]
            _accounts(site).admin.users, OPERATOR
        )
    )


def test_changing_a_role_unlocking_and_ending_sessions(site: TestClient) -> None:
    add_user(site, "mia")
    page = site.get("/ui/admin/users").text

    role = post_form(site, "/ui/admin/users/mia/role", {"role": "admin"}, page=page)
    assert role.status_code == 303
    assert role.headers["location"] == "/ui/admin/users?notice=role"
    assert _user(site, "mia").role is Role.ADMIN

    _lock(site, "mia")
    listed = site.get("/ui/admin/users").text
    assert 'aria-label="Unlock mia"' in listed
    unlocked = post_form(site, "/ui/admin/users/mia/unlock", {}, page=listed)
    assert unlocked.status_code == 303
    assert not _user(site, "mia").locked

    root = dict(site.cookies.items())
    login = site.post("/auth/login", json={"username": "mia", "password": PASSWORD})
    assert login.status_code == 200, login.text
    mia = {"Authorization": f"Bearer {login.json()['token']}"}  # her session, elsewhere
    site.cookies.clear()
    site.cookies.update(root)
    assert site.get("/auth/me", headers=mia).status_code == 200
    ended = post_form(site, "/ui/admin/users/mia/sessions", {}, page=listed)
    assert ended.status_code == 303
    assert ended.headers["location"] == "/ui/admin/users?notice=ended"
    assert site.get("/auth/me", headers=mia).status_code == 401
    assert "That account&#39;s sessions ended." in site.get(ended.headers["location"]).text


def test_an_unknown_account_is_the_apis_404(site: TestClient) -> None:
    page = site.get("/ui/admin/users").text

    answer = post_form(site, "/ui/admin/users/nobody/unlock", {}, page=page)

    assert answer.status_code == 404


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_webhooks_show_their_deliveries_and_a_failed_one_can_be_retried(
    site: TestClient,
) -> None:
    hook = site.post(
        "/webhooks",
        json={"url": f"http://127.0.0.1:{_closed_port()}/hook", "description": "CRM"},
    )
    assert hook.status_code == 201, hook.text
    assert site.post("/events", json={"title": "Standup"}).status_code == 201
    worker = site.app.state.webhook_worker  # type: ignore[attr-defined]
    assert site.portal.call(worker.run_once) >= 1  # type: ignore[union-attr]
    attempts = site.get(f"/webhooks/{hook.json()['id']}/deliveries").json()

    page = site.get("/ui/admin/webhooks")

    assert page.status_code == 200
    assert "CRM" in page.text
    assert f'data-delivery="{attempts[0]["id"]}"' in page.text
    assert "no answer" in page.text
    message = attempts[0]["message_id"]
    action = f"/ui/admin/webhooks/{hook.json()['id']}/deliveries/{message}/retry"
    assert f'action="{action}"' in page.text

    retried = post_form(site, action, {}, page=page.text)

    assert retried.status_code == 303
    assert retried.headers["location"] == "/ui/admin/webhooks?notice=retried"
    assert "The message is due again now" in site.get(retried.headers["location"]).text


def test_no_webhook_says_how_to_register_one(site: TestClient) -> None:
    page = site.get("/ui/admin/webhooks")

    assert page.status_code == 200
    assert "No webhook is registered" in page.text
