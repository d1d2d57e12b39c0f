"""Settings resolution: command line > environment > TOML file > defaults."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from eventsapi.errors import ConfigurationError
from eventsapi.settings import Settings
from eventsapi.settings_info import decode, encode, schema
from eventsapi.settings_load import load_settings


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "eventsapi.toml"
    path.write_text('port = 7000\nhost = "10.1.2.3"\nlog_level = "debug"\nworkers = 3\n')
    return path


def test_defaults() -> None:
    settings = load_settings()

    assert settings == Settings()
    assert (settings.host, settings.port, settings.database) == ("127.0.0.1", 8001, "eventsapi.db")
    assert settings.max_body_bytes == 1_048_576
    assert (settings.page_size, settings.max_page_size) == (50, 500)


def test_file_overrides_defaults(config_file: Path) -> None:
    settings = load_settings(config_file=config_file)

    assert (settings.port, settings.host, settings.log_level, settings.workers) == (
        7000,
        "10.1.2.3",
        "debug",
        3,
    )
    assert settings.database == "eventsapi.db"


def test_environment_overrides_file(config_file: Path) -> None:
    settings = load_settings(
        environ={"EVENTSAPI_PORT": "7100", "EVENTSAPI_LOG_LEVEL": "warning"},
        config_file=config_file,
    )

    assert (settings.port, settings.log_level) == (7100, "warning")
    assert (settings.host, settings.workers) == ("10.1.2.3", 3)


def test_command_line_overrides_environment_and_file(config_file: Path) -> None:
    settings = load_settings(
        cli={"port": 7200, "host": None, "workers": None},
        environ={"EVENTSAPI_PORT": "7100", "EVENTSAPI_WORKERS": "2"},
        config_file=config_file,
    )

    assert settings.port == 7200
    assert settings.workers == 2, "an unset (None) option leaves the environment in charge"
    assert settings.host == "10.1.2.3"


def test_config_file_named_by_the_environment(config_file: Path) -> None:
    settings = load_settings(environ={"EVENTSAPI_CONFIG": str(config_file)})

    assert settings.port == 7000


def test_explicit_config_file_wins_over_eventsapi_config(config_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text("port = 7300\n")

    settings = load_settings(environ={"EVENTSAPI_CONFIG": str(other)}, config_file=config_file)

    assert settings.port == 7000


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("EVENTSAPI_ACCESS_LOG", "true", True),
        ("EVENTSAPI_ACCESS_LOG", "false", False),
        ("EVENTSAPI_SHUTDOWN_TIMEOUT", "2.5", 2.5),
        ("EVENTSAPI_DATABASE", "memory:", "memory:"),
        ("EVENTSAPI_MAX_PAGE_SIZE", "1000", 1000),
    ],
)
def test_environment_values_are_converted_to_the_setting_type(
    name: str, value: str, expected: object
) -> None:
    settings = load_settings(environ={name: value})
    field = name.removeprefix("EVENTSAPI_").lower()

    assert getattr(settings, field) == expected


def test_unknown_eventsapi_variables_are_ignored_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="eventsapi"):
        settings = load_settings(
            environ={"EVENTSAPI_SERVICE_HOST": "10.0.0.1", "EVENTSAPI_PORT": "9000"}
        )

    assert settings.port == 9000
    assert settings.host == "127.0.0.1"
    assert "EVENTSAPI_SERVICE_HOST" in caplog.text


def test_variables_without_the_prefix_are_not_read() -> None:
    assert load_settings(environ={"PORT": "9000", "HOST": "10.1.2.3"}) == Settings()


@pytest.mark.parametrize(
    "environ",
    [
        {"EVENTSAPI_PORT": "abc"},
        {"EVENTSAPI_PORT": "0"},
        {"EVENTSAPI_PORT": "65536"},
        {"EVENTSAPI_WORKERS": "0"},
        {"EVENTSAPI_LOG_LEVEL": "verbose"},
        {"EVENTSAPI_MAX_BODY_BYTES": "10"},
        {"EVENTSAPI_PAGE_SIZE": "501"},
        {"EVENTSAPI_SHUTDOWN_TIMEOUT": "0"},
        {"EVENTSAPI_DATABASE": ""},
        {"EVENTSAPI_ACCESS_LOG": "perhaps"},
    ],
)
def test_invalid_environment_values_are_configuration_errors(environ: dict[str, str]) -> None:
    name = next(iter(environ)).removeprefix("EVENTSAPI_").lower()

    with pytest.raises(ConfigurationError, match=name):
        load_settings(environ=environ)


@pytest.mark.parametrize("cli", [{"port": -1}, {"port": "eighty"}, {"workers": 65}, {"host": ""}])
def test_invalid_command_line_values_are_configuration_errors(cli: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        load_settings(cli=cli)


@pytest.mark.parametrize(
    "text", ['port = "x"\n', "colour = 'blue'\n", "port = \n", "[server]\nport = 1\n"]
)
def test_invalid_settings_files_are_configuration_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)

    with pytest.raises(ConfigurationError, match=r"setting|TOML"):
        load_settings(config_file=path)


def test_a_missing_settings_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Cannot read"):
        load_settings(config_file=tmp_path / "missing.toml")


def test_settings_survive_the_hand_over_to_workers() -> None:
    settings = load_settings(cli={"port": 9100, "database": "memory:", "access_log": True})

    assert decode(encode(settings)) == settings


def test_the_schema_documents_every_setting() -> None:
    infos = schema()

    assert [info.name for info in infos] == list(Settings.__struct_fields__)
    for info in infos:
        assert info.help, f"{info.name} has no help text"
        assert info.env_var == "EVENTSAPI_" + info.name.upper()
        assert info.default == getattr(Settings(), info.name)
