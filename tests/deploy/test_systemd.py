"""deploy/systemd/eventsapi.service: systemd accepts every line, and its sandbox is tight.

``systemd-analyze verify`` exits 0 even for an unknown key or a bad value (it warns and
ignores them), so its output must be empty too. It also checks that ExecStart's program
exists: the copy verified here runs this checkout's eventsapi instead of
/opt/eventsapi/bin/eventsapi, its only difference.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.deploy.podman import DEPLOY

UNIT = DEPLOY / "systemd" / "eventsapi.service"
EXEC_START = "ExecStart=/opt/eventsapi/bin/eventsapi serve"
MAX_EXPOSURE = 2.0
"""systemd-analyze security's score (0 safe - 10 exposed); 1.3 when written."""


def test_systemd_accepts_every_line_of_the_unit(tmp_path: Path) -> None:
    text = UNIT.read_text()
    assert EXEC_START in text.splitlines()
    eventsapi = Path(sys.executable).with_name("eventsapi")
    unit = tmp_path / "eventsapi.service"
    unit.write_text(text.replace(EXEC_START, f"ExecStart={eventsapi} serve"))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_unit_runs_sandboxed_as_its_own_user() -> None:
    lines = set(UNIT.read_text().splitlines())
    for line in (
        "DynamicUser=yes",
        "StateDirectory=eventsapi",
        "Environment=EVENTSAPI_DATABASE=/var/lib/eventsapi/eventsapi.db",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "KillSignal=SIGTERM",
    ):
        assert line in lines, line
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Overall exposure level for eventsapi\.service: ([0-9.]+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout
