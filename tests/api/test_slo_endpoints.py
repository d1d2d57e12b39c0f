"""``GET /slo``, ``GET /sla`` and ``GET /metrics`` over the app, on every backend."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import jsonschema_rs
import msgspec
import pytest
from starlette.testclient import TestClient

from eventsapi.app import create_app
from eventsapi.domain.sli import LATENCY_BOUNDS_MS, SLIRow
from eventsapi.settings import Settings
from eventsapi.slo.service import SLOService
from eventsapi.storage import Backend
from tests.support import FakeClock


def _slo(client: TestClient) -> SLOService:
    service: SLOService = client.app.state.slo  # type: ignore[attr-defined]
    return service


def _next_minute(client: TestClient, clock: FakeClock) -> None:
    """Let the minute end and every count reach the database, as the loop would."""
    clock.advance(60)
    client.portal.call(_slo(client).flush)  # type: ignore[union-attr]


def _metric_lines(client: TestClient) -> list[str]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return [line for line in response.text.splitlines() if not line.startswith("#")]


def test_metrics_count_requests_by_route_template_method_and_code(client: TestClient) -> None:
    client.put("/events/a1", json={"title": "A"})
    client.get("/events/a1")
    client.get("/events/a1")
    client.get("/events/nope")
    client.get("/nowhere/at/all")
    client.get("/healthz")
    client.get("/readyz")

    lines = _metric_lines(client)
    requests = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines}

    def count(route: str, method: str, code: int) -> float:
        key = f'eventsapi_http_requests_total{{code="{code}",method="{method}",route="{route}"}}'
        return requests.get(key, 0.0)

    assert count("/events/{id}", "PUT", 201) == 1
    assert count("/events/{id}", "GET", 200) == 2
    assert count("/events/{id}", "GET", 404) == 1
    assert count("(unmatched)", "GET", 404) == 1  # one label for every unknown path
    assert not any("/nowhere" in line or "/events/a1" in line for line in lines)
    assert not any('route="/healthz"' in line or 'route="/readyz"' in line for line in lines)
    bucket = "eventsapi_http_request_duration_seconds_bucket"
    assert requests[bucket + '{le="+Inf",method="GET",route="/events/{id}"}'] == 3


def test_scrapes_and_probes_count_neither_in_the_metrics_nor_in_the_slos(
    client: TestClient, clock: FakeClock
) -> None:
    """A scraper or a probe calling every few seconds would swamp the SLIs with its own
    requests, which say nothing of the service's users."""
    for _ in range(5):
        client.get("/metrics")
        client.get("/healthz")
        client.get("/readyz")
    client.get("/events/nope")

    lines = _metric_lines(client)
    _next_minute(client, clock)
    status = client.get("/slo").json()

    assert not any(
        'route="/metrics"' in line or 'route="/healthz"' in line or 'route="/readyz"' in line
        for line in lines
    )
    for slo in status["slos"]:
        assert slo["requests"]["total"] == 1, slo["name"]  # the GET /events/nope alone


def test_metrics_can_be_turned_off(settings: Settings, store: Backend) -> None:
    app = create_app(msgspec.structs.replace(settings, metrics=False), store=store)
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 404


def test_slo_reports_the_last_completed_minutes(client: TestClient, clock: FakeClock) -> None:
    before = client.get("/slo").json()
    availability = next(s for s in before["slos"] if s["name"] == "availability")
    assert availability["sli"] is None  # no traffic: undefined, not 100 %
    assert availability["requests"] == {"total": 0, "bad": 0}
    assert before["drill"] is None

    client.app.drill = _drill(0.25)  # type: ignore[attr-defined]
    for _ in range(40):
        client.get("/events/nope")  # 404s are not failures; the drill's 503s are
    _next_minute(client, clock)
    status = client.get("/slo").json()

    availability = next(s for s in status["slos"] if s["name"] == "availability")
    # 41: the first GET /slo counts too (an API request like any other).
    assert availability["requests"] == {"total": 41, "bad": 10}
    assert availability["sli"] == pytest.approx(31 / 41)
    assert availability["burn_rates"]["5m"] == pytest.approx(10 / 41 / 0.001)
    assert availability["error_budget"]["consumed"] == pytest.approx(10 / 41 / 0.001)
    assert availability["error_budget"]["total_requests"] == pytest.approx(0.041)
    page_fast = next(a for a in availability["alerts"] if a["name"] == "page-fast")
    assert page_fast["long_requests"] == 41
    assert not page_fast["enough_traffic"]  # 40 < 100: the guard holds the page
    assert not page_fast["firing"]
    latency = next(s for s in status["slos"] if s["name"] == "latency")
    assert latency["threshold_ms"] == 300
    assert latency["requests"]["total"] == 41


def _drill(ratio: float) -> Any:
    from eventsapi.slo.drill import Drill

    return Drill(ratio, 0.0, 1000)


def _row(minute: datetime, total: int, errors: int) -> SLIRow:
    return SLIRow(minute, "/events/{id}", "GET", total, errors, (total,) * len(LATENCY_BOUNDS_MS))


