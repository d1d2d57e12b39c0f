"""Idempotency keys, as every backend keeps them: the claim rule once, its SQL per placeholder.

A keyed write (a create or an update) looks its key up inside its own transaction: when the
key is saved and has not expired, the write does not happen and the backend raises ``Replay``
with what is saved (or ``IdempotencyKeyReused`` when the retry's fingerprint differs);
otherwise it writes, and saves the document of the event it wrote under the key in the same
transaction. The store knows nothing of HTTP: it keeps opaque bytes (the event's document, as
``get_json`` returns it) and what it needs to match them (scope, key, fingerprint, expiry);
the API (``api/idempotency.py``) decides what answer they make.

The table keeps its ``status`` and ``headers`` columns (no migration): the API builds both from
the saved document, so a row saved by an earlier version, whose ``body`` is that same document,
replays alike.
"""

# The one fragment joined into SQL here is the placeholder, a constant of the caller;
# values are always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

from datetime import datetime
from typing import Final, NoReturn

import msgspec

from eventsapi.errors import IdempotencyKeyReused

UNUSED_STATUS: Final = 0
UNUSED_HEADERS: Final = "[]"
"""What a saved key's ``status`` and ``headers`` columns hold: the API does not read them."""


class IdempotencyKey(msgspec.Struct, frozen=True):
    """A client's idempotency key for one write, and what its retries must match."""

    scope: str
    """Whose key it is: keys of different clients never meet."""
    key: str
    fingerprint: bytes
    """A digest of the request the key was first used with (the API decides of what)."""
    now: datetime
    expires_at: datetime


class SavedKey(msgspec.Struct, frozen=True):
    """What a backend keeps under an idempotency key."""

    fingerprint: bytes
    document: bytes
    """The JSON document of the event the keyed write stored."""


class Replay(Exception):
    """Raised by a keyed write whose key was already used with the same request."""

    def __init__(self, document: bytes) -> None:
        self.document = document
        super().__init__("idempotent replay")


def answer_reuse(saved: SavedKey, key: str, fingerprint: bytes) -> NoReturn:
    """A key found saved: ``Replay`` its document, or ``IdempotencyKeyReused`` if the request
    is not the one it was first used with. Every backend and the API decide so."""
    if saved.fingerprint != fingerprint:
        raise IdempotencyKeyReused(f"The idempotency key {key!r} was used for a different request.")
    raise Replay(saved.document)


def claimed(saved: SavedKey | None, once: IdempotencyKey) -> None:
    """The claim rule, run inside the write's transaction on what is saved under ``once``'s
    key: return when the write may go on (the backend then forgets the expired row, if any,
    so that the key can be saved again), raise as ``answer_reuse`` when it may not."""
    if saved is not None:
        answer_reuse(saved, once.key, once.fingerprint)


class Statements(msgspec.Struct, frozen=True):
    """The SQL of the idempotency-key table for one placeholder style (``?`` or ``%s``)."""

    saved: str
    forget: str
    save: str
    prune: str


def statements(p: str) -> Statements:
    """The statements with ``p`` as placeholder; their parameters are those of the functions
    below (``saved_params``, ``save_params``) or ``(scope, key)`` and ``(now,)``."""
    return Statements(
        saved=(
            "SELECT fingerprint, body FROM idempotency_keys"
            f" WHERE scope = {p} AND key = {p} AND expires_at > {p}"
        ),
        forget=f"DELETE FROM idempotency_keys WHERE scope = {p} AND key = {p}",
        save=(
            "INSERT INTO idempotency_keys"
            " (scope, key, fingerprint, status, headers, body, created_at, expires_at)"
            f" VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"
        ),
        prune=f"DELETE FROM idempotency_keys WHERE expires_at <= {p}",
    )


def save_params(
    once: IdempotencyKey, document: bytes, now: object, expires_at: object
) -> tuple[object, ...]:
    """The parameters of ``Statements.save``; ``now`` and ``expires_at`` as the backend stores
    times (UTC text in SQLite, ``timestamptz`` in PostgreSQL)."""
    return (
        once.scope,
        once.key,
        once.fingerprint,
        UNUSED_STATUS,
        UNUSED_HEADERS,
        document,
        now,
        expires_at,
    )


def saved_key(row: tuple[object, ...] | None) -> SavedKey | None:
    """The ``SavedKey`` of a row of ``Statements.saved``."""
    if row is None:
        return None
    fingerprint, document = row
    assert isinstance(fingerprint, bytes | memoryview)  # noqa: S101
    assert isinstance(document, bytes | memoryview)  # noqa: S101
    return SavedKey(bytes(fingerprint), bytes(document))
