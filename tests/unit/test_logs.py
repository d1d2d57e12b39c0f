"""The log formats (``eventsapi/logs.py``): text, JSON, and both on systemd's journal."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import pytest

from eventsapi import logs
from eventsapi.settings import Settings


@pytest.fixture(autouse=True)
def root_logger_restored() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    access = logging.getLogger("eventsapi.access")
    access_level = access.level
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    access.setLevel(access_level)


def record(level: int = logging.INFO, message: str = "hello %s", **extra: Any) -> logging.LogRecord:
    made = logging.LogRecord("eventsapi.test", level, __file__, 1, message, ("world",), None)
    made.__dict__.update(extra)
    made.created = 1714586400.123456  # 2024-05-01T18:00:00.123456Z
    return made


@pytest.mark.parametrize(
    ("level", "priority"),
    [
        (logging.DEBUG, 7),
        (logging.INFO, 6),
        (logging.WARNING, 4),
        (logging.ERROR, 3),
        (logging.CRITICAL, 2),
        (logging.INFO + 5, 6),  # a custom level: the priority of the level below
    ],
)
def test_levels_map_to_syslog_priorities(level: int, priority: int) -> None:
    assert logs.priority(level) == priority


def test_json_has_the_fields_known_and_no_others() -> None:
    formatter = logs.JSONFormatter(journal=False)
    fields: dict[str, Any] = {
        "request_id": "abc-1",
        "user_id": "01JD7X",
        "route": "/events/{id}",
        "status": 404,
        "duration_ms": 0.5,
        "client": "203.0.113.7",
        "password": "never written",  # an extra that is not a log field
    }

    plain = json.loads(formatter.format(record()))
    full = json.loads(formatter.format(record(**fields)))

    assert plain == {
        "time": "2024-05-01T18:00:00.123Z",
        "level": "info",
        "logger": "eventsapi.test",
        "message": "hello world",
    }
    del fields["password"]
    assert full == {**plain, **fields}


def test_json_is_one_line_with_the_traceback_inside() -> None:
    def fail() -> None:
        raise ValueError("bad\nthing")

    with pytest.raises(ValueError, match="bad") as caught:
        fail()
    failed = record(logging.ERROR, "line one\nline %s")
    failed.exc_info = (caught.type, caught.value, caught.tb)

    line = logs.JSONFormatter(journal=False).format(failed)

    assert "\n" not in line
    document = json.loads(line)
    assert document["message"] == "line one\nline world"
    assert document["exception"].startswith("Traceback")
    assert "ValueError: bad\nthing" in document["exception"]


def test_on_the_journal_no_time_and_each_line_has_its_priority() -> None:
    text = logs.TextFormatter(journal=True)
    as_json = logs.JSONFormatter(journal=True)
    warning = record(logging.WARNING, "two\nlines %s")

    assert text.format(record()) == "<6>eventsapi.test: hello world"
    assert text.format(warning) == "<4>eventsapi.test: two\n<4>lines world"
    line = as_json.format(warning)
    assert line.startswith("<4>{")
    assert "time" not in json.loads(line.removeprefix("<4>"))
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO eventsapi.test: hello world",
        logs.TextFormatter(journal=False).format(record()),
    )


def journal_of(stream: TextIO) -> dict[str, str]:
    found = os.fstat(stream.fileno())
    return {logs.JOURNAL_ENV: f"{found.st_dev}:{found.st_ino}"}


def test_the_journal_is_recognised_by_its_device_and_inode(tmp_path: Path) -> None:
    with (tmp_path / "journal").open("w") as journal, (tmp_path / "other").open("w") as other:
        env = journal_of(journal)

        assert logs.on_journal(journal, env)
        assert not logs.on_journal(other, env)  # standard error redirected away from it
        assert not logs.on_journal(journal, {})
        assert not logs.on_journal(io.StringIO(), env)


def test_configure_writes_the_chosen_format_at_the_chosen_level(tmp_path: Path) -> None:
    path = tmp_path / "log"
    with path.open("w") as stream:
        logs.configure(
            Settings(log_format="json", log_level="warning", access_log=True),
            stream=stream,
            environ={},
        )
        logging.getLogger("eventsapi.test").info("not written")
        logging.getLogger("eventsapi.test").warning("written")
        logging.getLogger("eventsapi.access").info("GET /")

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["level"], line["message"]) for line in lines] == [
        ("warning", "written"),
        ("info", "GET /"),
    ]


def test_configure_on_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "log"
    with path.open("w") as stream:
        logs.configure(Settings(), stream=stream, environ=journal_of(stream))
        logging.getLogger("eventsapi.test").warning("careful")

    assert path.read_text() == "<4>eventsapi.test: careful\n"


def test_held_back_records_are_written_in_the_format_configured_after(tmp_path: Path) -> None:
    path = tmp_path / "log"
    with logs.held_back() as held:
        logging.getLogger("eventsapi").warning("ignoring %s", "EVENTSAPI_BOGUS")
    with path.open("w") as stream:
        logs.configure(Settings(log_format="json"), stream=stream, environ={})
        held.write()

    (line,) = path.read_text().splitlines()
    assert json.loads(line)["message"] == "ignoring EVENTSAPI_BOGUS"
    assert json.loads(line)["level"] == "warning"


def test_held_back_warnings_are_written_if_the_settings_fail(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def resolve() -> None:
        logging.getLogger("eventsapi").warning("ignoring %s", "EVENTSAPI_BOGUS")
        raise RuntimeError("invalid setting")

    with pytest.raises(RuntimeError), logs.held_back():
        resolve()

    assert "WARNING eventsapi: ignoring EVENTSAPI_BOGUS" in capsys.readouterr().err
