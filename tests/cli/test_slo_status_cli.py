"""``eventsapi slo status``: the numbers GET /slo gives, read from the database."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from eventsapi.cli import main, slo_status
from tests.cli.test_slo_cli import database  # noqa: F401 - the October fixture

# At 13:00 on 10 October, the last hour holds 60 minutes of 1000 GET /events/{id} requests,
# 200 failing (all in the first 10 minutes); the 30-day window adds the row of
# 30 September 23:59 (50 requests, all failing). See tests/cli/test_slo_cli.october_rows.
NOW = datetime(2026, 10, 10, 13, 0, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slo_status, "system_clock", lambda: NOW)


def test_status_as_json_has_the_hand_computed_numbers(
    runner: CliRunner,
    database: Path,  # noqa: F811
) -> None:
    result = runner.invoke(main, ["slo", "status", "--database", str(database), "--format", "json"])

    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["evaluated_at"] == "2026-10-10T13:00:00Z"
    availability = next(s for s in status["slos"] if s["name"] == "availability")
    assert availability["requests"] == {"total": 60_050, "bad": 250}
    assert availability["sli"] == pytest.approx(59_800 / 60_050)
    rates = availability["burn_rates"]
    assert rates["5m"] == 0  # 12:55 to 12:59: no failure
    assert rates["1h"] == pytest.approx(200 / 60_000 / 0.001)  # 3.33
    assert rates["3d"] == pytest.approx(200 / 60_000 / 0.001)  # 30 September is older
    firing = {a["name"] for a in availability["alerts"] if a["firing"]}
    # 3.33 reaches the tickets' 3 and 1 in both their windows, not the pages' 14.4 and 6.
    assert firing == {"ticket-fast", "ticket-slow"}


def test_status_table_reads_well(runner: CliRunner, database: Path) -> None:  # noqa: F811
    result = runner.invoke(main, ["slo", "status", "--database", str(database)])

    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.output  # no colours off a terminal
    lines = result.output.splitlines()
    assert lines[0] == "SLOs at 2026-10-10 13:00 UTC (completed minutes)"
    assert "availability  99.9 % available over 30d" in lines
    assert "  SLI            99.584 %  (250 bad of 60050 requests)" in lines
    assert any(line.startswith("  ticket-fast    FIRING  ticket") for line in lines)
    assert any(line.startswith("  page-fast      ok  page") for line in lines)


def test_status_of_a_missing_database_says_so(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["slo", "status", "--database", str(tmp_path / "none.db")])
    assert result.exit_code == 1
    assert "There is no database at" in result.output


def test_rules_pass_promtool_for_the_slo_file_in_effect(runner: CliRunner, tmp_path: Path) -> None:
    slo_file = tmp_path / "slo.yaml"
    slo_file.write_text(
        "version: 1\nslos:\n"
        "  - {name: reads, kind: latency, target: 0.95, threshold_ms: 100,\n"
        "     routes: [{route: '/events/{id}', methods: [GET]}]}\n"
    )
    out = tmp_path / "rules.yml"
    result = runner.invoke(
        main, ["slo", "rules", "--slo-file", str(slo_file), "-o", str(out), "--selector", 'job="e"']
    )

    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "sloth_slo: reads" in text or "sloth_slo: 'reads'" in text
    assert 'le="0.1"' in text
    assert 'job="e"' in text
    checked = subprocess.run(
        ["promtool", "check", "rules", str(out)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_rules_for_kubernetes_are_a_prometheus_rule(runner: CliRunner) -> None:
    result = runner.invoke(
        main,
        ["slo", "rules", "--kubernetes", "--namespace", "prod", "--label", "release=prometheus"],
    )

    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load(result.output)
    assert manifest["apiVersion"] == "monitoring.coreos.com/v1"
    assert manifest["kind"] == "PrometheusRule"
    assert manifest["metadata"]["namespace"] == "prod"
    assert manifest["metadata"]["labels"]["release"] == "prometheus"
    groups = {group["name"] for group in manifest["spec"]["groups"]}
    assert groups == {"slo-eventsapi-availability", "slo-eventsapi-latency"}


def test_rules_refuse_a_label_without_a_value(runner: CliRunner) -> None:
    result = runner.invoke(main, ["slo", "rules", "--kubernetes", "--label", "release"])
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.output
