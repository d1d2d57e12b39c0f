"""Who may see an event (issue 16): its ``visibility``, who reads, and what a reader is told
of a change.

- ``public`` (the default): everyone, signed in or not;
- ``members``: anyone signed in (a session, or an API token with ``events:read``);
- ``private``: its owner, admins and its registrants: the accounts with an active
  (confirmed or waitlisted) registration for it. A registrant without an account (by
  e-mail only) cannot sign in, so cannot see it; a cancelled registration no longer counts.

Whoever may change every event sees every event: an admin, and an anonymous writer where
anonymous writes are on (the one user of a local service). An event a reader may not see
is, for them, an event that does not exist: every way out answers as it answers an unknown
id.

The change log is one log for every reader, so each record says who may see the event it
is about (``ChangeRecord.visibility``, ``owner``) and, for a change of visibility, who could
before (``previous_visibility``). ``view`` turns a record into what one reader is told: the
record itself, nothing, or, where the change made the event visible or invisible to them, a
creation or a deletion. Pure rules: which events a reader is registered for is asked of the
store by the caller (``Registrant``).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

import msgspec

from eventsapi.domain.changes import ChangeRecord

Visibility = Literal["public", "members", "private"]
VISIBILITIES: Final[tuple[Visibility, ...]] = get_args(Visibility)
PUBLIC: Final[Visibility] = "public"


class Reader(msgspec.Struct, frozen=True):
    """Who reads: ``account``, a signed-in reader's account id (``None``: anonymous, or an
    API token without ``events:read``); ``everything``: sees every event (admins, anonymous
    writers where anonymous writes are on)."""

    account: str | None = None
    everything: bool = False

    @property
    def public_only(self) -> bool:
        """Sees the public events only: the answers it gets are everyone's."""
        return self.account is None and not self.everything


ANONYMOUS: Final = Reader()
EVERYTHING: Final = Reader(everything=True)


class Registrant(msgspec.Struct, frozen=True):
    """A reader's registrations for one event: ``active``, one confirmed or waitlisted now;
    ``ever``, any, cancelled ones included (it was shown the event then)."""

    active: bool = False
    ever: bool = False


NOT_REGISTERED: Final = Registrant()


def sees(
    reader: Reader, visibility: Visibility, owner: str | None, *, registered: bool = False
) -> bool:
    """Whether ``reader`` may see an event of ``visibility`` and ``owner``; ``registered``:
    the reader has an active registration for it."""
    if reader.everything or visibility == "public":
        return True
    if reader.account is None:
        return False
    return visibility == "members" or reader.account == owner or registered


def depends_on_registration(reader: Reader, visibility: Visibility, owner: str | None) -> bool:
    """Whether ``sees`` turns on the reader's registration (a private event, not theirs)."""
    return (
        not reader.everything
        and reader.account is not None
        and visibility == "private"
        and reader.account != owner
    )


def concerns_registration(reader: Reader, record: ChangeRecord) -> bool:
    """Whether ``view`` of ``record`` needs the reader's ``Registrant`` for its event."""
    return depends_on_registration(reader, record.visibility, record.owner) or (
        record.previous_visibility is not None
        and depends_on_registration(reader, record.previous_visibility, record.owner)
    )


_ARRIVALS: Final = frozenset({"event.created", "event.restored"})
_DEPARTURES: Final = frozenset({"event.deleted", "event.purged"})


def view(record: ChangeRecord, reader: Reader, registrant: Registrant) -> ChangeRecord | None:
    """What ``reader`` is told of ``record``: the record, nothing (``None``), or a deletion
    or a creation where the change made the event invisible or visible to them.

    Whether the reader could see the event before the change and can after is decided by
    the visibility before and after, and by their registration as it is now (the log keeps
    no history of who was registered when). One exception: a cancellation is the change that
    can end a registrant's view, so before it anyone who ever registered counts as having
    seen the event, and is told of its deletion. A deletion therefore only ever reaches a
    reader who was shown the event, and a document only a reader who may see it now.
    """
    if reader.everything:
        return record
    owner = record.owner
    after = sees(reader, record.visibility, owner, registered=registrant.active)
    if record.type in _ARRIVALS:
        return record if after else None
    was = record.previous_visibility or record.visibility
    before = sees(
        reader,
        was,
        owner,
        registered=registrant.ever
        if record.type == "registration.cancelled"
        else registrant.active,
    )
    if record.type in _DEPARTURES:
        return record if before else None
    if before and after:
        return record
    if after:
        return msgspec.structs.replace(record, type="event.created", previous_visibility=None)
    if before:
        return msgspec.structs.replace(record, type="event.deleted", document=None)
    return None
