"""The storage contract every backend implements.

A backend stores events and answers by id and by query (filtered, sorted, keyset
pages). Writes that depend on the current state (``update``, ``put``, a guarded
``delete``) take a pure function and run it inside the backend's transaction, so
the read-modify-write is atomic whatever the backend: a precondition checked
there cannot be raced. Creates and updates can carry an idempotency key: its
saved response is stored in the same transaction as the write. ``tests/contract`` is the
executable form of this contract and runs against every backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, NoReturn

import msgspec

from eventsapi.domain.accounts import ApiToken, AuditEntry, LoginFailures, Role, Session, User
from eventsapi.domain.events import Event
from eventsapi.domain.query import EventQuery, Position, SortName
from eventsapi.errors import IdempotencyKeyReused
from eventsapi.slo.records import AlertTransition, MinuteTotals, SLIRow
from eventsapi.slo.spec import Routes

_decode_event = msgspec.json.Decoder(Event).decode


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing, as the events' JSON documents.

    ``next`` is the position to pass as ``after`` for the following page, or
    ``None`` when this page is the last; ``prev`` the one to pass as ``before``
    for the page before, or ``None`` when this page is the first. ``total``
    counts every match when the query asked for it. Documents stay encoded
    because the usual reader sends them on as they are.
    """

    documents: list[bytes] = field(default_factory=list)
    next: Position | None = None
    prev: Position | None = None
    total: int | None = None

    @property
    def events(self) -> list[Event]:
        return [_decode_event(document) for document in self.documents]

    def to_json(self) -> bytes:
        """The page as a JSON array, without decoding a document."""
        return b"[" + b",".join(self.documents) + b"]"


def page_of(
    documents: list[bytes],
    positions: list[Position],
    query: EventQuery,
    *,
    more: bool,
    total: int | None,
) -> Page:
    """A page of results in page order, with its links, for any backend.

    ``more`` says whether the backend found a row beyond the page in the
    direction it read. Going forward from a cursor implies a page before; coming
    back from one implies a page after. (Those events may since have been
    deleted: an empty neighbour page is possible, a skipped event is not.)
    """
    if not documents:
        return Page(total=total)
    if query.before is not None:
        return Page(documents, next=positions[-1], prev=positions[0] if more else None, total=total)
    return Page(
        documents,
        next=positions[-1] if more else None,
        prev=positions[0] if query.after is not None else None,
        total=total,
    )


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema migration, as listed by ``eventsapi db status``."""

    version: int
    name: str
    applied_at: str | None


Change = Callable[[Event], Event]
"""Turns the current event into its next version; may raise a domain error."""

Build = Callable[[Event | None], Event]
"""Builds the event to store from the current one, or from nothing (a create)."""

SORT_COLUMNS: Final[dict[SortName, tuple[str, ...]]] = {
    "created": ("seq",),
    "relevance": ("rank", "seq"),
    "starts_at": ("starts_key", "id"),
    "-starts_at": ("starts_key", "id"),
    "created_at": ("created_at", "id"),
    "-created_at": ("created_at", "id"),
    "updated_at": ("updated_at", "id"),
    "title": ("title", "id"),
}
"""For SQL backends: the columns of each order's key, tie-break last, as stored
(``seq`` is the order of creation; ``rank`` is computed per search). Each has an
index, and a page's position is the values of these columns."""

Guard = Callable[[Event], None]
"""Checks the current event before a delete; raises (e.g. a failed precondition) to stop it."""


@dataclass(frozen=True, slots=True)
class SavedResponse:
    """The response to an idempotent request, kept to be replayed byte for byte."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A client's idempotency key for one write, and how to answer its retries.

    The backend looks the key up inside the write's transaction: when it is
    already there (and not expired) the write does not happen and the backend
    raises ``Replay`` with the saved response, or ``IdempotencyKeyReused``
    when the retry's ``fingerprint`` differs. Otherwise it writes, and saves
    ``respond(result)`` under the key in the same transaction.
    """

    scope: str
    """Whose key it is: keys of different clients never meet."""
    key: str
    fingerprint: bytes
    """A digest of the request (method, route, body) the key was first used with."""
    now: datetime
    expires_at: datetime
    respond: Callable[[Event], SavedResponse]


@dataclass(frozen=True, slots=True)
class SavedKey:
    """What a backend keeps under an idempotency key."""

    fingerprint: bytes
    response: SavedResponse


