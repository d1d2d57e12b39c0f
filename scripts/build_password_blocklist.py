"""Regenerate src/eventsapi/auth/data/common-passwords.txt from zxcvbn's password list.

    .venv/bin/python scripts/build_password_blocklist.py

The list is the ``passwords`` frequency list bundled with the zxcvbn package
(``zxcvbn/frequency_lists.py``): the 30,000 most common passwords of Mark Burnett's
10 million password set, as Dropbox's zxcvbn ranked them. We keep the entries the length
rule does not already refuse (8 characters or more, the minimum with two-step
verification on), lower-cased, in zxcvbn's order (most common first).
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

from eventsapi.auth.password_policy import MIN_LENGTH_WITH_TWO_FACTOR

OUTPUT = Path(__file__).resolve().parent.parent / "src/eventsapi/auth/data/common-passwords.txt"


def header() -> list[str]:
    return [
        f"# Common passwords of {MIN_LENGTH_WITH_TWO_FACTOR} characters or more, lower case,"
        " most common first: refused by eventsapi.auth.password_policy.",
        '# Source: the "passwords" list in zxcvbn/frequency_lists.py of the zxcvbn Python'
        f" package {version('zxcvbn')} (https://github.com/dwolfhub/zxcvbn-python,"
        " MIT License, Copyright (c) 2016 Daniel Wolf),",
        "# taken from Dropbox's zxcvbn (https://github.com/dropbox/zxcvbn, MIT License,"
        " Copyright (c) 2012-2015 Dan Wheeler and Dropbox, Inc.), which ranked it from"
        " Mark Burnett's 10 million password set.",
        "# Regenerate with scripts/build_password_blocklist.py; do not edit by hand.",
    ]


def entries() -> list[str]:
    passwords: list[str] = FREQUENCY_LISTS["passwords"]
    kept: dict[str, None] = {}  # a dict keeps the first occurrence's order
    for password in passwords:
        lowered = password.strip().lower()
        if len(lowered) >= MIN_LENGTH_WITH_TWO_FACTOR:
            kept[lowered] = None
    return list(kept)


def main() -> int:
    lines = header() + entries()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUTPUT}: {len(lines) - len(header())} passwords")
    return 0


if __name__ == "__main__":
    sys.exit(main())
