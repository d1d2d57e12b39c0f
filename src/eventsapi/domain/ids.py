"""Server-generated ids: ULIDs, so they sort by creation time.

A ULID (https://github.com/ulid/spec) is 48 bits of milliseconds since 1970 and 80 random
bits, written as 26 characters of Crockford's base32. Made here rather than with
python-ulid, whose import reads its own version from the installed distributions
(``importlib.metadata``: about 1 MB of memory and a scan of ``sys.path`` at each start;
docs/benchmarks.md, "Start-up and idle memory, continued").
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from typing import Final

__all__ = ["new_event_id", "new_ulid", "ulid_text"]

_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Two characters (10 bits) at a time: 13 lookups for 26 characters.
_PAIRS: Final = tuple(high + low for high in _CROCKFORD for low in _CROCKFORD)
_RANDOM_BITS: Final = 80

_lock = threading.Lock()
_last = 0


def ulid_text(value: int) -> str:
    """The 26 characters of the 128-bit ``value``."""
    if not 0 <= value < 1 << 128:
        raise ValueError(f"a ULID has 128 bits: {value}")
    pairs = []
    for _ in range(13):
        pairs.append(_PAIRS[value & 0x3FF])
        value >>= 10
    return "".join(reversed(pairs))


def new_ulid(now: datetime) -> str:
    """A fresh ULID whose time part is ``now``, greater than every other made in this
    process in the same millisecond (so that ids made in one step list in that order)."""
    global _last
    value = int(now.timestamp() * 1000) << _RANDOM_BITS | int.from_bytes(os.urandom(10), "big")
    with _lock:
        if value >> _RANDOM_BITS == _last >> _RANDOM_BITS and value <= _last:
            value = _last + 1
        _last = value
    return ulid_text(value)


def new_event_id(now: datetime) -> str:
    """A fresh 26-character ULID whose time part is ``now``."""
    return new_ulid(now)
