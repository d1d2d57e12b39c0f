"""Fixtures for the command-line tests.

- ``runner``: a click ``CliRunner`` that runs the command as ``eventsapi``, in an
  environment without ``EVENTSAPI_*`` variables and in a fresh working directory
  (so ``./eventsapi.db`` lands in tmp_path).
"""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest
from click.testing import CliRunner


class EventsapiRunner(CliRunner):
    def get_default_prog_name(self, cli: click.Command) -> str:
        return "eventsapi"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in list(os.environ):
        if name.startswith("EVENTSAPI_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return EventsapiRunner()
