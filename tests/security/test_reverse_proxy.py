"""Issue 13, item 6: behind a reverse proxy the service believed it was local.

The documented setup (docs/deploy.md) puts eventsapi on loopback behind nginx. The service
used to take every request for the machine's own: anonymous writes for everyone who reaches
the proxy (``anonymous_writes=auto`` on loopback), and one shared address (the proxy's) for
rate limits, the login throttle and the logs. Here nginx runs the documented configuration
in front of a real server on 127.0.0.1 that trusts it (``EVENTSAPI_TRUSTED_PROXIES``), with
``anonymous_writes`` left at ``auto``, and clients come from several loopback addresses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.security.public import ADMIN, ADMIN_PASSWORD, request_from
from tests.security.support_limits import EVENT, JSON, Nginx, loopback_server, statuses

pytestmark = pytest.mark.slow

READS = 5
PROXIED_ENV = {
    "EVENTSAPI_TRUSTED_PROXIES": "127.0.0.1",
    "EVENTSAPI_RATE_LIMITS": f"read={READS}/600,write=300/60,auth=20/60,other=600/60",
    "EVENTSAPI_ACCESS_LOG": "true",
}
LOGIN = json.dumps({"username": ADMIN, "password": ADMIN_PASSWORD}).encode()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_through_the_documented_nginx_each_client_is_itself_and_not_local(
    tmp_path: Path, backend: str
) -> None:
    (tmp_path / "nginx").mkdir()
    with (
        loopback_server(tmp_path, backend=backend, env=PROXIED_ENV) as server,
        Nginx(tmp_path / "nginx", server.port) as nginx,
    ):
        # Rate limits per client: 127.0.0.2 spends its budget, 127.0.0.3 still has its own.
        # (A spoofed X-Forwarded-For through the proxy changes nothing: nginx sets it.)
        spoofs = [{"X-Forwarded-For": f"10.9.9.{i}"} for i in range(READS + 1)]
        found = [nginx.request("127.0.0.2", "GET", "/events", headers=h)[0] for h in spoofs]
        assert found == [200] * READS + [429]
        assert nginx.request("127.0.0.3", "GET", "/events")[0] == 200

        # Anonymous writes are refused through the proxy (auto, on loopback)...
        status, fields, body = nginx.request(
            "127.0.0.4", "POST", "/events", body=EVENT, headers=JSON
        )
        assert status == 401, body
        assert fields["content-type"] == "application/problem+json"

        # ... and a login over https gets a Secure cookie (X-Forwarded-Proto: https).
        status, fields, body = nginx.request(
            "127.0.0.5", "POST", "/auth/login", body=LOGIN, headers=JSON
        )
        assert status == 200, body
        cookie = fields["set-cookie"]
        assert cookie.startswith("__Host-eventsapi_session="), cookie
        assert "; Secure" in cookie, cookie
        token = json.loads(body)["token"]

        # The audit log and the access log know the client, not the proxy.
        bearer = {"Authorization": f"Bearer {token}"}
        status, _, body = nginx.request("127.0.0.5", "GET", "/auth/audit", headers=bearer)
        assert status == 200, body
        entries = json.loads(body)
        logins = [entry for entry in entries if entry["kind"] == "login"]
        assert [entry["client_address"] for entry in logins] == ["127.0.0.5"], entries
        log = server.log()
        assert "POST /auth/login 200" in log
        assert " client=127.0.0.5 via=127.0.0.1:" in log, log

        # The service's own machine, straight to it with no forwarding field, is local...
        status, _, body = request_from(
            "127.0.0.1", server.port, "POST", "/events", body=EVENT, headers=JSON
        )
        assert status == 201, body
        # ... but a client that reaches the port itself with X-Forwarded-For is neither
        # local nor believed: it writes nothing, and is limited as its own address.
        spoofed = [{**JSON, "X-Forwarded-For": "127.0.0.1"}]
        assert statuses("127.0.0.6", server.port, "POST", "/events", spoofed, body=EVENT) == [401]
        direct = [{"X-Forwarded-For": f"127.0.0.{100 + i}"} for i in range(READS + 1)]
        assert statuses("127.0.0.6", server.port, "GET", "/events", direct) == [200] * READS + [429]


def test_forwarding_fields_from_an_untrusted_peer_are_not_local(tmp_path: Path) -> None:
    """Without trusted proxies (the default), any forwarding field still makes a request
    not local: no anonymous write, whatever it claims."""
    with loopback_server(tmp_path) as server:
        for field in ("Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Real-IP"):
            value = "for=127.0.0.1" if field == "Forwarded" else "127.0.0.1"
            if field == "X-Forwarded-Proto":
                value = "http"
            status, _, body = request_from(
                "127.0.0.1",
                server.port,
                "POST",
                "/events",
                body=EVENT,
                headers={**JSON, field: value},
            )
            assert status == 401, (field, body)
        status, _, _ = request_from(
            "127.0.0.1", server.port, "POST", "/events", body=EVENT, headers=JSON
        )
        assert status == 201
