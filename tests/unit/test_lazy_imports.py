"""Libraries that only some requests need are imported when first needed, not at start.

zxcvbn (the password strength estimate: its word lists), redis (shared rate limits) and
segno (the QR code of two-step enrolment) together cost each worker process about 45 MB
of memory when imported (docs/benchmarks.md, "Start-up and memory"); a service that
never sets a password, shares no limits or enrols no one should not pay for them. The
same goes for icalendar (some 7 MB), for a service whose calendar feeds nobody reads.

And, together some 14 MB more per worker (docs/benchmarks.md, "Idle memory and start-up
(issue 18)"): httpx (webhook deliveries; it imports click with it), Jinja2 (the first UI
page), PyYAML (an SLO file), regex and precis-i18n (the first username checked), pyotp
(two-step codes) and PyNaCl (the UI's sign-in second step). And argon2-cffi (0.4 MB with
cffi's backend): the first password or recovery code hashed or checked; jsonpatch and
jsonpointer (0.4 MB): the first JSON Patch.

Some modules are named in full (``LAZY_MODULES``): anyio's asyncio backend (1.3 MB, made
for the first password hashed), whose package is imported at start by Starlette; the web
UI's pages (and MarkupSafe with them), made at the first request to one; and
``importlib.metadata`` (about 0.8 MB), which python-ulid imported to read its own version
(ULIDs are made in ``domain/ids.py`` now); the scheduled backups' modules, for
``backup_dir`` only.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

LAZY = (
    "zxcvbn",
    "redis",
    "segno",
    "icalendar",
    "httpx",
    "jinja2",
    "yaml",
    "regex",
    "precis_i18n",
    "pyotp",
    "nacl",
    "markupsafe",
    "argon2",
    "_cffi_backend",
    "jsonpatch",
    "jsonpointer",
)

LAZY_MODULES = (
    "anyio._backends._asyncio",
    "eventsapi.ui.pages",
    "eventsapi.ui.visits",
    "importlib.metadata",
    "eventsapi.backups",
    "eventsapi.storage.sqlite.backup",
)

# The app is made in a running event loop, as granian makes it: some libraries (anyio)
# import more there than outside one.
_CREATE_APP = (
    "import asyncio, eventsapi.cli, eventsapi.app\n"
    "from eventsapi.settings import Settings\n"
    "async def make():\n"
    "    eventsapi.app.create_app(Settings(database='memory:'))\n"
    "asyncio.run(make())"
)


# A client of a fresh app on the memory store, for the code that follows it.
_WITH_CLIENT = (
    "from starlette.testclient import TestClient\n"
    "from eventsapi.app import create_app\n"
    "from eventsapi.settings import Settings\n"
    "with TestClient(create_app(Settings(database='memory:'))) as client:\n"
)


def _imported_after(code: str) -> set[str]:
    """The top-level packages imported once ``code`` has run in a fresh interpreter."""
    return {name.partition(".")[0] for name in _full_names_after(code)}


def test_the_app_and_the_command_line_start_without_them() -> None:
    imported = _full_names_after(_CREATE_APP)
    # From the same run (_imported_after would start another interpreter).
    packages = {name.partition(".")[0] for name in imported}

    assert "eventsapi" in packages
    assert not packages & set(LAZY), sorted(packages & set(LAZY))
    assert not imported & set(LAZY_MODULES), sorted(imported & set(LAZY_MODULES))


@pytest.mark.parametrize(
    ("code", "library"),
    [
        (
            "from eventsapi.auth.password_policy import check_password\n"
            "check_password('plum orbit kayak velvet', username='ann', two_factor=False)",
            "zxcvbn",
        ),
        ("from eventsapi.auth.totp import qr_svg\nqr_svg('otpauth://totp/x?secret=AAAA')", "segno"),
        ("from eventsapi.auth.ratelimit import redis_client\nredis_client('redis://h')", "redis"),
        ("from eventsapi.api.ics import calendar\ncalendar([], name='x', domain='x')", "icalendar"),
        (
            "from eventsapi.webhooks.ssrf import UrlPolicy, check_url\n"
            "check_url('https://example.org/hook', UrlPolicy())",
            "httpx",
        ),
        (
            "from eventsapi.webhooks.delivery import Sender\n"
            "from eventsapi.webhooks.ssrf import UrlPolicy\n"
            "Sender(UrlPolicy())._client",
            "httpx",
        ),
        (
            "from eventsapi.ui.render import Renderer, static_files\nRenderer(static_files()).env",
            "jinja2",
        ),
        ("from eventsapi.slo.config import read_yaml\nread_yaml('a: 1', 'slo.yaml')", "yaml"),
        (
            "from eventsapi.auth.usernames import check_new_username\ncheck_new_username('ann')",
            "regex",
        ),
        (
            "from eventsapi.auth.usernames import normalize_username\nnormalize_username('ann')",
            "precis_i18n",
        ),
        ("from eventsapi.auth.totp import new_secret\nnew_secret()", "pyotp"),
        (
            "from datetime import UTC, datetime\nfrom eventsapi.ui.sealed import seal\n"
            "seal('k', 'ann', 'pw', datetime.now(UTC))",
            "nacl",
        ),
        (
            "from eventsapi.auth.passwords import DUMMY_HASH, verify_password\n"
            "verify_password(DUMMY_HASH, 'pw')",
            "argon2",
        ),
        (
            "from eventsapi.auth.recovery import hash_code, new_recovery_codes\n"
            "hash_code(new_recovery_codes(1)[0])",
            "argon2",
        ),
        ("from eventsapi.auth.passwords import OWASP_PARAMETERS", "argon2"),
        (
            _WITH_CLIENT + "    client.put('/events/e1', json={'title': 't',"
            " 'starts_at': '2030-01-01T10:00:00Z', 'ends_at': '2030-01-01T11:00:00Z'})\n"
            '    patch = b\'[{"op": "replace", "path": "/title", "value": "u"}]\'\n'
            "    answer = client.patch('/events/e1', content=patch,"
            " headers={'Content-Type': 'application/json-patch+json'})\n"
            "    assert answer.json()['title'] == 'u', answer.text",
            "jsonpatch",
        ),
    ],
)
def test_each_is_imported_by_what_needs_it(code: str, library: str) -> None:
    assert library in _imported_after(code)


@pytest.mark.parametrize(
    ("code", "module"),
    [
        (
            "import asyncio\nfrom eventsapi.auth.hashing import HashingGate\n"
            "async def hash():\n"
            "    with HashingGate().admitted('127.0.0.1') as ticket:\n"
            "        await ticket.run(len, 'pw')\n"
            "asyncio.run(hash())",
            "anyio._backends._asyncio",
        ),
        (
            _WITH_CLIENT + "    assert client.get('/ui/').status_code == 200",
            "eventsapi.ui.pages",
        ),
        (
            "import asyncio, tempfile\n"
            "from eventsapi.app import create_app\n"
            "from eventsapi.settings import Settings\n"
            "async def serve():\n"
            "    with tempfile.TemporaryDirectory() as folder:\n"
            "        settings = Settings(database=f'{folder}/e.db', backup_dir=f'{folder}/b')\n"
            "        app = create_app(settings)\n"
            "        async with app.router.lifespan_context(app):\n"
            "            pass\n"
            "asyncio.run(serve())",
            "eventsapi.backups",
        ),
    ],
)
def test_each_module_is_imported_by_what_needs_it(code: str, module: str) -> None:
    assert module in _full_names_after(code)


def test_the_command_line_imports_a_command_when_it_is_named() -> None:
    # serve's process (granian's main) lives beside its worker: it holds what it imports.
    imported = _full_names_after("from eventsapi.cli import main")

    assert "eventsapi.cli.group" in imported
    others = {"serve", "db", "users", "webhooks", "slo", "slo_status", "transfer", "changes"}
    assert not {f"eventsapi.cli.{name}" for name in others} & imported


def test_every_command_is_found_by_its_name() -> None:
    import click

    from eventsapi.cli import COMMANDS, main

    context = click.Context(main)
    for name in COMMANDS:
        command = main.get_command(context, name)
        assert command is not None
        assert command.name == name
    slo = main.get_command(context, "slo")
    assert isinstance(slo, click.Group)
    assert {"status", "rules", "check"} <= set(slo.list_commands(context))


def _full_names_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(run.stdout.split())
