"""An event's registrations as its organiser downloads them: CSV (for a spreadsheet) or
JSON (for scripts). Written by ``eventsapi registrations export`` (``cli/registrations.py``)
and by the owner's page of registrations (``ui/owner_pages.py``), so both give the same
file.

A CSV cell is data a spreadsheet may take for a formula: a name like ``=HYPERLINK(...)``
would run when the file is opened (OWASP, "CSV Injection"). Every cell is quoted, and a
registrant's text that begins with a character a spreadsheet reads as the start of a
formula is prefixed with ``'``, which spreadsheets read as "text" (``spreadsheet_text``).
The JSON is the data as it is: programs do not evaluate it.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import IO, Final, Protocol

import msgspec

from eventsapi.domain.registrations import Registration, Status

__all__ = [
    "COLUMNS",
    "Export",
    "ExportedRegistration",
    "RegistrationSource",
    "csv_header",
    "csv_rows",
    "export",
    "spreadsheet_text",
]


class RegistrationSource(Protocol):
    """What an export reads: a store's registrations of one event, in the order people
    joined, a page at a time."""

    async def list_registrations(
        self, event_id: str, *, after: int, limit: int
    ) -> list[Registration]: ...


PAGE: Final = 500
COLUMNS: Final = ("id", "status", "position", "name", "email", "created_at", "updated_at")
_FORMULA_STARTS: Final = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
"""What a spreadsheet may take for the start of a formula: OWASP's list (= + - @, tab,
carriage return, line feed), and the full-width forms that some (East Asian) spreadsheet
locales read as their ASCII counterparts."""


class ExportedRegistration(msgspec.Struct, kw_only=True):
    """One registration of ``--format json`` (and one row of the CSV, in this order)."""

    id: str
    status: Status
    position: int | None
    """Its place on the waitlist (1 = next) while waitlisted, else null."""
    name: str
    email: str
    created_at: datetime
    """When the registrant joined."""
    updated_at: datetime
    """Its last change of status (confirmed from the waitlist, cancelled)."""


def spreadsheet_text(value: str) -> str:
    """``value`` as a CSV cell no spreadsheet evaluates: prefixed with ``'`` if it begins
    (leading white space aside) with a character that starts a formula."""
    stripped = value.lstrip()
    if value[:1] in _FORMULA_STARTS or stripped[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


def exported(registration: Registration) -> ExportedRegistration:
    return ExportedRegistration(
        id=registration.id,
        status=registration.status,
        position=registration.position,
        name=registration.name,
        email=registration.email,
        created_at=registration.created_at,
        updated_at=registration.updated_at,
    )


def _instant(at: datetime) -> str:
    text: str = msgspec.to_builtins(at)  # RFC 3339, as the API and the JSON write it
    return text


def csv_rows(registrations: list[Registration]) -> bytes:
    """The CSV lines of ``registrations`` (RFC 4180: CRLF, every cell quoted)."""
    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    for registration in registrations:
        writer.writerow(
            (
                registration.id,
                registration.status,
                "" if registration.position is None else registration.position,
                spreadsheet_text(registration.name),
                spreadsheet_text(registration.email),
                _instant(registration.created_at),
                _instant(registration.updated_at),
            )
        )
    return text.getvalue().encode()


def csv_header() -> bytes:
    return ",".join(f'"{column}"' for column in COLUMNS).encode() + b"\r\n"


_encode = msgspec.json.Encoder().encode


class Export:
    """Writes one export to ``out``, page by page (memory holds one page whatever the
    number of registrations): ``start``, ``page`` for each, ``end``."""

    def __init__(self, out: IO[bytes], form: str) -> None:
        self.out = out
        self.form = form
        self.written = 0

    def start(self) -> None:
        self.out.write(csv_header() if self.form == "csv" else b"[")

    def page(self, registrations: list[Registration]) -> None:
        if self.form == "csv":
            self.out.write(csv_rows(registrations))
        else:
            for registration in registrations:
                self.out.write(b",\n" if self.written else b"\n")
                self.out.write(_encode(exported(registration)))
                self.written += 1

    def end(self) -> None:
        if self.form == "json":
            self.out.write(b"\n]\n" if self.written else b"]\n")
        self.out.flush()


async def export(store: RegistrationSource, event_id: str, into: Export, *, everyone: bool) -> None:
    """Write the event's registrations in the order they joined; cancelled ones only if
    ``everyone``."""
    into.start()
    after = 0
    while True:
        found = await store.list_registrations(event_id, after=after, limit=PAGE)
        into.page([r for r in found if everyone or r.status != "cancelled"])
        if len(found) < PAGE:
            break
        after = found[-1].seq
    into.end()
