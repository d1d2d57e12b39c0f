"""What a page needs to follow the change stream (``GET /changes/stream``) and to offer the
calendar feeds (``GET /events.ics``, ``GET /events/{id}.ics``).

**Live updates.** A page that shows events (the list, an event's page, the month) loads
``static/live.js``, which opens an ``EventSource`` on the stream and, on a change that
concerns what it shows, fetches the page again and swaps the parts marked ``data-live``.
The stream starts after the log's position *read before the page's events were*
(``since``): a change committed while the page was being made or loaded is still
delivered, so a page never misses one. The stream is the API's own, public route, with its
limits (``stream_limit_per_client``); when it is off (``stream_limit`` 0) pages load no
script for it. Without JavaScript the pages are as fresh as their last load.

**Feeds.** Calendar apps need absolute URLs: they are made of the service's own origin,
``public_url`` when it is set, else the page's request (``Authn.own_origin``, as the CSRF
check has it), and ``webcal://`` is that origin's host with the ``webcal`` scheme (the
same feed, which opens the calendar app's "subscribe" dialog).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, urlencode, urlsplit

import msgspec
from starlette.requests import Request

from eventsapi.api.authn import Authn
from eventsapi.api.stream import StreamAPI
from eventsapi.api.sync_tokens import encode_sync_token

__all__ = ["Feeds", "Live"]


class Live:
    """Where a page's stream starts: ``None`` while the stream is off."""

    def __init__(self, stream: StreamAPI | None) -> None:
        self.stream = stream

    async def since(self) -> str | None:
        """The stream's URL from the change log's last position now (read it before the
        events the page shows)."""
        if self.stream is None:
            return None
        _, last = await self.stream.store.change_horizon()
        return "/changes/stream?since=" + encode_sync_token(self.stream.key, last)


class FeedLinks(msgspec.Struct, frozen=True):
    """A calendar feed's two URLs: to subscribe (``webcal://``) and to copy (``https://``)."""

    webcal: str
    web: str


class Feeds:
    """The absolute URLs of the calendar feeds, for a page's request."""

    def __init__(self, authn: Authn) -> None:
        self.authn = authn

    def events(self, request: Request, filters: Iterable[tuple[str, str]] = ()) -> FeedLinks:
        """``/events.ics`` with ``filters`` (those of ``GET /events`` it takes)."""
        query = urlencode(list(filters))
        web = self.authn.own_origin(request) + "/events.ics" + (f"?{query}" if query else "")
        parts = urlsplit(web)
        return FeedLinks(webcal=parts._replace(scheme="webcal").geturl(), web=web)

    @staticmethod
    def event(event_id: str) -> str:
        """One event's calendar (a path: a download link of the page's own origin)."""
        return "/events/" + quote(event_id, safe="") + ".ics"
