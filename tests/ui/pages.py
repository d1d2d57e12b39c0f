"""Reading and sending the UI's pages as a browser would, for tests."""

from __future__ import annotations

import functools
import html
import re
from typing import Any

import httpx2
from starlette.testclient import TestClient

from eventsapi.auth.principal import OPERATOR
from eventsapi.auth.service import AccountService
from tests.api.test_auth_endpoints import PASSWORD

__all__ = ["PASSWORD", "add_user", "error_of", "post_form", "sign_in", "token_in", "value_of"]

ORIGIN = "http://testserver"
SAME_ORIGIN = {"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"}


def add_user(client: TestClient, name: str) -> None:
    accounts: AccountService = client.app.state.accounts  # type: ignore[attr-defined]
    create = functools.partial(accounts.admin.create_user, name, PASSWORD, actor=OPERATOR)
    client.portal.call(create)  # type: ignore[union-attr]


def token_in(page: str) -> str:
    """The CSRF token of the page's (first) form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


def post_form(
    client: TestClient,
    path: str,
    data: dict[str, Any],
    *,
    page: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    """POST ``data`` as a form of ``page`` (its token), from our own origin."""
    fields = dict(data)
    if page is not None:
        fields["csrf_token"] = token_in(page)
    return client.post(
        path,
        data=fields,
        headers=SAME_ORIGIN if headers is None else headers,
        follow_redirects=False,
    )


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> httpx2.Response:
    """Sign in as ``name`` (an account without two-step verification) on the sign-in page."""
    page = client.get("/ui/sign-in").text
    answer = post_form(
        client, "/ui/sign-in", {"username": name, "password": password, "next": "/ui/"}, page=page
    )
    assert answer.status_code == 303, answer.text
    return answer


def error_of(page: str, field: str) -> str | None:
    """The error shown beside the form field ``field``, as text."""
    found = re.search(rf'<p class="error" id="f-{field}-error">(.*?)</p>', page, re.S)
    if found is None:
        return None
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).removeprefix("Error: ")


def value_of(page: str, field: str) -> str:
    """The value the form field ``field`` shows (an input's, or a textarea's)."""
    found = re.search(rf'<input id="f-{field}" name="{field}"[^>]* value="([^"]*)"', page)
    if found is None:
        found = re.search(rf'<textarea id="f-{field}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found is not None, f"no field {field}"
    return html.unescape(found.group(1))
