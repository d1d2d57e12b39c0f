"""Storage depends on the domain, never on its consumers: no module under ``storage/`` imports
``slo/``, ``auth/``, ``api/`` or ``cli/`` (each of those owns the protocol it needs instead)."""

from __future__ import annotations

import ast
from pathlib import Path

import eventsapi.storage

CONSUMERS = ("eventsapi.slo", "eventsapi.auth", "eventsapi.api", "eventsapi.cli", "eventsapi.app")


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_storage_imports_none_of_its_consumers() -> None:
    root = Path(eventsapi.storage.__file__).parent
    modules = sorted(root.rglob("*.py"))
    assert len(modules) > 20
    found = {
        f"{path.relative_to(root)}: {name}"
        for path in modules
        for name in _imported(path)
        if name.startswith(CONSUMERS) and name.split(".")[:2] != ["eventsapi", "storage"]
    }
    assert not found


def test_the_check_sees_an_import_of_a_consumer(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from eventsapi.slo import spec\nimport eventsapi.api.store\n")
    assert {"eventsapi.slo.spec", "eventsapi.api.store"} <= _imported(module)
