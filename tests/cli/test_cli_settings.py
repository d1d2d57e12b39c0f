"""Where settings come from: command line > EVENTSAPI_* > --config file > default.

Seen as a user sees it, through ``eventsapi settings --json``, which takes the
same options as ``serve`` and resolves them the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from eventsapi.cli import main
from eventsapi.settings_info import schema


def effective(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = runner.invoke(main, ["settings", "--json", *args], env=env)
    assert result.exit_code == 0, result.output
    settings: dict[str, Any] = json.loads(result.output)
    return settings


def write_config(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_defaults_are_the_schema_defaults(runner: CliRunner) -> None:
    assert effective(runner) == {info.name: info.default for info in schema()}


def test_the_documented_defaults(runner: CliRunner) -> None:
    settings = effective(runner)
    assert settings["host"] == "127.0.0.1"
    assert settings["port"] == 8001
    assert settings["database"] == "eventsapi.db"
    assert settings["workers"] == 1


def test_precedence_cli_over_env_over_file_over_default(runner: CliRunner, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "eventsapi.toml",
        'port = 9001\nhost = "127.0.0.2"\ndatabase = "from-file.db"\npage_size = 11\n',
    )
    env = {"EVENTSAPI_PORT": "9002", "EVENTSAPI_HOST": "127.0.0.3"}
    assert effective(runner, "--config", config)["port"] == 9001
    both = effective(runner, "--config", config, env=env)
    assert (both["port"], both["host"], both["database"]) == (9002, "127.0.0.3", "from-file.db")
    all_three = effective(runner, "--config", config, "--port", "9003", env=env)
    assert all_three["port"] == 9003  # command line
    assert all_three["host"] == "127.0.0.3"  # environment
    assert all_three["database"] == "from-file.db"  # file
    assert all_three["page_size"] == 11  # file, a setting with no option
    assert all_three["workers"] == 1  # default


def test_config_file_from_the_environment(runner: CliRunner, tmp_path: Path) -> None:
    config = write_config(tmp_path / "settings.toml", "workers = 3\n")
    assert effective(runner, env={"EVENTSAPI_CONFIG": config})["workers"] == 3
    other = write_config(tmp_path / "other.toml", "workers = 4\n")
    assert effective(runner, "--config", other, env={"EVENTSAPI_CONFIG": config})["workers"] == 4


def test_environment_values_are_converted_to_the_setting_types(runner: CliRunner) -> None:
    env = {
        "EVENTSAPI_WORKERS": "2",
        "EVENTSAPI_ACCESS_LOG": "true",
        "EVENTSAPI_SHUTDOWN_TIMEOUT": "2.5",
        "EVENTSAPI_MAX_PAGE_SIZE": "100",
        "EVENTSAPI_LOG_LEVEL": "debug",
    }
    settings = effective(runner, env=env)
    assert settings["workers"] == 2
    assert settings["access_log"] is True
    assert settings["shutdown_timeout"] == 2.5
    assert settings["max_page_size"] == 100
    assert settings["log_level"] == "debug"


def env_value(value: Any) -> str:
    """A value as an environment variable holds it (lists: comma-separated)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def test_every_setting_can_be_set_by_environment_and_file(
    runner: CliRunner, tmp_path: Path
) -> None:
    values: dict[str, Any] = {
        "database": "x.db",
        "pool_min_size": 2,
        "pool_max_size": 20,
        "pool_timeout": 2.5,
        "statement_timeout": 0.0,
        "query_timeout_ms": 750,
        "max_exact_count": 5000,
        "max_listings_per_client": 3,
        "max_listings": 4,
        "host": "::1",
        "port": 1234,
        "public_url": "https://events.example.com",
        "workers": 3,
        "max_body_bytes": 2048,
        "page_size": 7,
        "max_page_size": 70,
        "require_preconditions": True,
        "idempotency_key_hours": 48,
        "log_level": "error",
        "log_format": "json",
        "access_log": True,
        "shutdown_timeout": 1.5,
        "cors_origins": ["https://app.example", "http://localhost:3000"],
        "cors_credentials": True,
        "cors_max_age": 60,
        "gzip_min_size": 0,
        "anonymous_writes": "off",
        "session_idle_minutes": 5,
        "session_hours": 8,
        "request_header_timeout": 4.5,
        "request_body_timeout": 12.5,
        "max_requests_per_client": 8,
        "max_connections": 2000,
        "rate_limits": ["read=10/1", "auth=5/60"],
        "rate_limit_redis": "redis://127.0.0.1:6379/0",
        "rate_limit_local": True,
        "trusted_proxies": ["127.0.0.1", "10.0.0.0/8", "fd00::/8"],
        "password_hashing_threads": 2,
        "password_hashing_queue": 8,
        "password_hashing_per_client": 3,
        "slo_file": "slo.yaml",
        "sli_error_statuses": ["500-599", "429"],
        "sli_retention_days": 400,
        "metrics": False,
        "drill_error_ratio": 0.25,
        "drill_slow_ratio": 0.5,
        "drill_slow_ms": 250,
        "change_retention_days": 7,
        "trash_retention_days": 14,
        "stream_limit": 50,
        "stream_limit_per_client": 2,
        "stream_heartbeat_seconds": 5,
        "webhook_allow_private": True,
    }
    assert set(values) == {info.name for info in schema()}, "a new setting needs a value here"
    toml = "".join(f"{name} = {json.dumps(value)}\n" for name, value in values.items())
    assert effective(runner, "--config", write_config(tmp_path / "all.toml", toml)) == values
    env = {info.env_var: env_value(values[info.name]) for info in schema()}
    assert effective(runner, env=env) == values


