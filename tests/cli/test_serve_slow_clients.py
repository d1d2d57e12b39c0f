"""``eventsapi serve`` makes room for ``max_connections``, and warns when safety is off."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_serve_write_mode import lines, serve

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX signals")

ALLOW = """
import logging, resource, sys
logging.basicConfig(level="INFO")
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), int(sys.argv[2])))
from eventsapi.cli.serve import _allow_connections
from eventsapi.settings import Settings
_allow_connections(Settings(max_connections=4096))
print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
"""


def allow(soft: int, hard: int) -> tuple[int, str]:
    """The soft open-file limit after ``_allow_connections`` in a process started with
    ``soft`` and ``hard``, and what it logged."""
    done = subprocess.run(
        [sys.executable, "-c", ALLOW, str(soft), str(hard)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(done.stdout), done.stderr


def test_the_open_file_limit_is_raised_to_fit_max_connections() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096 + 256:
        pytest.skip("the hard open-file limit is too low here")
    soft, log = allow(1024, 4096 + 256)
    assert soft == 4096 + 256
    assert "WARNING" not in log


def test_a_hard_limit_too_low_for_max_connections_is_a_warning() -> None:
    soft, log = allow(512, 1024)
    assert soft == 1024
    assert "the open-file limit (1024) is below what max_connections (4096) needs" in log


@pytest.mark.slow
def test_no_cap_on_requests_in_flight_off_loopback_is_a_warning(tmp_path: Path) -> None:
    no_cap = {"EVENTSAPI_MAX_REQUESTS_PER_CLIENT": "0"}
    log, _ = serve(tmp_path, "--host", "0.0.0.0", env=no_cap)  # noqa: S104
    assert any("max_requests_per_client=0" in line for line in lines(log, "WARNING"))
    log, _ = serve(tmp_path, "--host", "127.0.0.1", env=no_cap)
    assert not any("max_requests_per_client" in line for line in lines(log, "WARNING"))
