"""A real Prometheus scrapes three real eventsapi replicas and evaluates the generated rules.

Three replicas share one PostgreSQL database (a schema of its own), as in production; one of
them runs two worker processes, so its /metrics must add up both. Each runs a drill that
fails exactly 1 request in 20 per process (a burn rate of 50 against the 99.9 % target).
Prometheus scrapes all three every second and evaluates ``eventsapi slo rules`` every
second; traffic goes to every replica. Once a minute has completed with traffic:

- the availability and the burn rates Prometheus computes (its rules add up every scraped
  instance) must agree with ``GET /slo`` of each replica (which adds up every replica's
  counts in the database) within 0.5 %, relative: ``|ours - theirs| <= 0.5 % x theirs``;
- every query of the Grafana dashboard (``deploy/grafana/eventsapi-slo.json``), its
  variables filled in from Prometheus as Grafana would, returns data.

Why the two agree although their windows differ (eventsapi counts completed minutes,
Prometheus a sliding range): the drill's failures are evenly spread, so every window that
holds enough traffic has the same error ratio, within a request or two.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from eventsapi.slo.config import format_duration
from eventsapi.slo.windows import BURN_RATE_WINDOWS
from tests.server_process import ServerProcess, eventsapi_command, free_port
from tests.slo import grafana
from tests.support import postgres_schema

pytestmark = pytest.mark.slow

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
TOLERANCE = 0.005
REPLICAS = 3


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own loopback
        return json.load(response)


@contextlib.contextmanager
def _replicas(folder: Path, database: str) -> Iterator[list[ServerProcess]]:
    with contextlib.ExitStack() as stack:
        servers = []
        for n in range(REPLICAS):
            port = free_port()
            # Rate limits off: the traffic (hundreds of reads a second from one address) is
            # the load measured, far over the default read limit, which would answer 429.
            env = {
                "EVENTSAPI_DRILL_ERROR_RATIO": "0.05",
                "EVENTSAPI_WORKERS": "2" if n == 0 else "1",
                "EVENTSAPI_RATE_LIMITS": "",
            }
            args = ["serve", "--port", str(port), "--database", database]
            args += ["--log-level", "warning"]
            server = ServerProcess(args, port=port, cwd=folder, env=env, log_name=f"replica{n}.log")
            servers.append(stack.enter_context(server))
        for server in servers:
            server.wait_ready()
        yield servers


@contextlib.contextmanager
def _prometheus(folder: Path, targets: list[int]) -> Iterator[str]:
    assert PROMETHEUS, "prometheus is not installed (apt-get install prometheus; .ci/run does)"
    assert PROMTOOL, "promtool is not installed (apt-get install prometheus; .ci/run does)"
    rules = folder / "rules.yml"
    subprocess.run(eventsapi_command("slo", "rules", "-o", str(rules)), check=True, cwd=folder)
    subprocess.run([PROMTOOL, "check", "rules", str(rules)], check=True, capture_output=True)
    config = folder / "prometheus.yml"
    addresses = ", ".join(f"'127.0.0.1:{port}'" for port in targets)
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files: [{str(rules)!r}]\n"
        "scrape_configs:\n  - job_name: eventsapi\n"
        f"    static_configs: [{{targets: [{addresses}]}}]\n"
    )
    port = free_port()
    with (folder / "prometheus.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'tsdb'}",
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
                    assert proc.poll() is None, (folder / "prometheus.log").read_text()
                    assert time.monotonic() < deadline, "prometheus did not get ready"
                    time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _traffic(server: ServerProcess, stop: threading.Event) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        while not stop.is_set():
            conn.request("GET", "/events/missing")
            response = conn.getresponse()
            response.read()
            assert response.status in (404, 503)
            time.sleep(0.002)  # a few hundred requests a second per replica: bounded
    finally:
        conn.close()


@dataclass
class Scraped:
    """Replicas that have served traffic, and a Prometheus that holds all of it."""

    replicas: list[ServerProcess]
    prometheus: str

    def query(self, expr: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"query": expr})
        body = _get_json(f"{self.prometheus}/api/v1/query?{query}")
        assert body["status"] == "success", (expr, body)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, expr: str) -> float:
        result = self.query(expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])

    def label_values(self, label: str, match: str) -> list[str]:
        query = urllib.parse.urlencode({"match[]": match})
        body = _get_json(f"{self.prometheus}/api/v1/label/{label}/values?{query}")
        values: list[str] = body["data"]
        return values


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    folder = tmp_path_factory.mktemp("replicas")
    with (
        postgres_schema() as database,
        _replicas(folder, database) as replicas,
        _prometheus(folder, [server.port for server in replicas]) as prometheus,
    ):
        stop = threading.Event()
        clients = [threading.Thread(target=_traffic, args=(s, stop)) for s in replicas]
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
        yield Scraped(replicas, prometheus)


def test_prometheus_and_get_slo_of_every_replica_agree(scraped: Scraped) -> None:
    slo = 'sloth_slo="availability"'
    theirs_sli = 1 - scraped.value(f"slo:sli_error:ratio_rate30d{{{slo}}}")
    theirs_rates = {
        format_duration(window): scraped.value(
            f"slo:sli_error:ratio_rate{format_duration(window)}{{{slo}}}"
        )
        / 0.001
        for window in BURN_RATE_WINDOWS
    }
    # Prometheus saw every replica: each one's traffic is in the rules' sums.
    by_instance = scraped.query("sum by (instance) (eventsapi_http_requests_total)")
    assert len(by_instance) == REPLICAS, by_instance
    reports = []
    for server in scraped.replicas:
        status = _get_json(f"http://127.0.0.1:{server.port}/slo")
        ours = next(s for s in status["slos"] if s["name"] == "availability")
        reports.append(ours)
        # Enough for the comparison to mean it, and more than any one replica served.
        assert ours["requests"]["total"] > 10_000, ours
        assert ours["requests"]["total"] > max(float(r["value"][1]) for r in by_instance)
        assert theirs_sli == pytest.approx(ours["sli"], rel=TOLERANCE)
        assert ours["sli"] == pytest.approx(0.95, rel=TOLERANCE)
        assert set(ours["burn_rates"]) == set(theirs_rates)
        for window, theirs in theirs_rates.items():
            assert theirs == pytest.approx(ours["burn_rates"][window], rel=TOLERANCE), window
        assert any(alert["firing"] for alert in ours["alerts"])
    # Every replica reads the same counts from the database.
    assert all(report == reports[0] for report in reports), reports
    # And both page: a burn rate of 50 is over every threshold of table 5-8.
    alerts = _get_json(f"{scraped.prometheus}/api/v1/alerts")["data"]["alerts"]
    assert {a["labels"].get("sloth_slo") for a in alerts if a["state"] == "firing"} >= {
        "availability"
    }


def test_every_dashboard_query_returns_data(scraped: Scraped) -> None:
    dashboard = grafana.load()
    values: dict[str, list[str]] = {}
    for variable in grafana.variables(dashboard):
        selector, label = grafana.label_values(variable)
        found = scraped.label_values(label, grafana.fill(selector, values))
        assert found, variable["name"]
        # A multi-value variable starts at "All"; the others at their first value.
        values[variable["name"]] = found if variable["multi"] else found[:1]
    assert values == {
        "service": ["eventsapi"],
        "slo": ["availability", "latency"],
        "job": ["eventsapi"],
    }
    empty = []
    for panel, target in grafana.targets(dashboard):
        expr = grafana.fill(target["expr"], values)
        if not scraped.query(expr):
            empty.append((panel["title"], target["refId"], expr))
    assert not empty, empty
