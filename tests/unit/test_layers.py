"""The layering of ``src/eventsapi``, read from the source's import statements.

Packages depend on each other in one direction only (docs/architecture.md):
``domain/`` is pure and imports nothing of ours but ``errors``; ``storage/`` serves every
consumer through the consumer's own protocol and so imports no ``api/``, ``auth/``, ``slo/``
or ``cli/``; and no two packages import each other, directly or around a longer loop.
Imports under ``if TYPE_CHECKING:`` count too: a cycle of types is still a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "src" / "eventsapi"
MAX_LINES = 500


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


MODULES = dict(_modules())


def _unit(module: str) -> str:
    """The layer a module belongs to: its top package (``api``), or the top module."""
    parts = module.split(".")
    if len(parts) == 1:
        return "eventsapi"
    # settings.py is the schema; settings_values.py and settings_load.py are its parsers and
    # its layers, split off for size: one unit, which may refer to itself.
    return parts[1].split("_")[0] if parts[1].startswith("settings_") else parts[1]


def _imported(module: str, path: Path) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from eventsapi import storage` names a module; `from x import name` a name.
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield candidate if candidate in MODULES else base


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        source = _unit(module)
        for target in _imported(module, path):
            ours = target.split(".")[0] == "eventsapi" and target != "eventsapi"
            if ours and _unit(target) != source:
                graph.setdefault(source, set()).add(_unit(target))
    return graph


GRAPH = _graph()


def test_the_graph_is_read_from_the_source() -> None:
    # Guards the reader itself: these edges exist, so a reader that finds none is broken.
    assert {"api", "auth", "storage"} <= GRAPH["app"]
    assert "domain" in GRAPH["storage"]


def test_domain_imports_nothing_of_ours_but_errors() -> None:
    assert GRAPH.get("domain", set()) <= {"errors"}


@pytest.mark.parametrize("consumer", ["api", "auth", "slo", "cli", "webhooks", "app"])
def test_storage_imports_none_of_its_consumers(consumer: str) -> None:
    assert consumer not in GRAPH.get("storage", set())


def test_no_cycles_between_packages() -> None:
    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for step in GRAPH.get(start, set()) - seen:
            if step == goal or reaches(step, goal, seen | {step}):
                return True
        return False

    cycles = sorted(unit for unit in GRAPH if reaches(unit, unit, set()))
    assert cycles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_are_small_enough_to_read_in_one_sitting(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by concept"


@pytest.mark.parametrize(
    "folder", sorted({path.parent for path in MODULES.values() if path.parent != SOURCE})
)
def test_each_folder_says_what_it_is(folder: Path) -> None:
    init = folder / "__init__.py"
    assert init.exists(), f"{folder.name}/ has no __init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert docstring, f"{folder.name}/__init__.py has no docstring"
    assert docstring.splitlines()[0].endswith("."), "the first line says what the folder is"
