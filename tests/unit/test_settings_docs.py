"""docs/settings.md documents every setting exactly as the settings schema declares it.

The reference part of docs/settings.md (between the two ``settings-reference``
markers) must be what :func:`render_reference` makes from ``settings_info.schema()``.
After changing a setting, rewrite it with::

    python -m tests.unit.test_settings_docs --write
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from eventsapi.cli import main
from eventsapi.settings import Settings
from eventsapi.settings_info import SettingInfo, schema
from eventsapi.settings_load import load_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
START = (
    "<!-- settings-reference: start "
    "(generated from the schema; see tests/unit/test_settings_docs.py) -->"
)
END = "<!-- settings-reference: end -->"


def toml_value(value: Any) -> str:
    """A default as it is written in a TOML settings file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def cli_flags(info: SettingInfo) -> list[str]:
    """The option of ``serve`` that sets ``info``: one flag, or a pair (``--x/--no-x``)."""
    serve = main.get_command(click.Context(main), "serve")
    assert serve is not None
    for param in serve.params:
        if param.name == info.name and isinstance(param, click.Option):
            return [param.opts[0], *param.secondary_opts]
    return []


def render_setting(info: SettingInfo) -> str:
    flags = cli_flags(info)
    option = (
        " / ".join(f"`{flag}`" for flag in flags)
        if flags
        else "none (use the environment variable or the settings file)"
    )
    return (
        f"### `{info.name}`\n\n"
        f"{info.help}\n\n"
        f"- Type: `{info.type_name}`\n"
        f"- Default: `{toml_value(info.default)}`\n"
        f"- Environment variable: `{info.env_var}`\n"
        f"- Command-line option: {option}\n"
    )


def render_reference() -> str:
    return "\n".join(render_setting(info) for info in schema())


def documented_reference(text: str) -> str:
    assert START in text, f"docs/settings.md lacks the marker {START}"
    assert END in text, f"docs/settings.md lacks the marker {END}"
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def test_docs_document_every_setting_as_the_schema_declares_it() -> None:
    documented = documented_reference(DOCS.read_text(encoding="utf-8"))
    expected = render_reference()
    assert documented == expected, (
        "docs/settings.md disagrees with settings_info.schema(); "
        "run: python -m tests.unit.test_settings_docs --write"
    )


def test_docs_name_each_setting_once_in_schema_order() -> None:
    documented = documented_reference(DOCS.read_text(encoding="utf-8"))
    names = [line[5:-1] for line in documented.splitlines() if line.startswith("### `")]
    assert names == [info.name for info in schema()]


def test_every_setting_has_help() -> None:
    for info in schema():
        assert info.help.strip(), f"setting {info.name} has no help text"
        assert info.help.rstrip().endswith("."), f"help of {info.name} is not a sentence"


def test_the_toml_example_in_the_docs_is_a_valid_settings_file(tmp_path: Path) -> None:
    text = DOCS.read_text(encoding="utf-8")
    example = tmp_path / "eventsapi.toml"
    example.write_text(text.split("```toml\n", 1)[1].split("```", 1)[0], encoding="utf-8")
    settings = load_settings(environ={}, config_file=example)
    assert settings != Settings()  # the example changes something


def write() -> None:
    text = DOCS.read_text(encoding="utf-8")
    before = text.split(START, 1)[0]
    after = text.split(END, 1)[1]
    DOCS.write_text(f"{before}{START}\n\n{render_reference()}\n{END}{after}", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        sys.exit("usage: python -m tests.unit.test_settings_docs --write")
