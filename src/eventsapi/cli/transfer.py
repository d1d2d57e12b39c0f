"""``eventsapi export`` and ``eventsapi import``: every event to and from a file.

The formats and the per-row rules are in ``domain/transfer.py``; this module
reads and writes the files, shows progress and reports. Both commands stream:
export holds one batch of events at a time, and import reads NDJSON line by line
inside the store's one transaction (a JSON array is read whole, as JSON must be).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import IO, Any, Final, TypeVar

import click

from eventsapi import storage
from eventsapi.cli.options import config_option, database_option, resolve
from eventsapi.clock import system_clock
from eventsapi.domain.events import Event
from eventsapi.domain.ids import new_event_id
from eventsapi.domain.transfer import (
    FORMAT_NAMES,
    FORMATS,
    Format,
    Row,
    RowChecker,
    describe,
    detect_format,
    ndjson_rows,
    read_document,
    to_ndjson,
    unit_of,
)
from eventsapi.errors import EventsAPIError
from eventsapi.settings import Settings
from eventsapi.storage.transfer import ImportResult, OnConflict

T = TypeVar("T")

EXPORT_BATCH: Final = 1000
"""Events read from the database at a time by ``export``."""


class _Progress:
    """A click progress bar on standard error when it is a terminal; otherwise nothing."""

    def __init__(self, label: str, length: int | None, *, wanted: bool) -> None:
        self._bar: Any = None
        if wanted:
            # Without a length, click shows a count and a moving mark instead of a bar.
            self._bar = click.progressbar(
                length=length,
                iterable=itertools.repeat(None) if length is None else None,
                label=label,
                file=sys.stderr,
                show_pos=length is None,
                show_percent=length is not None,
                show_eta=length is not None,
            )

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def update(self, steps: int) -> None:
        if self._bar is not None:
            self._bar.update(steps)


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coroutine)
    except EventsAPIError as exc:
        raise click.ClickException(str(exc)) from None


# -- export -------------------------------------------------------------------------------


@click.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=str),
    default="-",
    metavar="FILE",
    help="Write to FILE instead of standard output (-, the default). The file is "
    "replaced only when the export is complete.",
)
@database_option
@config_option
def export_command(output: str, database: str | None, config: Path | None) -> None:
    """Write every event as NDJSON, oldest first.

    One line per event: its whole JSON document, exactly as GET /events/{id}
    returns it (id, created_at, updated_at and version included), so that
    `eventsapi import` into an empty database restores the same events, byte
    for byte. Events are read in batches from one snapshot of the database,
    however many there are and whatever is written meanwhile. A count is shown
    on standard error when it is a terminal; a summary line ends the export.
    """
    settings = resolve(config, database=database)
    to_stdout = output == "-"
    wanted = _stderr_is_terminal() and not (to_stdout and sys.stdout.isatty())
    try:
        with _output(output) as out:
            count = _run(_export(settings, out, wanted=wanted))
    except BrokenPipeError:
        # The reader went away (`eventsapi export | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(1) from None
    where = "standard output" if to_stdout else output
    click.echo(
        f"Exported {count} events from {storage.describe(settings.database)} to {where}.",
        err=True,
    )


@contextlib.contextmanager
def _output(output: str) -> Iterator[IO[bytes]]:
    """Standard output for -; else a new file in the same folder that replaces ``output``
    only once everything is written (an export that fails leaves ``output`` alone)."""
    if output == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(output)
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as exc:
        raise click.ClickException(f"Cannot write {output}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as a file made with open() would be
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


async def _export(settings: Settings, out: IO[bytes], *, wanted: bool) -> int:
    store = storage.load(settings.database, settings)
    await store.open()
    count = 0
    try:
        with _Progress("Exporting", None, wanted=wanted) as progress:
            batches = store.export_documents(batch_size=EXPORT_BATCH)
            async with contextlib.aclosing(batches):
                async for batch in batches:
                    out.write(to_ndjson(batch))
                    count += len(batch)
                    progress.update(len(batch))
    finally:
        await store.close()
    return count


# -- import -------------------------------------------------------------------------------


class _Input:
    """The rows of the input, read as the format needs: NDJSON lazily, JSON whole."""

    def __init__(self, stream: IO[bytes], fmt: Format | None, size: int | None) -> None:
        head: list[bytes] = []
        for line in stream:
            head.append(line)
            if line.strip():
                break
        self.format: Format = fmt or detect_format(b"".join(head))
        self.notes: list[str] = []
        self.by_bytes = False
        self.length: int | None
        if self.format == "ndjson":
            self.rows: Iterator[Row] = ndjson_rows(itertools.chain(head, stream))
            # Progress in bytes read when the size is known (a file), else a count.
            self.by_bytes = size is not None
            self.length = size
        else:
            document = read_document(b"".join(head) + stream.read(), self.format)
            self.format = document.format
            self.notes = document.notes
            self.rows = iter(document.rows)
            self.length = len(document.rows)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="The input's format, instead of guessing it: ndjson (what export writes), "
    "json (an array of events), json-server (a db.json) or tutorial (the Go "
    "tutorial's array of ID, Title and Description).",
)
@click.option(
    "--on-conflict",
    type=click.Choice(["error", "skip", "replace"]),
    default="error",
    show_default=True,
    help="What to do with an event whose id is in the database already: count it as "
    "an invalid row, keep the stored event, or replace it with the imported one.",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the valid rows even if some are invalid (they are reported and left "
    "out). Without it, one invalid row means nothing is imported.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check every row and report what the import would do, without storing anything.",
)
@click.option(
    "--max-errors",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    metavar="N",
    help="Report at most N invalid rows one by one (0: every one); all are counted.",
)
@database_option
@config_option
def import_command(
    file: str,
    fmt: Format | None,
    on_conflict: OnConflict,
    skip_invalid: bool,
    dry_run: bool,
    max_errors: int,
    database: str | None,
    config: Path | None,
) -> None:
    """Import events from FILE (- for standard input), all or nothing.

    FILE is NDJSON (what `eventsapi export` writes), a JSON array of events, a
    json-server db.json (its "events" array; other members are ignored) or the
    Go tutorial's JSON (an array of {"ID", "Title", "Description"}); the format
    is told from the first line unless --format names it.

    Each row is checked with the API's rules. A full event document (with
    created_at, updated_at and version) is restored as it is; any other row
    becomes a new event, with the id it gives (json-server's integer ids become
    text) or a new one. Invalid rows, ids given twice and, by default, ids the
    database has already are reported by line (NDJSON) or array element, from
    1; then nothing is imported and the exit status is 1, unless
    --skip-invalid is given. The import is one transaction. A progress bar is
    shown on standard error when it is a terminal; a summary line ends the
    import.
    """
    settings = resolve(config, database=database)
    now = system_clock()
    with contextlib.ExitStack() as stack:
        if file == "-":
            stream: IO[bytes] = sys.stdin.buffer
            size = None
        else:
            stream = stack.enter_context(Path(file).open("rb"))
            size = os.fstat(stream.fileno()).st_size
        try:
            source = _Input(stream, fmt, size)
        except EventsAPIError as exc:
            raise click.ClickException(str(exc)) from None
        for note in source.notes:
            click.echo(f"Note: {note}", err=True)
        checker = RowChecker(unit=unit_of(source.format), now=now, new_id=lambda: new_event_id(now))
        with _Progress("Importing", source.length, wanted=_stderr_is_terminal()) as progress:
            result = _run(
                _import(
                    settings,
                    source,
                    checker,
                    progress,
                    on_conflict="skip" if skip_invalid and on_conflict == "error" else on_conflict,
                    keep=lambda _: not dry_run and (skip_invalid or not checker.bad),
                )
            )
    _report(
        result,
        checker,
        source.format,
        on_conflict=on_conflict,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        max_errors=max_errors,
        database=settings.database,
    )


async def _import(
    settings: Settings,
    source: _Input,
    checker: RowChecker,
    progress: _Progress,
    *,
    on_conflict: OnConflict,
    keep: Callable[[ImportResult], bool],
) -> ImportResult:
    stop = threading.Event()

    def events() -> Iterator[Event]:
        # Read inside the store's transaction (on SQLite, on its writer thread).
        for row in source.rows:
            if stop.is_set():
                raise click.Abort  # cut short (Ctrl+C): the transaction is rolled back
            event = checker.check(row)
            progress.update(len(row.raw) if source.by_bytes else 1)
            if event is not None:
                yield event

    store = storage.load(settings.database, settings)
    await store.open()
    try:
        return await store.import_events(events(), on_conflict=on_conflict, keep=keep)
    finally:
        stop.set()
        await store.close()


def _report(
    result: ImportResult,
    checker: RowChecker,
    fmt: Format,
    *,
    on_conflict: OnConflict,
    skip_invalid: bool,
    dry_run: bool,
    max_errors: int,
    database: str,
) -> None:
    """The bad rows on standard error, then the summary line; exit 1 if it failed."""
    taken = checker.taken(result.conflicts) if on_conflict == "error" else []
    bad = sorted(checker.bad + taken, key=lambda row: row.number)
    shown = bad[:max_errors] if max_errors else bad
    for row in shown:
        click.echo(describe(row, checker.unit), err=True)
    if len(shown) < len(bad):
        click.echo(
            f"... and {len(bad) - len(shown)} more invalid rows (see --max-errors)", err=True
        )
    skipped = result.skipped if on_conflict == "skip" else 0
    rows = f"{_rows(checker.rows)} of {FORMAT_NAMES[fmt]}"
    counts = (
        f"imported {result.imported}, replaced {result.replaced}, skipped {skipped}, "
        f"invalid {len(bad)} ({rows})"
    )
    if result.committed:
        click.echo(f"{counts[0].upper()}{counts[1:]} into {storage.describe(database)}.")
        return
    if skip_invalid or not bad:  # a dry run that would succeed
        click.echo(f"Dry run, nothing stored: it would have {counts}.")
        return
    why = f"{len(bad)} of {rows} {'is' if len(bad) == 1 else 'are'} invalid"
    if taken:
        why += f" ({len(taken)} with an id the database has already: see --on-conflict)"
    prefix = "Dry run: the import would fail" if dry_run else "Nothing imported"
    valid = checker.rows - len(bad)
    hint = f"; --skip-invalid imports the other {_rows(valid)}" if valid else ""
    raise click.ClickException(f"{prefix}: {why}{hint}.")


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"
