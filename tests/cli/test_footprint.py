"""``serve`` starts with the garbage collector off and turns it back on (cli/footprint.py):
once the app is built, before workers are forked, or when the start fails."""

from __future__ import annotations

import gc
import socket
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from eventsapi.cli import footprint, main

APP = object()


def make_app() -> object:
    assert not gc.isenabled(), "the app is built with the collector off"
    return APP


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.enable()


@pytest.mark.usefixtures("collector_off")
def test_the_collector_resumes_once_the_app_is_built_with_the_start_frozen() -> None:
    server = SimpleNamespace(target=f"{__name__}:make_app", factory=True)

    build = footprint._target(server)  # type: ignore[arg-type]

    assert not gc.isenabled()
    assert build() is APP
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("collector_off")
def test_an_app_given_built_resumes_the_collector_at_once() -> None:
    server = SimpleNamespace(target=f"{__name__}:APP", factory=False)

    assert footprint._target(server) is APP  # type: ignore[arg-type]
    assert gc.isenabled()


def test_a_start_that_fails_turns_the_collector_back_on(tmp_path: object) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            main, ["serve", "--port", str(port), "--database", f"{tmp_path}/e.db"]
        )

    assert result.exit_code == 1, result.output
    assert "Cannot listen" in result.output
    assert gc.isenabled()
