"""The security fields of every response, as raw header tuples built once.

- ``X-Content-Type-Options: nosniff``: a browser renders a response only as its declared
  type, so a JSON body holding HTML is never run as a page.
- ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'``: no site may frame the API or
  its docs page (clickjacking); the first for browsers that predate the second.
- ``Referrer-Policy: no-referrer``: the service has no use for ``Referer``, and a page
  rendered from it must not tell another site its URL (listings carry search terms and
  cursors in their query). The web UI's pages send ``same-origin`` instead
  (``UI_PAGE_REFERRER``): under ``no-referrer`` a browser sends ``Origin: null`` with a
  form, and the UI's CSRF check (``ui/csrf.py``) reads ``Origin``; other sites still get
  nothing.
- ``Content-Security-Policy``: ``default-src 'none'`` for every API response (a response
  opened as a document may load and run nothing); the docs page has its own, which allows
  this service's own scripts, styles and the OpenAPI document, and no inline script; the
  web UI's pages (``ui/``) have theirs, which allows this origin only, and nothing inline.

``api/hotpath.py`` adds them to both of its paths, problems, 404s, 405s and 429s included.
A response that brings its own ``Content-Security-Policy`` or ``Referrer-Policy`` (the docs
page, the UI's pages) keeps it.
"""

from __future__ import annotations

from typing import Final

CSP: Final = b"content-security-policy"
REFERRER: Final = b"referrer-policy"

COMMON: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (REFERRER, b"no-referrer"),
)
API_CSP: Final = (CSP, b"default-src 'none'; frame-ancestors 'none'")
API: Final = (*COMMON, API_CSP)
"""What a response without a policy of its own gets (every API response)."""

DOCS_PAGE_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""The docs page (Swagger UI): its script and styles from /docs/static, the OpenAPI
document from /openapi.json, and the images Swagger UI's CSS embeds as data: URIs."""

UI_PAGE_CSP: Final = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
"""The web UI's pages (``ui/``): scripts, styles, images and requests from this origin only,
none inline (no ``'unsafe-inline'``, no ``'unsafe-eval'``), forms posted to it only, no
plugins, no ``<base>``, never framed."""
UI_PAGE_REFERRER: Final = "same-origin"
"""The web UI's pages' ``Referrer-Policy``: see the module's docstring."""


def to_add(headers: list[tuple[bytes, bytes]]) -> tuple[tuple[bytes, bytes], ...]:
    """The fields to add to a response that has ``headers`` (lower-case names): those of
    ``API`` it does not set itself."""
    own = [name for name, _ in headers if name in (CSP, REFERRER)]
    if not own:
        return API
    return tuple(field for field in API if field[0] not in own)
