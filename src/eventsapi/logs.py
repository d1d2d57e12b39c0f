"""The service's logs: one handler, on the root logger, writing standard error in the
``log_format`` of the settings, and fitting systemd's journal when that is where they go.

- ``text``: ``2026-05-01 18:00:00,123 INFO eventsapi: message``, for people.
- ``json``: one object per line, for log collectors (Loki, Elasticsearch, CloudWatch, ...):
  ``time`` (RFC 3339, UTC), ``level``, ``logger``, ``message``, and what the record knows of
  its request: ``request_id``, ``user_id``, ``route`` (the template, ``/events/{id}``),
  ``method``, ``path``, ``status``, ``duration_ms``, ``client`` (its address); a traceback
  is ``exception``.

Under systemd, with standard error connected to the journal (``JOURNAL_STREAM`` names it,
systemd.exec(5)), the journal stamps each line itself, so neither format repeats the time,
and each line starts with its level as a syslog priority (``<4>`` for a warning: the
sd-daemon(3) convention), which ``journalctl -p warning`` selects by.

granian's own messages (the ``_granian`` logger) are routed to the same handler, so that
every line of a server is in one format.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TextIO

import msgspec

from eventsapi.settings import LogFormat, Settings

__all__ = ["Held", "configure", "configure_worker", "granian_config", "held_back", "on_journal"]

JOURNAL_ENV: Final = "JOURNAL_STREAM"
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"

SYSLOG_PRIORITIES: Final = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
"""Python's levels as syslog priorities (RFC 5424: 2 crit, 3 err, 4 warning, 6 info, 7 debug)."""

REQUEST_FIELDS: Final = (
    "request_id",
    "user_id",
    "route",
    "method",
    "path",
    "status",
    "duration_ms",
    "client",
)
"""Members a record may carry (``extra=``) that the JSON format writes when they are set."""

_encode = msgspec.json.Encoder(enc_hook=str).encode


def priority(levelno: int) -> int:
    """The syslog priority of a Python level (a custom level: that of the level below)."""
    for level, value in sorted(SYSLOG_PRIORITIES.items(), reverse=True):
        if levelno >= level:
            return value
    return SYSLOG_PRIORITIES[logging.DEBUG]


def on_journal(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether ``stream`` is systemd's journal: ``JOURNAL_STREAM`` holds the device and inode
    of the journal's stream, and a service's standard error may have been redirected away
    from it (``2>file`` in ``ExecStart``), so both are compared, as systemd.exec(5) asks."""
    expected = environ.get(JOURNAL_ENV)
    if not expected:
        return False
    try:
        found = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # no descriptor (a test's StringIO)
        return False
    return f"{found.st_dev}:{found.st_ino}" == expected


def _by_line(text: str, prefix: str) -> str:
    # The journal takes each line as an entry: a traceback keeps its priority on each.
    return "\n".join(prefix + line for line in text.splitlines())


class TextFormatter(logging.Formatter):
    """The text format; on the journal without the time, each line with its priority."""

    def __init__(self, *, journal: bool) -> None:
        super().__init__("%(name)s: %(message)s" if journal else TEXT_FORMAT)
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return _by_line(text, f"<{priority(record.levelno)}>") if self.journal else text


class JSONFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in values are escaped)."""

    def __init__(self, *, journal: bool) -> None:
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {}
        if not self.journal:
            at = datetime.fromtimestamp(record.created, UTC)
            document["time"] = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        document["level"] = record.levelname.lower()
        document["logger"] = record.name
        document["message"] = record.getMessage()
        fields = record.__dict__
        for name in REQUEST_FIELDS:
            value = fields.get(name)
            if value is not None:
                document[name] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        line = _encode(document).decode()
        return f"<{priority(record.levelno)}>{line}" if self.journal else line


def formatter(log_format: LogFormat, *, journal: bool) -> logging.Formatter:
    if log_format == "json":
        return JSONFormatter(journal=journal)
    return TextFormatter(journal=journal)


def configure(
    settings: Settings,
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Make the root logger write ``stream`` (standard error) as ``settings`` say, replacing
    any handler it had, at ``log_level``; the access log at INFO when it is on."""
    stream = stream if stream is not None else sys.stderr
    environ = environ if environ is not None else os.environ
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(settings.log_format, journal=on_journal(stream, environ)))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    if settings.access_log:
        # The app writes the access log (api/access_log.py), at INFO whatever log_level.
        logging.getLogger("eventsapi.access").setLevel(logging.INFO)


def configure_worker(settings: Settings) -> None:
    """In a worker process: configure logging unless it came configured from the parent
    (forked workers inherit the handler; spawned ones, as on macOS, start without)."""
    if not logging.getLogger().handlers:
        configure(settings)


def granian_config(settings: Settings) -> dict[str, Any]:
    """granian's ``log_dictconfig``: its loggers without handlers of their own, so that
    their records reach the root logger's handler (``configure``'s)."""
    level = "WARNING" if settings.log_level == "info" else settings.log_level.upper()
    return {
        "loggers": {
            "_granian": {"handlers": [], "level": level, "propagate": True},
            "granian.access": {"handlers": [], "level": level, "propagate": True},
        }
    }


class Held(logging.Handler):
    """Records kept back by ``held_back``, to be written once logging is configured."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def write(self) -> None:
        """Write the records through the handlers configured since, at their levels."""
        for record in self.records:
            logger = logging.getLogger(record.name)
            if logger.isEnabledFor(record.levelno):
                logger.handle(record)
        self.records.clear()


@contextlib.contextmanager
def held_back() -> Iterator[Held]:
    """Keep what is logged inside (the settings' own warnings, such as an unknown
    ``EVENTSAPI_*`` variable) until logging is configured and ``Held.write`` is called,
    so that it is written in the configured format. If the block fails, the warnings are
    written at once, in the text format (the settings that name a format are not known)."""
    root = logging.getLogger()
    held = Held()
    saved = root.handlers[:], root.level
    root.handlers[:] = [held]
    root.setLevel(logging.DEBUG)
    try:
        yield held
    except BaseException:
        root.handlers[:], _ = saved
        fallback = logging.StreamHandler(sys.stderr)
        fallback.setFormatter(TextFormatter(journal=on_journal(sys.stderr, os.environ)))
        for record in held.records:
            if record.levelno >= logging.WARNING:
                fallback.handle(record)
        raise
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