class Replay(Exception):
    """Raised by a keyed write whose key was already used with the same request."""

    def __init__(self, response: SavedResponse) -> None:
        self.response = response
        super().__init__("idempotent replay")


def answer_reuse(saved: SavedKey, key: str, fingerprint: bytes) -> NoReturn:
    """A key found saved: ``Replay`` its response, or ``IdempotencyKeyReused`` if the
    request is not the one it was first used with. Every backend and the API decide so."""
    if saved.fingerprint != fingerprint:
        raise IdempotencyKeyReused(f"The idempotency key {key!r} was used for a different request.")
    raise Replay(saved.response)


OnConflict = Literal["error", "skip", "replace"]
"""What ``import_events`` does with an event whose id is taken (see there)."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What ``import_events`` did, or would have done when ``committed`` is false."""

    imported: int = 0
    """Events stored under ids that were free."""
    replaced: int = 0
    """Stored events replaced by an imported one (``on_conflict="replace"``)."""
    skipped: int = 0
    """Imported events left out because their id is taken (``on_conflict="skip"``)."""
    conflicts: tuple[str, ...] = ()
    """The taken ids that were not stored (``"error"`` and ``"skip"``), in the order met."""
    committed: bool = True
    """Whether the import was stored; when false, nothing at all was."""