def test_sla_reports_a_month_as_computed_by_hand(client: TestClient, clock: FakeClock) -> None:
    # November 2026: 100 requests in each of 3 minutes, one minute with 2 errors.
    # Compliance = 298 / 300 = 99.333 %: under 99.9 % (10 % credit), not under 99 % (25 %).
    # Bad minutes: only the one with 2 % errors (> 0.1 %). Budget: 0.1 % of 300 = 0.3
    # requests; used 2 / 0.3 = 6.67.
    start = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    rows = [_row(start, 100, 0), _row(start + timedelta(minutes=1), 100, 2)]
    rows.append(_row(start + timedelta(days=5), 100, 0))
    rows.append(_row(datetime(2026, 12, 1, tzinfo=UTC), 100, 100))  # December: not counted
    client.portal.call(_slo(client).store.record_sli, rows)  # type: ignore[union-attr]
    clock.advance((datetime(2027, 1, 5, tzinfo=UTC) - clock.now()).total_seconds())

    response = client.get("/sla", params={"period": "2026-11", "slo": "availability"})

    assert response.status_code == 200, response.text
    [report] = response.json()
    assert report["period"] == "2026-11"
    assert report["total_requests"] == 300
    assert report["bad_requests"] == 2
    assert report["compliance"] == pytest.approx(298 / 300)
    assert report["bad_minutes"] == 1
    assert report["budget_used"] == pytest.approx(2 / 0.3)
    assert report["credit_percent"] == 10
    assert report["met"] is False
    both = client.get("/sla", params={"period": "2026-11"}).json()
    assert {r["slo"] for r in both} == {"availability", "latency"}
    assert client.get("/sla", params={"period": "2026-Q4"}).json() == []  # no quarterly SLA


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"period": "2026-13"}, "period"),
        ({"period": "November"}, "period"),
        ({"period": "1999-12"}, "period"),
        ({"period": "2026-Q5"}, "period"),
        ({"month": "2026-11"}, "month"),
    ],
)
def test_sla_refuses_bad_parameters_with_a_problem(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    response = client.get("/sla", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert parameter in response.text


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_a_firing_alert_is_posted_to_the_webhook_once(
    tmp_path: Path, settings: Settings, store: Backend, clock: FakeClock, webhook: str
) -> None:
    slo_file = tmp_path / "slo.yaml"
    slo_file.write_text(
        "version: 1\nslos:\n  - {name: availability, kind: availability, target: 0.999}\n"
        f"alerting:\n  webhook: {webhook}\n"
    )
    app = create_app(
        msgspec.structs.replace(settings, slo_file=str(slo_file)), store=store, clock=clock.now
    )
    with TestClient(app) as client:
        app.drill = _drill(0.5)  # type: ignore[attr-defined]
        for _ in range(200):
            client.get("/events/nope")
        _next_minute(client, clock)
        fired = client.portal.call(_slo(client).evaluate, clock.now())  # type: ignore[union-attr]
        again = client.portal.call(_slo(client).evaluate, clock.now())  # type: ignore[union-attr]

    assert {t.rule for t in fired} == {"page-fast", "page-slow", "ticket-fast", "ticket-slow"}
    assert again == []  # the state is unchanged: nothing new to announce
    assert sorted(h["alert"] for h in _Hook.received) == sorted(t.rule for t in fired)
    hook = next(h for h in _Hook.received if h["alert"] == "page-fast")
    assert hook["service"] == "eventsapi"
    assert hook["slo"] == "availability"
    assert hook["state"] == "firing"
    assert hook["severity"] == "page"
    assert hook["long_burn_rate"] == pytest.approx(500.0)


def test_sla_of_an_slo_without_an_sla_is_404(client: TestClient) -> None:
    response = client.get("/sla", params={"slo": "nope"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "'nope'" in response.json()["detail"]


def _documented_schema(client: TestClient, path: str) -> dict[str, Any]:
    document = client.get("/openapi.json").json()
    ok = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    return {**ok["schema"], "components": document["components"]}


def test_slo_and_sla_bodies_match_their_documented_schemas(
    client: TestClient, clock: FakeClock
) -> None:
    # Schemas generated from the structs the bodies are encoded from: with traffic (the
    # drill fails half of it) and alerts in the history, the members have values.
    client.app.drill = _drill(0.5)  # type: ignore[attr-defined]
    for _ in range(200):
        client.get("/events/nope")
    _next_minute(client, clock)
    fired = client.portal.call(_slo(client).evaluate, clock.now())  # type: ignore[union-attr]
    _next_minute(client, clock)
    status = client.get("/slo").json()
    reports = client.get("/sla").json()

    assert fired
    assert status["history"]
    assert reports
    assert all(r["total_requests"] for r in reports)
    for path, body in (("/slo", status), ("/sla", reports)):
        validator = jsonschema_rs.Draft202012Validator(
            _documented_schema(client, path), validate_formats=True
        )
        assert not [error.message for error in validator.iter_errors(body)], path
