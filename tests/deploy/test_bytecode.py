"""deploy/bytecode.py: the image's bytecode list is current, and what ``pack`` zips imports
from its bytecode while tracebacks still show the source (issue 18)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from tests.support import postgres_schema

ROOT = Path(__file__).resolve().parents[2]


def load_bytecode() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_bytecode", ROOT / "deploy/bytecode.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bytecode = load_bytecode()


def test_the_list_names_every_module_a_session_imports(tmp_path: Path) -> None:
    """Else the image compiles that module again at every start of every process."""
    written = tmp_path / "modules.txt"
    with postgres_schema() as url:
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "deploy/bytecode.py"),
                "list",
                "--postgres",
                url,
                "--output",
                str(written),
            ],
            check=True,
            timeout=300,
        )
    listed = set(bytecode.read_list(bytecode.LIST))
    missing = set(bytecode.read_list(written)) - listed
    assert not missing, f"run: python deploy/bytecode.py list --postgres URL ({sorted(missing)})"


def test_a_packed_package_imports_from_its_bytecode_and_shows_its_source(
    tmp_path: Path,
) -> None:
    lib = tmp_path / "lib"
    (lib / "demo" / "data").mkdir(parents=True)
    (lib / "demo" / "__init__.py").write_text("")
    (lib / "demo" / "fail.py").write_text("def fail():\n    raise ValueError('shown')\n")
    (lib / "demo" / "data" / "note.txt").write_text("packed")
    (lib / "native").mkdir()
    (lib / "native" / "__init__.py").write_text("")
    (lib / "native" / "_speedups.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    archive = tmp_path / "lib.zip"

    moved = bytecode.pack(["demo", "demo.fail"], lib, archive, keep=())

    assert moved == ["demo"]  # a package with an extension module stays files
    assert sorted(path.name for path in lib.iterdir()) == ["native"]
    script = (
        "import importlib.resources, traceback, demo, demo.fail\n"
        "print(demo.fail.__file__)\n"
        "print(importlib.resources.files('demo').joinpath('data/note.txt').read_text())\n"
        "try:\n    demo.fail.fail()\n"
        "except ValueError:\n    traceback.print_exc()\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(archive)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [f"{archive}/demo/fail.pyc", "packed"]
    assert f'File "{archive}/demo/fail.py", line 2, in fail' in ran.stderr
    assert "raise ValueError('shown')" in ran.stderr


def test_compile_writes_bytecode_for_the_listed_modules_only(tmp_path: Path) -> None:
    (tmp_path / "used.py").write_text("x = 1\n")
    (tmp_path / "unused.py").write_text("y = 2\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "deep.py").write_text("z = 3\n")

    count = bytecode.compile_listed(["used", "pkg.*", "absent"], tmp_path, None)

    tag = sys.implementation.cache_tag
    compiled = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.pyc"))
    assert count == 3
    assert compiled == [
        f"__pycache__/used.{tag}.pyc",
        f"pkg/__pycache__/__init__.{tag}.pyc",
        f"pkg/__pycache__/deep.{tag}.pyc",
    ]