class EventStore(ABC):
    """Base class of storage backends. All methods are coroutines unless noted."""

    #: the backend's name, as ``storage.load`` knows it
    name: str = ""

    @abstractmethod
    async def open(self, *, migrate: bool = True) -> None:
        """Connect, and apply pending migrations unless told not to.

        Called once before any other method."""

    @abstractmethod
    async def close(self) -> None:
        """Finish writes in flight and release connections."""

    @abstractmethod
    async def check(self) -> None:
        """Return if the database answers; raise ``StorageUnavailable`` if not."""

    @abstractmethod
    async def get(self, event_id: str) -> Event | None:
        """The event with this id, or ``None``."""

    @abstractmethod
    async def get_json(self, event_id: str) -> tuple[bytes, int] | None:
        """The event as its JSON document (exactly what ``GET`` returns) and its version.

        Lets the hottest read skip decoding and re-encoding."""

    @abstractmethod
    async def list_page(self, query: EventQuery) -> Page:
        """The page of events that ``query`` asks for (see ``domain/query.py``)."""

    @abstractmethod
    async def create(self, event: Event, *, once: IdempotencyKey | None = None) -> Event:
        """Store a new event; raise ``AlreadyExists`` if its id is taken."""

    @abstractmethod
    async def update(
        self, event_id: str, change: Change, *, once: IdempotencyKey | None = None
    ) -> Event:
        """Replace the event by ``change(current)``; raise ``NotFound`` if there is none."""

    @abstractmethod
    async def put(self, event_id: str, build: Build) -> tuple[Event, bool]:
        """Store ``build(current or None)``; return it and whether it was created."""

    @abstractmethod
    async def delete(self, event_id: str, *, guard: Guard | None = None) -> None:
        """Remove the event once ``guard(current)`` passes; ``NotFound`` if there is none."""

    @abstractmethod
    async def saved_key(self, scope: str, key: str, now: datetime) -> SavedKey | None:
        """What is saved under an idempotency key that has not expired at ``now``."""

    @abstractmethod
    async def prune_keys(self, now: datetime) -> int:
        """Forget idempotency keys that expired before ``now``; return how many."""

    @abstractmethod
    async def instance_key(self) -> bytes:
        """A secret made once per database, shared by every replica (signs cursors)."""

    @abstractmethod
    async def migrations(self) -> list[Migration]:
        """Every migration this version knows, with when it was applied (or ``None``)."""

    @abstractmethod
    async def import_events(
        self,
        events: Iterable[Event],
        *,
        on_conflict: OnConflict = "error",
        keep: Callable[[ImportResult], bool] | None = None,
    ) -> ImportResult:
        """Store ``events`` as they are (ids, times and versions too): all of them, or none.

        One transaction. ``events`` is read inside it, one event at a time, so it
        can be a generator over a file larger than memory; if reading it raises,
        nothing is stored and the exception propagates. New events go after every
        stored one in creation order, in the order read.

        An event whose id is taken (by a stored event, or by one read before it)
        is a conflict. ``"error"``: if there is any, nothing is stored, and the
        result lists every one. ``"skip"``: the event already there stays as it
        is. ``"replace"``: the imported event takes its place, as ``put`` does.

        ``keep``, when given, is called with the result once ``events`` is read to
        the end, still inside the transaction; if it returns false, nothing is
        stored (a dry run, or a caller that found bad input on the way).
        """

    @abstractmethod
    def export_documents(self, *, batch_size: int = 1000) -> AsyncGenerator[list[bytes], None]:
        """Every event's JSON document (what ``get_json`` gives), oldest first.

        An async generator of lists of up to ``batch_size`` documents, read from
        one consistent snapshot, so memory holds one batch whatever the number of
        events and writes made meanwhile do not tear the export. Close it
        (``contextlib.aclosing``) when not reading it to the end.
        """

    # Service level indicators (issue 5): per-minute request counts, added up across
    # workers and replicas, and the alert transitions they lead to.

    @abstractmethod
    async def record_sli(self, rows: Sequence[SLIRow]) -> None:
        """Add each row's counts to what is stored for its minute, route and method.

        Atomic per call, and additive: two workers recording the same minute, route and
        method concurrently end with the sum (an upsert that adds, never a read-modify-write
        in Python). A row with a minute, route and method not stored yet is created.
        """

    @abstractmethod
    async def sli_minutes(
        self, start: datetime, end: datetime, routes: Routes = "all"
    ) -> list[MinuteTotals]:
        """Per-minute sums over the routes selected, for minutes ``start <= m < end``.

        Oldest first; minutes without a stored row are left out. ``routes`` is ``"all"`` or
        route templates with their methods (a template with no methods: every method).
        """

    @abstractmethod
    async def prune_sli(self, before: datetime) -> int:
        """Forget the minutes before ``before``; return how many rows went."""

    @abstractmethod
    async def add_alert_transition(self, transition: AlertTransition) -> bool:
        """Store ``transition`` unless one with its ``(slo, rule, at)`` is stored already.

        True when this call stored it (the caller then notifies), false when another worker
        or replica was first.
        """

    @abstractmethod
    async def alert_transitions(
        self, since: datetime, *, limit: int = 100
    ) -> list[AlertTransition]:
        """Transitions at or after ``since``, newest first (ties: slo, then rule), at most
        ``limit``."""

    # Accounts (issue 6): users, their sessions and API tokens, and the audit log. Usernames
    # are compared as given (the caller normalizes them); secrets are stored as hashes (see
    # domain/accounts.py). Every write is atomic; reads see every write committed before
    # them on any replica, so a revocation holds everywhere at once.

    @abstractmethod
    async def create_user(self, user: User) -> None:
        """Store a new user; ``AlreadyExists`` if its id or its username is taken.

        Usernames are compared exactly as given: the caller normalizes them first (NFKC,
        lower case), so that two spellings of one name cannot both be stored.
        """

    @abstractmethod
    async def user_by_id(self, user_id: str) -> User | None:
        """The user with this id, or ``None``."""

    @abstractmethod
    async def user_by_name(self, username: str) -> User | None:
        """The user with exactly this username, or ``None``."""

    @abstractmethod
    async def count_users(self) -> int:
        """How many users there are."""

    @abstractmethod
    async def list_users(self) -> list[User]:
        """Every user, by username (code point order)."""

    @abstractmethod
    async def update_user(self, user_id: str, change: Callable[[User], User]) -> User:
        """Replace the user by ``change(current)`` and return it, atomically.

        ``change`` runs inside the write's transaction with the user's row locked: two
        concurrent updates run one after the other, each on the other's result (50 concurrent
        ``failed_logins + 1`` end at 50). ``NotFound`` if there is no such user; whatever
        ``change`` raises stops the update, nothing changed, and propagates. The result must
        keep the id (``ValueError`` otherwise); a new username that is taken raises
        ``AlreadyExists``.
        """

    @abstractmethod
    async def change_role(self, user_id: str, role: Role) -> User:
        """Give the user ``role`` and return them, atomically refusing to demote the last
        admin (``Forbidden``): of two admins demoting each other at once, one wins.
        ``NotFound`` if there is no such user."""

    @abstractmethod
    async def update_unknown_login(
        self,
        name: str,
        change: Callable[[LoginFailures], LoginFailures],
        *,
        forget_before: datetime,
    ) -> LoginFailures:
        """Replace the failed logins kept for ``name``, a username with no account, by
        ``change(current)`` and return them, atomically, as ``update_user`` does.

        A name with nothing kept, or whose last failure is before ``forget_before``, has
        ``LoginFailures()``; the call forgets every name whose last failure is before
        ``forget_before``. Whatever ``change`` raises stops the update, nothing changed,
        and propagates. The result must have a ``last_failed_at`` (``ValueError``
        otherwise).
        """

    @abstractmethod
    async def update_client_logins(
        self,
        client: str,
        change: Callable[[tuple[datetime, ...]], tuple[datetime, ...]],
        *,
        forget_before: datetime,
    ) -> tuple[datetime, ...]:
        """Replace the times of the login attempts kept for ``client`` (a client key, as
        ``auth/throttle.client_key`` makes it) by ``change(current)`` and return them,
        atomically, as ``update_user`` does: concurrent changes of one client, from any
        replica, run one after the other, each on the other's result.

        ``current`` holds the kept times after ``forget_before``, oldest first (empty for
        a new client); the call forgets every client whose latest time is before
        ``forget_before``, and a client whose change leaves no time. Whatever ``change``
        raises stops the update, nothing changed, and propagates.
        """

    @abstractmethod
    async def add_session(self, session: Session) -> None:
        """Store a new session; ``AlreadyExists`` if its id or token hash is taken,
        ``NotFound`` if its user does not exist."""

    @abstractmethod
    async def session_by_token(self, token_hash: bytes) -> tuple[Session, User] | None:
        """The session whose token hashes to ``token_hash`` and its user (one query), or
        ``None``. Revoked and expired sessions are returned too: the caller decides."""

    @abstractmethod
    async def touch_session(self, session_id: str, at: datetime) -> None:
        """Set the session's ``last_seen_at`` to ``at``, unless it is already later (requests
        can finish out of order). An unknown id is not an error."""

    @abstractmethod
    async def sessions_of(self, user_id: str) -> list[Session]:
        """The user's sessions that are not revoked (expired ones too), newest first
        (``created_at``, then id)."""

    @abstractmethod
    async def revoke_session(self, session_id: str, *, user_id: str, at: datetime) -> bool:
        """Revoke the session at ``at`` if it is ``user_id``'s; true if this call revoked it,
        false if it is unknown, another user's, or revoked already (then nothing changes)."""

    @abstractmethod
    async def revoke_sessions(self, user_id: str, *, at: datetime, keep: str | None = None) -> int:
        """Revoke at ``at`` every session of the user that is not revoked yet, but the one
        with id ``keep`` ("terminate all other sessions"); return how many were revoked."""

    @abstractmethod
    async def add_token(self, token: ApiToken) -> None:
        """Store a new API token; ``AlreadyExists`` if its id or hash is taken, ``NotFound``
        if its user does not exist."""

    @abstractmethod
    async def token_by_hash(self, token_hash: bytes) -> tuple[ApiToken, User] | None:
        """The API token with this hash and its user (one query), or ``None``. Revoked and
        expired tokens are returned too: the caller decides."""

    @abstractmethod
    async def tokens_of(self, user_id: str) -> list[ApiToken]:
        """The user's API tokens that are not revoked (expired ones too), newest first
        (``created_at``, then id)."""

    @abstractmethod
    async def revoke_token(self, token_id: str, *, user_id: str, at: datetime) -> bool:
        """Revoke the token at ``at`` if it is ``user_id``'s; as ``revoke_session``."""

    @abstractmethod
    async def touch_token(self, token_id: str, at: datetime) -> None:
        """Set the token's ``last_used_at`` to ``at``, unless it is already later."""

    @abstractmethod
    async def prune_ended(self, before: datetime) -> tuple[int, int]:
        """Delete the sessions and API tokens that ended before ``before``: expired (a
        session at its absolute end) or revoked. Returns how many sessions and how many
        tokens went. Tokens that never expire and are not revoked stay."""

    @abstractmethod
    async def append_audit(self, entry: AuditEntry) -> None:
        """Append ``entry`` to the audit log; ``AlreadyExists`` if its id is taken.

        The log is append-only: the contract has no method to change or remove an entry,
        and the SQL backends refuse ``UPDATE`` and ``DELETE`` on its table with triggers.
        ``detail`` holds JSON values (it reads back as JSON decodes it).
        """

    @abstractmethod
    async def audit_of(
        self, user_id: str, *, limit: int = 100, before: str | None = None
    ) -> list[AuditEntry]:
        """The user's audit entries, newest first (by id: ULIDs sort by time), at most
        ``limit`` (``ValueError`` if negative); with ``before``, only those whose id sorts
        before it: pass the last id of a page to get the next one."""
