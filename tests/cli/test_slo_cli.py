"""``eventsapi slo`` and ``eventsapi sla``, end to end through the command line."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from eventsapi.cli import main
from eventsapi.cli import slo as slo_cli
from eventsapi.domain.sli import LATENCY_BOUNDS_MS, SLIRow
from eventsapi.slo.config import default_config, dump_slo_config, parse_slo_config
from eventsapi.storage.sqlite import SQLiteStore

NOW = datetime(2026, 11, 27, 6, 30, tzinfo=UTC)
MIN = timedelta(minutes=1)

FOREIGN = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: web}
spec:
  service: web
  indicator:
    metadata: {name: web-ok}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: 'sum(http_requests{code="200"})'}}}
        total: {metricSource: {type: Prometheus, spec: {query: sum(http_requests)}}}
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""


def run(runner: CliRunner, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(main, list(args), input=stdin)


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slo_cli, "system_clock", lambda: NOW)


# --- slo init / check ---------------------------------------------------------------------


def test_init_writes_the_defaults_and_will_not_overwrite(runner: CliRunner) -> None:
    result = run(runner, "slo", "init")
    assert result.exit_code == 0, result.output
    written = Path("slo.yaml").read_text()
    assert written == dump_slo_config(default_config())
    assert parse_slo_config(written, "slo.yaml") == default_config()

    Path("slo.yaml").write_text("# mine\n")
    again = run(runner, "slo", "init")
    assert again.exit_code == 1
    assert "slo.yaml exists already; --force replaces it" in again.output
    assert Path("slo.yaml").read_text() == "# mine\n"

    forced = run(runner, "slo", "init", "--force")
    assert forced.exit_code == 0, forced.output
    assert Path("slo.yaml").read_text() == written


def test_init_writes_where_it_is_told(runner: CliRunner) -> None:
    result = run(runner, "slo", "init", "custom.yaml")
    assert result.exit_code == 0, result.output
    assert Path("custom.yaml").exists()
    assert not Path("slo.yaml").exists()


def test_check_summarizes_a_valid_file(runner: CliRunner) -> None:
    run(runner, "slo", "init")
    result = run(runner, "slo", "check", "slo.yaml")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "slo.yaml: valid."
    assert "SLOs (2):" in lines
    assert any(
        "availability" in line and "99.9 % available over 30d" in line and "0:43:12" in line
        for line in lines
    )
    assert any("latency" in line and "99 % within 300 ms" in line for line in lines)
    assert any(line.startswith("Alerts: 4 rules (page-fast") for line in lines)
    assert any("availability per month, 99.9 %; credits <99.9 %: 10 %" in line for line in lines)


def test_check_lists_every_problem_and_fails(runner: CliRunner) -> None:
    text = dump_slo_config(default_config()).replace("threshold_ms: 300", "threshold_ms: 301")
    Path("slo.yaml").write_text(text.replace("window: 30d", "window: 30 days", 1))
    result = run(runner, "slo", "check", "slo.yaml")
    assert result.exit_code == 1
    assert "slo.yaml is not a valid SLO file:" in result.output
    assert "slos[0].window:" in result.output
    assert "slos[1].threshold_ms: a latency threshold is one of" in result.output


def test_check_without_a_path_checks_the_file_in_effect(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    builtin = run(runner, "slo", "check")
    assert builtin.exit_code == 0, builtin.output
    assert builtin.output.startswith("the built-in SLOs (no SLO file): valid.")

    Path("mine.yaml").write_text("version: 1\nslos: []\n")
    monkeypatch.setenv("EVENTSAPI_SLO_FILE", "mine.yaml")
    configured = run(runner, "slo", "check")
    assert configured.exit_code == 0, configured.output
    assert configured.output.startswith("mine.yaml: valid.")
    assert "SLOs (0):" in configured.output


def test_check_of_a_missing_file_says_so(runner: CliRunner) -> None:
    result = run(runner, "slo", "check", "nowhere.yaml")
    assert result.exit_code == 1
    assert "Cannot read the SLO file nowhere.yaml" in result.output


# --- slo export / import ------------------------------------------------------------------


def test_export_needs_the_format_named(runner: CliRunner) -> None:
    result = run(runner, "slo", "export")
    assert result.exit_code == 2
    assert "--openslo" in result.output


def test_export_and_import_round_trip(runner: CliRunner) -> None:
    exported = run(runner, "slo", "export", "--openslo")
    assert exported.exit_code == 0, exported.output
    assert "apiVersion: openslo/v1" in exported.output
    assert 'sum(eventsapi_http_requests_total{code!~"5.."})' in exported.output

    assert run(runner, "slo", "export", "--openslo", "-o", "openslo.yaml").exit_code == 0
    assert Path("openslo.yaml").read_text() == exported.output
    imported = run(runner, "slo", "import", "openslo.yaml", "-o", "slo.yaml")
    assert imported.exit_code == 0, imported.output
    config = parse_slo_config(Path("slo.yaml").read_text(), "slo.yaml")
    assert config.slos == default_config().slos
    assert config.descriptions == default_config().descriptions
    assert config.contracts == ()

    refused = run(runner, "slo", "import", "openslo.yaml", "-o", "slo.yaml")
    assert refused.exit_code == 1
    assert "slo.yaml exists already" in refused.output


def test_export_uses_the_slo_file_and_the_error_statuses_settings(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("slo.yaml").write_text(
        "version: 1\nslos:\n  - {name: api, kind: availability, target: 0.95}\n"
    )
    monkeypatch.setenv("EVENTSAPI_SLI_ERROR_STATUSES", "429,500-599")
    result = run(runner, "slo", "export", "--openslo", "--slo-file", "slo.yaml")
    assert result.exit_code == 0, result.output
    assert "name: api" in result.output
    assert 'code!~"429|5.."' in result.output
    assert "name: availability" not in result.output


def test_import_reads_standard_input_and_writes_standard_output(runner: CliRunner) -> None:
    exported = run(runner, "slo", "export", "--openslo").output
    result = run(runner, "slo", "import", "-", stdin=exported)
    assert result.exit_code == 0, result.output
    assert "Imported 2 SLOs from standard input." in result.output
    assert "version: 1" in result.output


def test_import_refuses_a_foreign_slo_naming_it(runner: CliRunner) -> None:
    Path("foreign.yaml").write_text(FOREIGN)
    result = run(runner, "slo", "import", "foreign.yaml", "-o", "slo.yaml")
    assert result.exit_code == 1
    assert "foreign.yaml: document 1 (SLO 'web') is not an SLO eventsapi can measure" in (
        result.output
    )
    assert not Path("slo.yaml").exists()


# --- sla report ---------------------------------------------------------------------------


def row(minute: datetime, route: str, method: str, total: int, errors: int, slow: int) -> SLIRow:
    """``slow`` of the ``total`` requests took over 300 ms (the rest 100 ms at most)."""
    fast_until = LATENCY_BOUNDS_MS.index(100)
    slow_from = LATENCY_BOUNDS_MS.index(400)
    within = tuple(
        0 if i < fast_until else total - slow if i < slow_from else total
        for i in range(len(LATENCY_BOUNDS_MS))
    )
    return SLIRow(minute, route, method, total, errors, within)


def october_rows() -> list[SLIRow]:
    """October 2026 on two routes (and a row each side of the month, which must not count).

    - GET /events/{id}: 1000 requests a minute for 60 minutes from 10-10 12:00, 20 of them
      failing in the 10 minutes from 12:00 (bad minutes), and 100 slow in the first 5.
    - POST /events: 100 requests in one minute, all failing, on 10-20 08:00.
    """
    rows = []
    start = datetime(2026, 10, 10, 12, 0, tzinfo=UTC)
    for i in range(60):
        rows.append(row(start + i * MIN, "/events/{id}", "GET", 1000, 20 if i < 10 else 0,
                        100 if i < 5 else 0))  # fmt: skip
    rows.append(row(datetime(2026, 10, 20, 8, 0, tzinfo=UTC), "/events", "POST", 100, 100, 0))
    rows.append(row(datetime(2026, 9, 30, 23, 59, tzinfo=UTC), "/events", "GET", 50, 50, 50))
    rows.append(row(datetime(2026, 11, 1, 0, 0, tzinfo=UTC), "/events", "GET", 50, 50, 50))
    return rows


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "events.db"

    async def record() -> None:
        store = SQLiteStore(path)
        await store.open()
        try:
            await store.record_sli(october_rows())
        finally:
            await store.close()

    asyncio.run(record())
    return path


def report(runner: CliRunner, database: Path, *args: str) -> Result:
    return run(runner, "sla", "report", "--database", str(database), *args)


def test_the_report_of_a_month_by_hand(runner: CliRunner, database: Path) -> None:
    result = report(runner, database, "--period", "2026-10", "--format", "json")
    assert result.exit_code == 0, result.output
    availability, latency = json.loads(result.output)
    # Every route: 60 x 1000 + 100 = 60,100 requests; 10 x 20 + 100 = 300 failed.
    assert availability["slo"] == "availability"
    assert availability["period"] == "2026-10"
    assert availability["complete"] is True
    assert availability["total_requests"] == 60_100
    assert availability["bad_requests"] == 300
    # 59,800 / 60,100 = 0.99500...: under 99.9 % (10 %) but not under 99 % (25 %).
    assert availability["compliance"] == pytest.approx(59_800 / 60_100)
    assert availability["met"] is False
    # 2 % errors in each of the 10 minutes, 100 % in the POST minute: 11 bad minutes.
    assert availability["bad_minutes"] == 11
    assert availability["budget_used"] == pytest.approx(300 / (0.001 * 60_100))
    assert availability["credit_percent"] == 10
    # Latency: 5 x 100 requests over 300 ms of 60,100: 99.17 %, over the 99 % target.
    assert latency["slo"] == "latency"
    assert latency["bad_requests"] == 500
    assert latency["bad_minutes"] == 5  # 10 % slow in each, over the 1 % allowed
    assert latency["met"] is True
    assert latency["credit_percent"] == 0


def test_the_report_measures_the_slo_s_routes(runner: CliRunner, database: Path) -> None:
    Path("slo.yaml").write_text(
        """\
