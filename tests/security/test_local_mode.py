"""Issue 13, item 7: local mode throttled its only user.

On loopback, with the defaults, a script that created 400 events got 429 after 300 (the
write limit), and so did the project's own benchmark seeding (1,000 events). A local request
(the service on loopback in local mode, a loopback peer, no forwarding field) is now not
rate-limited, and the start line says so; a server in public mode limits the same requests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.security.public import ADMIN, ADMIN_PASSWORD, login, public_server
from tests.security.support_limits import EVENT, JSON, loopback_server, statuses

pytestmark = pytest.mark.slow

CREATES = 400
WRITE_LIMIT = 300  # the default: write=300/60


def test_on_loopback_400_creates_in_a_row_all_succeed(tmp_path: Path) -> None:
    with loopback_server(tmp_path) as server:
        found = statuses("127.0.0.1", server.port, "POST", "/events", [JSON] * CREATES, body=EVENT)
        assert found == [201] * CREATES
        assert "requests from this machine are not rate-limited" in server.log()


def test_in_public_mode_the_same_creates_are_limited(tmp_path: Path) -> None:
    with public_server(tmp_path) as server:
        token = login("127.0.0.2", server.port, ADMIN, ADMIN_PASSWORD)
        fields = [{**JSON, "Authorization": f"Bearer {token}"}] * CREATES
        found = statuses("127.0.0.2", server.port, "POST", "/events", fields, body=EVENT)
        # The budget refills at 5 a second while the creates run: a few more may pass.
        assert found[:WRITE_LIMIT] == [201] * WRITE_LIMIT
        assert 429 in found
        assert "not rate-limited" not in server.log()
