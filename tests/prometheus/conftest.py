"""The ``promtool`` fixture: its path, or a failure (not a skip) where it is missing.

promtool is required (``.ci/run`` installs Debian's ``prometheus``): the rules would
otherwise ship unchecked.
"""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: apt-get install prometheus (.ci/run does)")
    return path
