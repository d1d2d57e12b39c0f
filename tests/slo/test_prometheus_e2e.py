"""A real Prometheus scrapes a real eventsapi and evaluates its generated rules.

The server runs with two worker processes (so /metrics must add up both) and a drill that
fails exactly 1 request in 20 (a burn rate of 50 against the 99.9 % target). Prometheus
scrapes it every second and evaluates ``eventsapi slo rules`` every second. Once a minute
has completed with traffic, the availability and the burn rates Prometheus computes must
agree with eventsapi's own ``GET /slo`` within 0.5 % (relative).

Why the two agree although their windows differ (eventsapi counts completed minutes,
Prometheus a sliding range): the drill's failures are evenly spread, so every window that
holds enough traffic has the same error ratio, within a request or two.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.server_process import ServerProcess, eventsapi_command, free_port

pytestmark = pytest.mark.slow

PROMETHEUS = shutil.which("prometheus")
TOLERANCE = 0.005


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own loopback
        return json.load(response)


@pytest.fixture
def eventsapi(tmp_path: Path) -> Iterator[ServerProcess]:
    port = free_port()
    # Rate limits off: the traffic (~600 reads a second from one address) is the load
    # measured, far over the default read limit, which would answer 429.
    env = {
        "EVENTSAPI_DRILL_ERROR_RATIO": "0.05",
        "EVENTSAPI_WORKERS": "2",
        "EVENTSAPI_RATE_LIMITS": "",
    }
    args = ["serve", "--port", str(port), "--database", str(tmp_path / "events.db")]
    with ServerProcess(args, port=port, cwd=tmp_path, env=env) as server:
        server.wait_ready()
        yield server


@pytest.fixture
def prometheus(tmp_path: Path, eventsapi: ServerProcess) -> Iterator[str]:
    assert PROMETHEUS, "prometheus is not installed (apt-get install prometheus; .ci/run does)"
    rules = tmp_path / "rules.yml"
    subprocess.run(eventsapi_command("slo", "rules", "-o", str(rules)), check=True, cwd=tmp_path)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files: [{str(rules)!r}]\n"
        "scrape_configs:\n  - job_name: eventsapi\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{eventsapi.port}']}}]\n"
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/-/ready", timeout=1).close()  # noqa: S310
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()
                assert time.monotonic() < deadline, "prometheus did not get ready"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _query(prometheus: str, expr: str) -> float:
    query = urllib.parse.urlencode({"query": expr})
    result = _get_json(f"{prometheus}/api/v1/query?{query}")["data"]["result"]
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])


def _traffic(server: ServerProcess, stop: threading.Event) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        while not stop.is_set():
            conn.request("GET", "/events/missing")
            response = conn.getresponse()
            response.read()
            assert response.status in (404, 503)
            time.sleep(0.002)  # ~300 requests a second: bounded
    finally:
        conn.close()


def test_prometheus_and_get_slo_agree(eventsapi: ServerProcess, prometheus: str) -> None:
    stop = threading.Event()
    clients = [threading.Thread(target=_traffic, args=(eventsapi, stop)) for _ in range(2)]
    for client in clients:
        client.start()
    try:
        # Traffic through one whole minute, and then until Prometheus holds the latest.
        started = datetime.now(UTC)
        time.sleep(120 - started.second + 2)
    finally:
        stop.set()
        for client in clients:
            client.join()
    time.sleep(8)  # every worker has flushed to the database (5 s) and been scraped (1 s)

    status = _get_json(f"http://127.0.0.1:{eventsapi.port}/slo")
    ours = next(s for s in status["slos"] if s["name"] == "availability")
    assert ours["requests"]["total"] > 10_000, ours  # enough for the comparison to mean it
    slo = 'sloth_slo="availability"'
    theirs_sli = 1 - _query(prometheus, f"slo:sli_error:ratio_rate30d{{{slo}}}")
    assert theirs_sli == pytest.approx(ours["sli"], rel=TOLERANCE)
    assert ours["sli"] == pytest.approx(0.95, rel=TOLERANCE)
    for window in ("5m", "30m", "1h"):
        ratio = _query(prometheus, f"slo:sli_error:ratio_rate{window}{{{slo}}}")
        theirs = ratio / 0.001
        assert theirs == pytest.approx(ours["burn_rates"][window], rel=TOLERANCE), window
    # And both page: a burn rate of 50 is over every threshold of table 5-8.
    alerts = _get_json(f"{prometheus}/api/v1/alerts")["data"]["alerts"]
    assert {a["labels"].get("sloth_slo") for a in alerts if a["state"] == "firing"} >= {
        "availability"
    }
    assert any(a["firing"] for a in ours["alerts"])