def test_text_output_marks_changed_settings(runner: CliRunner) -> None:
    result = runner.invoke(main, ["settings", "--port", "9000"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert "9000" in lines["port"]
    assert "(changed)" in lines["port"]
    assert "(changed)" not in lines["host"]


@pytest.mark.parametrize(
    ("args", "env", "config", "message"),
    [
        (["--port", "0"], {}, None, "port"),
        (["--port", "65536"], {}, None, "port"),
        (["--workers", "0"], {}, None, "workers"),
        (
            [],
            {"EVENTSAPI_POOL_MIN_SIZE": "5", "EVENTSAPI_POOL_MAX_SIZE": "4"},
            None,
            "pool_max_size",
        ),
        ([], {"EVENTSAPI_POOL_TIMEOUT": "0"}, None, "pool_timeout"),
        ([], {"EVENTSAPI_PORT": "eighty"}, None, "port"),
        ([], {}, "port = [\n", "not valid TOML"),
        ([], {}, "bogus = 1\n", "bogus"),
        ([], {}, b'port = "\xff"\n', "not valid TOML"),
        (["--config", "missing.toml"], {}, None, "Cannot read the settings file"),
        ([], {"EVENTSAPI_CONFIG": "missing.toml"}, None, "Cannot read the settings file"),
        (["--log-level", "loud"], {}, None, "--log-level"),
    ],
    ids=[
        "port-0",
        "port-too-big",
        "workers-0",
        "pool-max-below-min",
        "pool-timeout-0",
        "env-not-a-number",
        "bad-toml",
        "unknown-key",
        "not-utf8",
        "missing-file",
        "missing-file-from-env",
        "bad-choice",
    ],
)
def test_bad_settings_are_a_usage_error(
    runner: CliRunner,
    tmp_path: Path,
    args: list[str],
    env: dict[str, str],
    config: str | bytes | None,
    message: str,
) -> None:
    if config is not None:
        path = tmp_path / "bad.toml"
        if isinstance(config, bytes):
            path.write_bytes(config)
        else:
            path.write_text(config, encoding="utf-8")
        args = [*args, "--config", str(path)]
    result = runner.invoke(main, ["settings", *args], env=env)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert message in errors[0]
    assert result.output.splitlines()[-1] == errors[0]