version: 1
slos:
  - name: reads
    kind: availability
    target: 0.99
    routes: [{route: "/events/{id}", methods: [GET]}]
sla:
  - {slo: reads, period: month, target: 0.99, credits: [{below: 0.99, credit: 10}]}
"""
    )
    result = report(
        runner, database, "--period", "2026-10", "--slo-file", "slo.yaml", "--format", "csv"
    )
    assert result.exit_code == 0, result.output
    (only,) = csv.DictReader(io.StringIO(result.output))
    # GET /events/{id} alone: 60,000 requests, 200 failed: 99.67 %, met.
    assert (only["slo"], only["total_requests"], only["bad_requests"]) == ("reads", "60000", "200")
    assert only["met"] == "true"
    assert only["credit_percent"] == "0.0"


def test_the_table_and_one_slo(runner: CliRunner, database: Path) -> None:
    result = report(runner, database, "--period", "2026-10", "--slo", "availability")
    assert result.exit_code == 0, result.output
    header, line = result.output.splitlines()
    assert header.split()[:2] == ["SLO", "Period"]
    assert line.split()[:5] == ["availability", "2026-10", "complete", "60100", "300"]
    assert "99.5008 %" in line
    assert line.endswith("10 %")


def test_the_month_in_progress_is_reported_to_date(runner: CliRunner, database: Path) -> None:
    result = report(runner, database, "--period", "2026-11", "--format", "json")
    assert result.exit_code == 0, result.output
    availability, _ = json.loads(result.output)
    assert availability["complete"] is False
    assert availability["total_requests"] == 50


def test_the_report_refuses_what_it_cannot_report(runner: CliRunner, database: Path) -> None:
    bad_period = report(runner, database, "--period", "2026-13")
    assert bad_period.exit_code == 2
    assert "no such month" in bad_period.output

    no_quarterly = report(runner, database, "--period", "2026-Q4")
    assert no_quarterly.exit_code == 1
    assert "has no SLA per quarter (SLAs: availability per month, latency per month)" in (
        no_quarterly.output
    )

    unknown = report(runner, database, "--period", "2026-10", "--slo", "speed")
    assert unknown.exit_code == 1
    assert "no SLA for 'speed' (SLAs: availability, latency)" in unknown.output

    missing = report(runner, database.with_name("none.db"), "--period", "2026-10")
    assert missing.exit_code == 1
    assert "There is no database at" in missing.output
    assert not database.with_name("none.db").exists()
