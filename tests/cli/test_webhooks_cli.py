"""``eventsapi webhooks``: the operator adds, lists and removes endpoints and reads their
deliveries, with the service's own rules (the SSRF guard too)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from eventsapi.cli import main
from tests.support import postgres_schema


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path, runner: CliRunner) -> Iterator[str]:
    if request.param == "postgres":
        with postgres_schema() as url:
            assert runner.invoke(main, ["db", "migrate", "--database", url]).exit_code == 0
            yield url
    else:
        path = str(tmp_path / "events.db")
        assert runner.invoke(main, ["db", "migrate", "--database", path]).exit_code == 0
        yield path


def webhooks(runner: CliRunner, database: str, *args: str, private: bool = True) -> Result:
    env = {"EVENTSAPI_WEBHOOK_ALLOW_PRIVATE": "true"} if private else {}
    return runner.invoke(main, ["webhooks", *args, "--database", database], env=env)


def test_add_prints_the_secret_once_and_list_never_shows_it(
    runner: CliRunner, database: str
) -> None:
    added = webhooks(runner, database, "add", "http://127.0.0.1:9/hook", "-t", "event.created")
    assert added.exit_code == 0, added.output
    secret = added.output.split("Signing secret")[1].split(": ")[1].strip()
    assert secret.startswith("whsec_")

    listed = webhooks(runner, database, "list", "--format", "json")
    table = webhooks(runner, database, "list")

    (endpoint,) = json.loads(listed.output)
    assert endpoint["url"] == "http://127.0.0.1:9/hook"
    assert endpoint["types"] == ["event.created"]
    assert endpoint["enabled"] is True
    for shown in (listed.output, table.output):
        assert secret.removeprefix("whsec_") not in shown
    assert endpoint["id"] in table.output
    deliveries = webhooks(runner, database, "deliveries", endpoint["id"], "--format", "json")
    assert deliveries.exit_code == 0, deliveries.output
    assert json.loads(deliveries.output) == []

    removed = webhooks(runner, database, "remove", endpoint["id"])
    assert removed.exit_code == 0, removed.output
    assert json.loads(webhooks(runner, database, "list", "--format", "json").output) == []
    again = webhooks(runner, database, "remove", endpoint["id"])
    assert again.exit_code == 1
    assert "No webhook" in again.output


def test_add_refuses_what_the_api_refuses(runner: CliRunner, database: str) -> None:
    loopback = webhooks(runner, database, "add", "http://localhost:9/hook", private=False)
    unknown = webhooks(runner, database, "add", "http://127.0.0.1:9/hook", "-t", "event.moved")

    assert loopback.exit_code == 1
    assert "loopback" in loopback.output
    assert unknown.exit_code == 1
    assert "types.0: unknown type" in unknown.output
    assert json.loads(webhooks(runner, database, "list", "--format", "json").output) == []
