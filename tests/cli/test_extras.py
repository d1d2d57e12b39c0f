"""Without the optional extras (``eventsapi[postgres]``, ``eventsapi[redis]``) eventsapi runs
on SQLite, and asking for PostgreSQL or Redis is a one-line error naming the extra to
install (issue 19 item 4).

The commands run in a Python that sees every installed package but the extras' (the
venv's site-packages, less psycopg and redis, on ``PYTHONPATH`` with ``-S``): what a
plain ``pip install eventsapi`` has.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
EXTRAS_MODULES = ("psycopg", "psycopg_binary", "psycopg_pool", "redis")


@pytest.fixture(scope="module")
def plain_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of the installed packages without the extras' modules."""
    site = Path(sysconfig.get_paths()["purelib"])
    folder = tmp_path_factory.mktemp("plain-site")
    for entry in site.iterdir():
        top = entry.name.split("-")[0].split(".")[0].lower()
        if top in EXTRAS_MODULES or top.startswith(("__editable__", "_eventsapi")):
            continue
        (folder / entry.name).symlink_to(entry)
    return folder


def run(
    plain: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    code = "import sys; from eventsapi.cli import main; sys.argv[0] = 'eventsapi'; main()"
    return subprocess.run(
        [sys.executable, "-S", "-c", code, *args],
        env={"PYTHONPATH": f"{SRC}:{plain}", "PATH": "/usr/bin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_plain_install_lacks_the_extras(plain_install: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-S", "-c", "import psycopg"],
        env={"PYTHONPATH": f"{SRC}:{plain_install}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert "No module named 'psycopg'" in probe.stderr


def test_sqlite_works_without_the_extras(plain_install: Path, tmp_path: Path) -> None:
    migrated = run(plain_install, "db", "migrate", "--database", str(tmp_path / "plain.db"))
    assert migrated.returncode == 0, migrated.stderr
    status = run(plain_install, "db", "status", "--database", str(tmp_path / "plain.db"))
    assert status.returncode == 0, status.stderr


def test_a_postgresql_url_names_the_extra_to_install(plain_install: Path) -> None:
    result = run(plain_install, "db", "status", "--database", "postgresql://127.0.0.1/test")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert "pip install 'eventsapi[postgres]'" in errors[0]


def test_a_redis_url_names_the_extra_to_install(plain_install: Path, tmp_path: Path) -> None:
    result = run(
        plain_install,
        "settings",
        env={
            "EVENTSAPI_RATE_LIMIT_REDIS": "redis://127.0.0.1:6379/0",
            "EVENTSAPI_DATABASE": str(tmp_path / "plain.db"),
        },
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert "pip install 'eventsapi[redis]'" in errors[0]


def test_the_service_serves_without_the_extras(plain_install: Path, tmp_path: Path) -> None:
    code = (
        "from starlette.testclient import TestClient\n"
        "from eventsapi.app import create_app\n"
        "from eventsapi.settings import Settings\n"
        f"app = create_app(Settings(database={str(tmp_path / 'served.db')!r}))\n"
        "with TestClient(app) as client:\n"
        "    made = client.post('/events', json={'id': '1', 'title': 'Plain'})\n"
        "    print(made.status_code, client.get('/events/1').json()['title'])\n"
        "import sys\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'redis')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", code],
        env={"PYTHONPATH": f"{SRC}:{plain_install}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["201 Plain", "[]"]
