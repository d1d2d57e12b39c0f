"""Listing answers kept until the database changes (``GET /events`` on SQLite).

A page of events costs the read, its documents' splicing, the cursor and sync-token
signatures and the ``Link`` field: a few hundred microseconds, for an answer that stays the
same until something is written. So each worker keeps the answers it gave, keyed by who
read (``Reader``) and the query string as sent, for as long as the store's ``snapshot()``
is the same: SQLite's ``PRAGMA data_version``, which changes at every commit of any
connection, in any process, whatever it wrote (an event, a registration's counts, an
import). A new snapshot empties the cache. Backends without such a number (``None``:
PostgreSQL and the memory store) are never cached.

The snapshot is read before the answer is made, so a kept answer is at least as new as its
snapshot: a write committed meanwhile changes the snapshot, and the next request misses.
Only successes are kept (errors raise before ``keep``); at most ``MAX_ANSWERS`` answers of
at most ``MAX_BODY`` bytes each.
"""

from __future__ import annotations

from typing import Final

import msgspec

from eventsapi.domain.visibility import Reader

MAX_ANSWERS: Final = 64
MAX_BODY: Final = 64 * 1024
"""A page of 100 events of 600 bytes each; larger answers are made anew each time. Together
with ``MAX_ANSWERS``, at most 4 MiB per worker."""

Key = tuple[Reader, bytes]


class Answer(msgspec.Struct, frozen=True):
    """A listing's body and its fields (copied into each response)."""

    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]


class ListingCache:
    """The answers given since the snapshot ``snapshot``."""

    def __init__(self) -> None:
        self._snapshot: int | None = None
        self._answers: dict[Key, Answer] = {}

    def get(self, snapshot: int, key: Key) -> Answer | None:
        """The answer kept for ``key`` at ``snapshot``; a new snapshot forgets the others."""
        if snapshot != self._snapshot:
            self._answers.clear()
            self._snapshot = snapshot
            return None
        return self._answers.get(key)

    def keep(self, snapshot: int, key: Key, answer: Answer) -> None:
        """Keep ``answer``, made after ``snapshot`` was read, unless a newer one has been
        seen meanwhile (a listing read in a thread lets other requests run)."""
        if snapshot != self._snapshot or len(answer.body) > MAX_BODY:
            return
        answers = self._answers
        if len(answers) >= MAX_ANSWERS:
            del answers[next(iter(answers))]  # the oldest
        answers[key] = answer
