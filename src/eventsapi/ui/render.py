"""Pages as HTML responses: the Jinja2 templates (``templates/``), their filters, and the
fields every page is sent with.

Every value is escaped (``autoescape``); a name a template uses but was not given is an
error (``StrictUndefined``), so a mistake fails a test rather than rendering a blank.
Pages are ``Cache-Control: no-store``: they show one person's session and carry their
form tokens, which no cache may keep or hand to another. Their
``Content-Security-Policy`` and ``Referrer-Policy`` are ``api/security_headers``'s
``UI_PAGE_*``; the service's front adds the other security fields (``api/hotpath.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

from starlette.responses import Response

from eventsapi.api.security_headers import UI_PAGE_CSP, UI_PAGE_REFERRER
from eventsapi.api.static_files import StaticFiles
from eventsapi.ui import formats

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["HTML", "Renderer"]

HTML: Final = "text/html; charset=utf-8"
_FIELDS: Final = (
    (b"content-security-policy", UI_PAGE_CSP.encode()),
    (b"referrer-policy", UI_PAGE_REFERRER.encode()),
    (b"cache-control", b"no-store"),
)


def static_files() -> StaticFiles:
    """The UI's files (``static/``: ``README.md`` says where each comes from), served
    under ``/ui/static/``."""
    return StaticFiles("eventsapi.ui", "static", prefix="/ui/static/")


class Renderer:
    """The templates, ready to render."""

    def __init__(self, assets: StaticFiles) -> None:
        self.assets = assets

    @cached_property
    def env(self) -> Environment:
        """Made at the first page: a service whose UI nobody opens does not import Jinja2
        (some 3.5 MB; docs/benchmarks.md, "Idle memory and start-up")."""
        from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

        env = Environment(
            loader=PackageLoader("eventsapi.ui", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        env.globals["static"] = self.assets.url
        env.filters.update(formats.FILTERS)
        return env

    def render(self, template: str, context: Mapping[str, Any]) -> str:
        return self.env.get_template(template).render(context)

    def page(
        self,
        template: str,
        context: Mapping[str, Any],
        *,
        status: int = 200,
        cookies: Iterable[bytes] = (),
    ) -> Response:
        """``template`` rendered with ``context``, with the pages' fields and ``cookies``
        (``Set-Cookie`` values)."""
        body = self.render(template, context).encode()
        response = Response(body, status_code=status, media_type=HTML)
        response.raw_headers += _FIELDS
        response.raw_headers += [(b"set-cookie", cookie) for cookie in cookies]
        return response


def see_other(location: str, *, cookies: Iterable[bytes] = ()) -> Response:
    """The 303 after a form that worked (the browser then GETs ``location``, so a reload
    does not send the form again)."""
    response = Response(status_code=303, headers={"Location": location})
    response.raw_headers += [(b"cache-control", b"no-store")]
    response.raw_headers += [(b"set-cookie", cookie) for cookie in cookies]
    return response
