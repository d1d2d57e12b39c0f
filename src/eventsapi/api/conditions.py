"""Entity tags and conditional requests (RFC 9110 §8.8.3 and §13).

An event is served with its registrations' counts beside its own members, and the counts
change without the event (a registration bumps no version). Its ``ETag`` is strong and has
two parts, ``"<version>-<digest>.<registered>.<waitlisted>"``:

- the **event part**, ``<version>-<digest>``: the stored document's revision
  (``storage/events.py``), its version and a digest of it, stored with it so that reads do
  not hash. The digest tells apart two events that share an id and a version (one purged,
  the other created later with the same id);
- the **counts**, after the first ``.``. The counts and the document determine the whole
  representation (``spots_left`` is the capacity less ``registered``), so the tag names
  exactly one, and it changes when anyone registers: ``If-None-Match`` never revalidates
  a copy with stale counts (``not_modified`` compares whole tags, weakly, as RFC 9110
  §13.1.2 asks).

Preconditions on writes (``If-Match``, and ``If-None-Match`` on ``PUT``) compare event
parts only (``TagList.matches_event``): a tag matches if it names a representation of
the event as it is now, whatever counts that representation showed. ``If-Match`` exists
to prevent lost updates (RFC 9110 §13.1.1); a registration is no update an owner's edit
could lose (the counts are not written by ``PUT`` or ``PATCH``), so an edit made with the
tag read before someone registered goes ahead, and one made after anyone else's edit is
412, as before. A tag without a ``.`` is its own event part.

Preconditions on writes are checked by the store inside the write's
transaction (``Preconditions.check`` is the ``Guard``), so two clients holding
the same ``ETag`` cannot both win.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec
from starlette.requests import Request

from eventsapi.domain.events import Event
from eventsapi.errors import BadRequest, PreconditionFailed, PreconditionRequired
from eventsapi.storage.events import revision

_encode = msgspec.json.Encoder().encode
ANY: Final = "*"
# One entity tag: optional weak prefix, then a quoted string of etagc characters.
_ENTITY_TAG: Final = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


def entity_tag(stored_revision: str, registered: int, waitlisted: int) -> str:
    """The strong entity tag of an event served with these counts, quotes included, from
    its stored document's revision (``storage/events.py``, ``revision``)."""
    return f'"{stored_revision}.{registered}.{waitlisted}"'


def event_tag(event: Event) -> str:
    """The event part of the entity tags of ``event``'s representations, quotes included."""
    return f'"{revision(event.version, _encode(event))}"'


def event_part(tag: str) -> str:
    """The event part of an opaque tag (quotes included): up to its first ``.``."""
    cut = tag.find(".")
    return tag if cut < 0 else tag[:cut] + '"'


class TagList(msgspec.Struct, frozen=True):
    """A parsed ``If-Match`` / ``If-None-Match`` value: ``*`` or entity tags."""

    any: bool
    strong: frozenset[str]
    weak: frozenset[str]
    """Opaque tags sent with ``W/``: they match only under weak comparison."""

    def matches(self, tag: str, *, weak: bool) -> bool:
        """Whether a listed tag is ``tag`` (a whole representation's)."""
        return self.any or tag in self.strong or (weak and tag in self.weak)

    def matches_event(self, tag: str, *, weak: bool) -> bool:
        """Whether a listed tag names a representation of the event whose event part is
        ``tag``, whatever its counts (for writes)."""
        if self.any:
            return True
        listed = self.strong | self.weak if weak else self.strong
        return any(event_part(each) == tag for each in listed)


def parse_tags(header: str, value: str) -> TagList:
    """Parse an ``If-Match`` / ``If-None-Match`` field value; 400 when malformed."""
    if value.strip() == ANY:
        return TagList(True, frozenset(), frozenset())
    strong: set[str] = set()
    weak: set[str] = set()
    position = 0
    while position < len(value):
        found = _ENTITY_TAG.match(value, position)
        if found is None or found.end() == position:
            raise BadRequest(
                f'{header} must be "*" or a list of entity tags such as "3-1a2b", '
                "as the ETag header gives them.",
            )
        (weak if found[1] else strong).add(found[2])
        position = found.end()
    if not strong and not weak:
        raise BadRequest(f"{header} is empty.")
    return TagList(False, frozenset(strong), frozenset(weak))


class Preconditions(msgspec.Struct, frozen=True):
    """The preconditions of one request, evaluated against the current event."""

    if_match: TagList | None = None
    if_none_match: TagList | None = None

    @classmethod
    def of(cls, request: Request, *, required: bool = False) -> Preconditions:
        headers = request.headers
        if_match = headers.get("if-match")
        if_none_match = headers.get("if-none-match")
        if required and if_match is None and if_none_match is None:
            raise PreconditionRequired(
                "This service requires If-Match on every PUT, PATCH and DELETE "
                "(or If-None-Match: * to create with PUT). GET the event for its ETag."
            )
        return cls(
            parse_tags("If-Match", if_match) if if_match is not None else None,
            parse_tags("If-None-Match", if_none_match) if if_none_match is not None else None,
        )

    @property
    def any(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None

    def check(self, current: Event | None) -> None:
        """Raise ``PreconditionFailed`` unless a write to ``current`` may go ahead."""
        tag = event_tag(current) if current is not None else None
        if self.if_match is not None and (
            tag is None or not self.if_match.matches_event(tag, weak=False)
        ):
            raise PreconditionFailed(
                "If-Match does not hold: the event has changed since you read it. "
                "Nothing was changed."
                if tag is not None
                else "If-Match does not hold: there is no such event. Nothing was changed."
            )
        if self.if_none_match is not None and (
            tag is not None and self.if_none_match.matches_event(tag, weak=True)
        ):
            raise PreconditionFailed(
                "If-None-Match does not hold: the event exists"
                + ("." if self.if_none_match.any else " in that version.")
                + " Nothing was changed."
            )

    def not_modified(self, tag: str) -> bool:
        """For GET and HEAD: whether to answer 304 (If-None-Match, weak comparison of whole
        tags: counts included)."""
        return self.if_none_match is not None and self.if_none_match.matches(tag, weak=True)
