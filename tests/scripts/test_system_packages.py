"""The README's test command installs the system packages the tests need, or names them in
one line (``scripts/system-packages``, run first by ``scripts/check``; issue 19 item 9)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "system-packages"
EVERY_PACKAGE = [
    "chromium",
    "prometheus",
    "podman",
    "runc",
    "mmdebstrap",
    "llvm",
    "nginx",
]
# What the script itself runs: a machine without any of the tests' tools still has these.
BASICS = ("bash", "env", "id", "awk", "seq", "sleep", "echo")


@pytest.fixture
def bare_path() -> Iterator[str]:
    """A PATH with the basics only: a fresh machine, as far as the script can tell (in a
    folder any user may read: pytest's own are the owner's only)."""
    folder = Path(tempfile.mkdtemp(prefix="eventsapi-bare-"))
    try:
        folder.chmod(0o755)
        for name in BASICS:
            found = shutil.which(name)
            if found is not None:
                (folder / name).symlink_to(found)
        yield str(folder)
    finally:
        shutil.rmtree(folder)


def run(*args: str, path: str, user: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(user or []), str(SCRIPT), *args],
        env={"PATH": path, "HOME": "/nonexistent"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_on_this_machine_nothing_is_missing() -> None:
    # CI ran the script before the tests: every package is here now.
    listed = run("--list", path=os.environ["PATH"])
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == ""


def test_a_bare_machine_misses_every_package(bare_path: str) -> None:
    listed = run("--list", path=bare_path)
    assert listed.returncode == 0, listed.stderr
    missing = listed.stdout.split()
    for package in [*EVERY_PACKAGE, "golang-go", "golang-github-masterminds-sprig-dev"]:
        assert package in missing
    assert "python3-venv" in missing  # no python3 on that PATH


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as another user")
def test_without_root_or_sudo_it_names_the_packages_in_one_line_and_fails(
    bare_path: str,
) -> None:
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "util-linux's setpriv"
    nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    result = run(path=bare_path, user=nobody)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "sudo apt-get install" in lines[0]
    for package in EVERY_PACKAGE:
        assert package in lines[0]
    assert result.stdout == ""


def test_ci_runs_exactly_the_readme_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "```sh\n./scripts/check\n```" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [
        line
        for line in ci.splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd ", "export "))
    ]
    assert commands == ["exec ./scripts/check"]
    check = (ROOT / "scripts" / "check").read_text()
    assert "./scripts/system-packages\n" in check
