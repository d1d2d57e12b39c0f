"""The package builds with the oldest setuptools ``pyproject.toml`` allows, and its wheel
says what pip needs: the SPDX license, and the optional extras (issue 19 item 4)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_builds_with_the_oldest_setuptools_allowed(tmp_path: Path) -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    floors = [re.fullmatch(r"setuptools>=([0-9.]+)", item) for item in requires]
    floor = next(found.group(1) for found in floors if found is not None)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", f"setuptools=={floor}"], check=True, timeout=300)
    out = tmp_path / "wheel"
    built = subprocess.run(
        [*pip, "wheel", "--no-build-isolation", "--no-deps", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]

    (wheel,) = out.glob("eventsapi-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(name).decode())
    assert metadata["License-Expression"] == "MIT"
    extras = set(metadata.get_all("Provides-Extra") or [])
    assert {"postgres", "redis"} <= extras
    requirements = metadata.get_all("Requires-Dist") or []
    unconditional = [r for r in requirements if "extra ==" not in r]
    assert not any(r.startswith(("psycopg", "redis")) for r in unconditional), unconditional
    assert any(r.startswith("psycopg") and 'extra == "postgres"' in r for r in requirements)
    assert any(r.startswith("redis") and 'extra == "redis"' in r for r in requirements)
    # The files the service reads at run time are in the wheel.
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for packaged in (
        "eventsapi/api/static/vendor/swagger-ui/swagger-ui-bundle.js.br",
        "eventsapi/ui/static/htmx.min.js.gz",
        "eventsapi/ui/templates/base.html",
    ):
        assert packaged in names
