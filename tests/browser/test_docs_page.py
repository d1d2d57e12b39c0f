"""``/docs`` in a real browser: Swagger UI renders every operation with no network but ours,
under the page's Content-Security-Policy.

Chromium is started with every host name mapped to nowhere except 127.0.0.1, so
a page that fetched a script or style from a CDN would render nothing. Its console goes to
its standard error (``--enable-logging=stderr``), where Chromium reports each thing the
page's CSP blocked (an inline script, a style, an image, a fetch), so none may be reported.
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server_process import ServerProcess, free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> str:
    """Chromium's command, or a failure (never a skip, as for every other tool): CI must
    render the page, so a missing browser is an error to fix."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "the /docs page test needs Chromium: apt-get install --no-install-recommends "
            "chromium (.ci/run installs it)",
            pytrace=False,
        )
    return found


def rendered_dom(chromium: str, url: str, profile: Path) -> tuple[str, str]:
    """The page's DOM once rendered, and Chromium's log (the console messages among it)."""
    completed = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout, completed.stderr


def csp_of(port: int, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.getheader("Content-Security-Policy") or ""
    finally:
        conn.close()


def test_docs_page_renders_every_operation_offline(chromium: str, tmp_path: Path) -> None:
    port = free_port()
    args = ["serve", "--port", str(port), "--database", str(tmp_path / "events.db")]
    with ServerProcess(args, port=port, cwd=tmp_path) as server:
        server.wait_ready()
        policy = csp_of(port, "/docs")
        dom, log = rendered_dom(chromium, f"http://127.0.0.1:{port}/docs", tmp_path / "profile")

    # The page renders under a policy that runs this service's scripts only, none inline.
    assert "script-src 'self'" in policy, policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    violations = [line for line in log.splitlines() if "Content Security Policy" in line]
    assert not violations, "\n".join(violations)

    assert 'class="swagger-ui' in dom, dom[:2000]
    for path in ("/events/{id}", "/events", "/event", "/healthz", "/readyz"):
        assert f'data-path="{path}"' in dom, f"{path} is not rendered"
    for method in ("get", "post", "put", "patch", "delete"):
        assert f"opblock-{method}" in dom
    assert "Failed to load API definition" not in dom
