"""What every text input may hold: one rule for events and accounts, on every backend.

Text is stored the same on every backend, or refused before it reaches one. PostgreSQL
text cannot hold NUL, and no field of ours has a use for control characters: C0 controls
(but tab, line feed and carriage return, where a field has lines), DEL and C1 controls
are refused with 422 wherever a client writes text. Lone surrogates never get this far:
msgspec refuses a ``\\ud800`` escape that is not half of a pair (400), and a body of
invalid UTF-8 is no JSON. Every field has a maximum length (the body limit bounds
the rest).

The classes below are written so that a pattern means the same in Python's ``re`` (which
msgspec checks with) and in ECMA-262 (the OpenAPI document's JSON Schema, which clients and
schemathesis read): ``\\s`` and ``.`` differ between the two, so white space is spelled out.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "CONTROL",
    "LINE_BREAKS",
    "NOT_SPACE",
    "ONE_LINE",
    "ONE_LINE_PATTERN",
    "SPACE",
    "TEXT",
    "TEXT_PATTERN",
    "has_controls",
    "without_controls",
]

CONTROL: Final = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
"""Control characters no text takes: C0 but tab, line feed and carriage return; DEL; C1."""
SPACE: Final = r"\t\n\r\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""White space as str.strip knows it, less the control characters refused anyway."""
LINE_BREAKS: Final = r"\n\r\u2028\u2029"
NOT_SPACE: Final = f"[^{CONTROL}{SPACE}]"
TEXT: Final = f"[^{CONTROL}]"
"""A character of text that may have lines."""
ONE_LINE: Final = f"[^{CONTROL}{LINE_BREAKS}]"
"""A character of one line of text."""
TEXT_PATTERN: Final = f"^{TEXT}*$"
ONE_LINE_PATTERN: Final = f"^{ONE_LINE}*$"

_CONTROLS: Final = re.compile(f"[{CONTROL}]")


def has_controls(value: str) -> bool:
    """Whether ``value`` holds a control character no text takes (for text read outside
    a msgspec struct, such as a query parameter)."""
    return _CONTROLS.search(value) is not None


def without_controls(value: str) -> str:
    """``value`` with each refused control character replaced by U+FFFD: for text a
    client sends in a header and the service keeps (a session's User-Agent), where
    refusing the request would be out of proportion."""
    return _CONTROLS.sub("\ufffd", value)
