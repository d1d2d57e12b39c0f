"""Helpers for the rate-limit, local-mode and reverse-proxy attacks: a server on loopback,
many requests on one connection, and nginx configured as docs/deploy.md says."""

from __future__ import annotations

import contextlib
import getpass
import http.client
import json
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from tests.security.public import ADMIN, ADMIN_PASSWORD, create_user, database_url
from tests.server_process import ServerProcess, free_port

DEPLOY_DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
NGINX_MARKER = "<!-- tested: tests/security/test_reverse_proxy.py -->"
SERVER_NAME = "events.example.com"
JSON = {"Content-Type": "application/json"}
EVENT = json.dumps({"title": "Limits"}).encode()


@contextlib.contextmanager
def loopback_server(
    folder: Path,
    *,
    backend: str = "sqlite",
    env: Mapping[str, str] | None = None,
    users: Sequence[tuple[str, str, bool]] = ((ADMIN, ADMIN_PASSWORD, True),),
) -> Iterator[ServerProcess]:
    """A server on 127.0.0.1 (local mode, as the tutorial and a proxied service run it),
    ready, with ``users`` created first; killed at the end."""
    with database_url(backend, folder) as database:
        for name, password, admin in users:
            create_user(database, name, password, admin=admin)
        port = free_port()
        command = ["serve", "--host", "127.0.0.1", "--port", str(port), "--database", database]
        server = ServerProcess(command, port=port, cwd=folder, env=env)
        with server:
            server.wait_ready()
            yield server


def statuses(
    source: str,
    port: int,
    method: str,
    path: str,
    headers: Sequence[Mapping[str, str]],
    *,
    body: bytes | None = None,
    timeout: float = 60.0,  # a whole minute: the machine may be busy with other tests
) -> list[int]:
    """One request per item of ``headers``, in a row on keep-alive connections from
    ``source``: their statuses. A request is sent again, once, on a new connection when the
    server closed the last one (as it may after refusing a request with a body)."""
    found: list[int] = []
    conn: http.client.HTTPConnection | None = None
    try:
        for fields in headers:
            for attempt in (1, 2):
                if conn is None:
                    conn = http.client.HTTPConnection(
                        "127.0.0.1", port, timeout=timeout, source_address=(source, 0)
                    )
                try:
                    conn.request(method, path, body=body, headers=dict(fields))
                    response = conn.getresponse()
                    response.read()
                except (ConnectionError, http.client.RemoteDisconnected):
                    conn.close()
                    conn = None
                    if attempt == 2:
                        raise
                    continue
                found.append(response.status)
                if response.will_close:
                    conn.close()
                    conn = None
                break
    finally:
        if conn is not None:
            conn.close()
    return found


# --- nginx, as docs/deploy.md configures it ------------------------------------------


def documented_nginx_config() -> str:
    """The nginx configuration of docs/deploy.md: the ``nginx`` block after the marker."""
    text = DEPLOY_DOCS.read_text(encoding="utf-8")
    after = text[text.index(NGINX_MARKER) :]
    match = re.search(r"```nginx\n(.*?)```", after, re.DOTALL)
    assert match is not None, "docs/deploy.md has no nginx block after the marker"
    return match.group(1)


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"docs/deploy.md's nginx example no longer has {old!r}"
    return text.replace(old, new)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for ``SERVER_NAME`` and its key, made with openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "2", "-subj", f"/CN={SERVER_NAME}",
            "-addext", f"subjectAltName=DNS:{SERVER_NAME}",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


class Nginx:
    """nginx in the foreground, with the documented server blocks, on loopback ports."""

    def __init__(self, folder: Path, upstream_port: int) -> None:
        self.folder = folder
        self.https_port = free_port()
        self.http_port = free_port()
        self.cert, key = self_signed_certificate(folder)
        site = documented_nginx_config()
        site = _replace(site, "listen 443 ssl;", f"listen 127.0.0.1:{self.https_port} ssl;")
        site = _replace(site, "listen [::]:443 ssl;", "")
        site = _replace(site, "listen 80;", f"listen 127.0.0.1:{self.http_port};")
        site = _replace(site, "listen [::]:80;", "")
        site = _replace(site, "http://127.0.0.1:8001", f"http://127.0.0.1:{upstream_port}")
        site = _replace(site, f"/etc/ssl/certs/{SERVER_NAME}.pem", str(self.cert))
        site = _replace(site, f"/etc/ssl/private/{SERVER_NAME}.key", str(key))
        (folder / "site.conf").write_text(site, encoding="utf-8")
        temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        for path in temp.values():
            path.mkdir()
        (folder / "nginx.conf").write_text(
            f"""
user {getpass.getuser()};
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 512; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {folder}/site.conf;
}}
""",
            encoding="utf-8",
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Nginx:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        command = [nginx, "-p", str(self.folder), "-c", str(self.folder / "nginx.conf")]
        check = subprocess.run(
            [*command, "-e", str(self.folder / "error.log"), "-t"],
            capture_output=True,
            timeout=30,
        )
        assert check.returncode == 0, check.stderr.decode()
        self.proc = subprocess.Popen(
            [*command, "-e", str(self.folder / "error.log"), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1),
            ):
                return self
            assert self.proc.poll() is None, (self.folder / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start listening"
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)

    def request(
        self,
        source: str,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request over TLS to nginx from ``source``: (status, header fields, body)."""
        context = ssl.create_default_context(cafile=str(self.cert))
        conn = http.client.HTTPSConnection(
            SERVER_NAME, self.https_port, timeout=10, context=context
        )
        # Connect to loopback, from ``source``, while TLS checks the name SERVER_NAME.
        raw = socket.create_connection(
            ("127.0.0.1", self.https_port), timeout=10, source_address=(source, 0)
        )
        conn.sock = context.wrap_socket(raw, server_hostname=SERVER_NAME)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            return response.status, response.msg, response.read()
        finally:
            conn.close()
