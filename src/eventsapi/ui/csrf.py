"""Cross-site request forgery: every form of the UI is checked twice, as OWASP's CSRF
Prevention Cheat Sheet recommends.

1. **Where the request comes from.** A browser says it in ``Sec-Fetch-Site`` (every
   current one) and ``Origin`` (on every POST): a form posted from another site, or from a
   sibling subdomain (``same-site``), is refused. A request with neither field is not from
   a current browser's page; the token decides.
2. **A synchronizer token, bound to the session.** Each browser gets a random key in an
   ``HttpOnly`` cookie (``__Host-`` prefixed and ``Secure`` wherever the session cookie is,
   ``SameSite=Strict``); each form carries ``HMAC-SHA256(key, session cookie)``. A page of
   another site can read neither the cookie nor our pages, so it cannot make the token; one
   that managed to plant a key cookie (the weakness of a plain double-submit cookie) still
   cannot make one for the victim's session, whose cookie it cannot read. No server-side
   state: every worker and replica checks a token the same way. Signing in and out changes
   the session, so a form from before is refused (its page is reloaded).

The session cookie itself is ``SameSite=Strict`` (``auth/sessions.py``): other sites'
requests never carry it, which these checks back up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Final

from starlette.requests import Request

from eventsapi.errors import Forbidden

__all__ = ["FIELD", "CsrfRefused", "check_origin", "cookie_header", "cookie_name", "token"]

FIELD: Final = "csrf_token"
"""The name of every form's hidden token field."""
_COOKIE: Final = "eventsapi_csrf"
_KEY: Final = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 random bytes, base64url without padding


class CsrfRefused(Forbidden):
    """A form that may not come from our own page: nothing is done (403)."""


def cookie_name(secure: bool) -> str:
    """The key cookie's name: ``__Host-`` prefixed when ``Secure`` (as the session's)."""
    return f"__Host-{_COOKIE}" if secure else _COOKIE


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def key_of(request: Request, secure: bool) -> str | None:
    """The browser's key, if it sent a well-formed one."""
    value = request.cookies.get(cookie_name(secure))
    return value if value is not None and _KEY.fullmatch(value) else None


def cookie_header(key: str, secure: bool) -> bytes:
    """The ``Set-Cookie`` value that gives the browser ``key``, for its browsing session."""
    attributes = [f"{cookie_name(secure)}={key}", "Path=/", "HttpOnly", "SameSite=Strict"]
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes).encode()


def token(key: str, session: str) -> str:
    """The token the forms of a page carry, for the browser's ``key`` and its ``session``
    cookie (``""`` when signed out)."""
    mac = hmac.new(key.encode(), b"eventsapi-ui-csrf\x00" + session.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def check_token(key: str | None, session: str, sent: str | None) -> None:
    if key is None:
        raise CsrfRefused(
            "Your browser did not send back the cookie of this form: allow cookies for this "
            "site, then load the page again."
        )
    if sent is None or not hmac.compare_digest(token(key, session), sent):
        raise CsrfRefused(
            "This form is out of date (you signed in or out, or your session ended, since it "
            "was loaded): load the page again, and send it from there."
        )


def check_origin(request: Request, own_origin: str) -> None:
    """Refuse a request that its browser says comes from another site or origin."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        raise CsrfRefused(f"A form of this site must be sent from its own pages, not {site}.")
    origin = request.headers.get("origin")
    if origin is not None and origin != own_origin:
        raise CsrfRefused("A form of this site must be sent from its own pages.")
