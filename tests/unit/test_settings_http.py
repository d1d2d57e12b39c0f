"""The settings of the HTTP features every route shares: CORS and gzip."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventsapi.errors import ConfigurationError
from eventsapi.settings import Settings
from eventsapi.settings_info import decode, encode
from eventsapi.settings_load import load_settings


def test_defaults_leave_cors_off_and_gzip_from_1_kib() -> None:
    settings = load_settings()

    assert settings.cors_origins == []
    assert settings.cors_credentials is False
    assert settings.cors_max_age == 600
    assert settings.gzip_min_size == 1024


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://app.example", ["https://app.example"]),
        (
            "https://app.example,http://localhost:3000",
            ["https://app.example", "http://localhost:3000"],
        ),
        (
            " https://app.example , http://[::1]:8080 ,",
            ["https://app.example", "http://[::1]:8080"],
        ),
        ("*", ["*"]),
        ("", []),
    ],
)
def test_cors_origins_are_comma_separated_in_the_environment(
    value: str, expected: list[str]
) -> None:
    assert load_settings(environ={"EVENTSAPI_CORS_ORIGINS": value}).cors_origins == expected


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("EVENTSAPI_CORS_CREDENTIALS", "true", True),
        ("EVENTSAPI_CORS_MAX_AGE", "0", 0),
        ("EVENTSAPI_CORS_MAX_AGE", "86400", 86400),
        ("EVENTSAPI_GZIP_MIN_SIZE", "0", 0),
        ("EVENTSAPI_GZIP_MIN_SIZE", "200", 200),
    ],
)
def test_environment_values_are_converted_to_the_setting_type(
    name: str, value: str, expected: object
) -> None:
    environ = {name: value, "EVENTSAPI_CORS_ORIGINS": "https://app.example"}
    settings = load_settings(environ=environ)

    assert getattr(settings, name.removeprefix("EVENTSAPI_").lower()) == expected


def test_a_settings_file_lists_origins(tmp_path: Path) -> None:
    path = tmp_path / "eventsapi.toml"
    path.write_text(
        'cors_origins = ["https://app.example", "https://admin.example"]\n'
        "cors_credentials = true\ncors_max_age = 3600\ngzip_min_size = 0\n"
    )

    settings = load_settings(config_file=path)

    assert settings.cors_origins == ["https://app.example", "https://admin.example"]
    assert (settings.cors_credentials, settings.cors_max_age, settings.gzip_min_size) == (
        True,
        3600,
        0,
    )
    assert decode(encode(settings)) == settings


@pytest.mark.parametrize(
    "environ",
    [
        {"EVENTSAPI_CORS_MAX_AGE": "-1"},
        {"EVENTSAPI_CORS_MAX_AGE": "86401"},
        {"EVENTSAPI_GZIP_MIN_SIZE": "-1"},
        {"EVENTSAPI_GZIP_MIN_SIZE": "1k"},
        {"EVENTSAPI_CORS_CREDENTIALS": "perhaps"},
    ],
)
def test_invalid_environment_values_are_configuration_errors(environ: dict[str, str]) -> None:
    name = next(iter(environ)).removeprefix("EVENTSAPI_").lower()

    with pytest.raises(ConfigurationError, match=name):
        load_settings(environ=environ)


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example/",
        "https://app.example/path",
        "https://App.example",
        "app.example",
        "null",
        "https://user@app.example",
        "",
    ],
)
def test_an_origin_browsers_never_send_is_a_configuration_error(origin: str) -> None:
    with pytest.raises(ConfigurationError, match="cors_origins"):
        load_settings(cli={"cors_origins": ["https://ok.example", origin]})
    with pytest.raises(ConfigurationError, match="cors_origins"):
        Settings(cors_origins=[origin])


def test_credentials_with_any_origin_are_refused_at_start_up() -> None:
    with pytest.raises(ConfigurationError, match="cors_credentials"):
        load_settings(environ={"EVENTSAPI_CORS_ORIGINS": "*", "EVENTSAPI_CORS_CREDENTIALS": "1"})
    with pytest.raises(ConfigurationError, match="cors_credentials"):
        Settings(cors_origins=["https://app.example", "*"], cors_credentials=True)
    with pytest.raises(ConfigurationError, match="cors_credentials"):
        decode('{"cors_origins": ["*"], "cors_credentials": true}')


def test_credentials_with_listed_origins_are_fine() -> None:
    settings = Settings(cors_origins=["https://app.example"], cors_credentials=True)

    assert settings.cors_credentials is True
