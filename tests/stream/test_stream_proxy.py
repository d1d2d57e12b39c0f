"""The live stream through the documented nginx (docs/deploy.md's ``location /``, with its
default response buffering): each message passes as it comes, because the stream's
``X-Accel-Buffering: no`` turns nginx's buffering off for it."""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path

import httpx
import pytest

from tests.security.support_limits import SERVER_NAME, Nginx
from tests.server_process import ServerProcess, free_port
from tests.stream.sse import open_stream, stream_client

pytestmark = [
    pytest.mark.slow,
    pytest.mark.anyio,
    pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                       reason="needs nginx"),
]  # fmt: skip


async def test_messages_pass_through_the_documented_nginx_as_they_come(tmp_path: Path) -> None:
    port = free_port()
    args = ["serve", "--port", str(port), "--database", str(tmp_path / "events.db")]
    (tmp_path / "nginx").mkdir()
    with (
        ServerProcess(args, port=port, cwd=tmp_path) as server,
        Nginx(tmp_path / "nginx", port) as nginx,
    ):
        server.wait_ready()
        proxied = f"https://127.0.0.1:{nginx.https_port}"
        verify = ssl.create_default_context(cafile=str(nginx.cert))
        headers = {"Host": SERVER_NAME}
        async with (
            stream_client(verify=verify, headers=headers) as http,
            # TLS checks the name nginx's certificate is for, not the address dialled.
            open_stream(http, proxied, extensions={"sni_hostname": SERVER_NAME}) as stream,
        ):
            for n in range(3):
                # Each change is made straight to the service, and read through nginx
                # before the next is made: nothing may wait in nginx's buffers.
                async with httpx.AsyncClient() as direct:
                    created = await direct.post(
                        f"http://127.0.0.1:{port}/events", json={"title": f"{n}"}
                    )
                assert created.status_code == 201, created.text
                change = await stream.next()
                assert change.data["event"] == created.json()
