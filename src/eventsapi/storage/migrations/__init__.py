"""Versioned schema migrations, shipped as ``NNNN_name.sql`` files per backend."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class MigrationScript:
    version: int
    name: str
    sql: str


def scripts(backend: str) -> list[MigrationScript]:
    """The migrations of ``backend`` in the order they apply."""
    found = []
    for entry in resources.files(__package__).joinpath(backend).iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(
                MigrationScript(int(match[1]), match[2], entry.read_text(encoding="utf-8"))
            )
    return sorted(found, key=lambda script: script.version)
