"""Credentials verified lately, and whose they are: what rate limits key on.

Rate limits run before authentication, on every request, and must stay cheap: they cannot
look a token up in the database each time. Keying them on the credential as sent, unchecked,
let a client that invents a new token on each request have a fresh budget each time (and a
new Redis key). So a limit keys on a credential only once authentication has verified it:
``Authn`` records here each credential it verifies (at login, when a token is made, and on
each request that authenticates), and ``RateLimits`` finds it by its hash. A credential
not found here (junk, or one not seen lately) spends its client address's budget; the limiter
verifies it only when that budget is spent (``RateLimits``), so junk costs one lookup per
refused request and no state.

Entries expire ``ttl`` seconds after their last verification, so a revoked token or ended
session falls back to its address within that time. The table holds verified credentials
only, and at most ``max_entries`` of them: an attacker cannot grow it with made-up values.
"""

from __future__ import annotations

import hashlib
import time
from typing import Final

__all__ = ["RecentIdentities", "digest"]

_DIGEST_BYTES: Final = 16  # 128 bits of SHA-256: two credentials colliding is unheard of


def digest(credential: bytes) -> bytes:
    """The key of ``credential`` in the table (never the credential itself)."""
    return hashlib.sha256(credential).digest()[:_DIGEST_BYTES]


class RecentIdentities:
    """Verified credentials (by digest) → the identity they spend the budget of."""

    def __init__(self, *, ttl: float = 60.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[bytes, tuple[str, float]] = {}

    def remember(self, credential: str, identity: str) -> None:
        """``credential`` was just verified as ``identity`` (``user:<id>``)."""
        entries = self._entries
        key = digest(credential.encode())
        entries.pop(key, None)  # re-inserted last: the table's order is by last verification
        if len(entries) >= self.max_entries:
            self._evict()
        entries[key] = (identity, time.monotonic() + self.ttl)

    def identity_of(self, credential: bytes) -> str | None:
        """The identity of ``credential`` if it was verified within ``ttl``, else ``None``."""
        entry = self._entries.get(digest(credential))
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self) -> None:
        # Oldest verification first: drop the expired, and at least a tenth, so that this
        # runs once per tenth of max_entries new credentials.
        now = time.monotonic()
        entries = self._entries
        drop = max(1, self.max_entries // 10)
        for key in list(entries):
            if drop <= 0 and entries[key][1] >= now:
                break
            del entries[key]
            drop -= 1
