"""The baseline the attacks start from: a server on 0.0.0.0 with the defaults is public."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.security.public import ADMIN, ADMIN_PASSWORD, login, public_server, request_from

pytestmark = pytest.mark.slow

EVENT = json.dumps({"title": "Public mode"}).encode()
JSON = {"Content-Type": "application/json"}


def test_anonymous_writes_are_refused_and_accounts_write(tmp_path: Path) -> None:
    with public_server(tmp_path) as server:
        status, fields, _ = request_from(
            "127.0.0.2", server.port, "POST", "/events", body=EVENT, headers=JSON
        )
        assert status == 401
        assert fields["content-type"] == "application/problem+json"
        token = login("127.0.0.3", server.port, ADMIN, ADMIN_PASSWORD)
        status, _, body = request_from(
            "127.0.0.3",
            server.port,
            "POST",
            "/events",
            body=EVENT,
            headers={**JSON, "Authorization": f"Bearer {token}"},
        )
        assert status == 201, body
