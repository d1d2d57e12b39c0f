"""``eventsapi db backup`` and ``db restore`` on real SQLite files, against a real server:
a backup taken while 64 clients write holds every acknowledged write; a restore brings
back accounts and sessions; restore refuses while a server runs; scheduled backups are
taken and pruned; bad input is refused with a clear error and changes nothing."""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from eventsapi.cli import main
from eventsapi.storage import migrations
from eventsapi.storage.events import revision
from eventsapi.storage.sqlite.migrations import REVISION_FUNCTION
from tests.server_process import ServerProcess, clean_environment, eventsapi_command, free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX signals")

PASSWORD = "violet tractor humming seashell"  # noqa: S105 - a test account's
CLIENTS = 64
LATEST = max(script.version for script in migrations.scripts("sqlite"))


def run_eventsapi(
    *args: str, cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        eventsapi_command(*args),
        cwd=cwd,
        env=clean_environment(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def integrity(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return [row[0] for row in db.execute("PRAGMA integrity_check")]


def event_ids(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {row[0] for row in db.execute("SELECT id FROM events")}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    port = free_port()
    args = ["serve", "--port", str(port), "--database", str(tmp_path / "live.db")]
    with ServerProcess(args, port=port, cwd=tmp_path) as process:
        process.wait_ready()
        yield process


def post_event(server: ServerProcess, title: str, headers: dict[str, str] | None = None) -> str:
    status, body = server.request(
        "POST",
        "/events",
        json.dumps({"title": title}).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )
    assert status == 201, body
    event_id: str = json.loads(body)["id"]
    return event_id


class Writer(threading.Thread):
    """One client on one keep-alive connection, creating events until told to stop."""

    def __init__(self, port: int, name: str, acked: list[str], stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.port, self.acked, self.stop = port, acked, stop
        self.errors: list[str] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        n = 0
        try:
            while not self.stop.is_set():
                n += 1
                body = json.dumps({"title": f"{self.name}-{n}"})
                conn.request("POST", "/events", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
                if response.status == 201:
                    self.acked.append(json.loads(data)["id"])  # list.append is atomic
                elif response.status != 429:
                    self.errors.append(f"{response.status} {data!r}")
        except OSError as exc:
            self.errors.append(repr(exc))
        finally:
            conn.close()


def test_a_backup_taken_under_64_writers_holds_every_acknowledged_write(
    server: ServerProcess, tmp_path: Path
) -> None:
    acked: list[str] = []
    stop = threading.Event()
    writers = [Writer(server.port, f"w{n}", acked, stop) for n in range(CLIENTS)]
    for writer in writers:
        writer.start()
    try:
        wait_until(lambda: len(acked) >= 500, "500 acknowledged writes")
        before = set(acked)  # acknowledged before the backup began
        result = run_eventsapi(
            "db", "backup", "snap.db", "--database", "live.db", "--format", "json", cwd=tmp_path
        )
        during_and_after = len(acked)
        wait_until(lambda: len(acked) > during_and_after + 100, "writes after the backup")
    finally:
        stop.set()
        for writer in writers:
            writer.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert [writer.errors for writer in writers if writer.errors] == []
    report = json.loads(result.stdout)
    backup = tmp_path / "snap.db"
    assert report["backup"] == "snap.db"
    assert report["integrity"] == "ok"
    assert report["schema_version"] == LATEST
    assert report["bytes"] == backup.stat().st_size
    assert integrity(backup) == ["ok"]
    held = event_ids(backup)
    assert before <= held
    assert len(held) < len(set(acked)), "the clients wrote after the snapshot too"
    # A single file: no log beside it to go missing when it is copied elsewhere.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("snap")) == ["snap.db"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".snap.db")]


def test_a_restore_brings_back_accounts_and_sessions(server: ServerProcess, tmp_path: Path) -> None:
    made = run_eventsapi(
        "users", "create", "ada", "--admin", "--password-stdin", "--database", "live.db",
        cwd=tmp_path, stdin=PASSWORD,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    status, body = server.request(
        "POST",
        "/auth/login",
        json.dumps({"username": "ada", "password": PASSWORD}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200, body
    bearer = {"Authorization": f"Bearer {json.loads(body)['token']}"}
    kept = post_event(server, "before the backup", bearer)
    backed_up = run_eventsapi("db", "backup", "snap.db", "--database", "live.db", cwd=tmp_path)
    assert backed_up.returncode == 0, backed_up.stderr
    assert backed_up.stdout.startswith("Backed up ")
    lost = post_event(server, "after the backup", bearer)

    refused = run_eventsapi("db", "restore", "snap.db", "--database", "live.db", cwd=tmp_path)

    assert refused.returncode == 3, refused.stderr
    assert "is in use" in refused.stderr
    assert server.request("GET", f"/events/{lost}", headers=bearer)[0] == 200  # untouched

    server.kill_group()  # even after kill -9, with its -wal and -shm left behind
    restored = run_eventsapi(
        "db", "restore", "snap.db", "--database", "live.db", "--format", "json", cwd=tmp_path
    )
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout) == {
        "database": "live.db",
        "backup": "snap.db",
        "schema_version": LATEST,
        "migrated": [],
        "replaced": True,
    }
    assert not (tmp_path / "live.db-wal").exists()
    assert integrity(tmp_path / "live.db") == ["ok"]

    port = free_port()
    args = ["serve", "--port", str(port), "--database", "live.db"]
    with ServerProcess(args, port=port, cwd=tmp_path, log_name="again.log") as again:
        again.wait_ready()
        status, me = again.request("GET", "/auth/me", headers=bearer)
        assert status == 200, me
        assert json.loads(me)["username"] == "ada"
        assert again.request("GET", f"/events/{kept}", headers=bearer)[0] == 200
        assert again.request("GET", f"/events/{lost}", headers=bearer)[0] == 404


def test_an_older_backup_is_migrated_when_restored(runner: CliRunner, tmp_path: Path) -> None:
    older = tmp_path / "older.db"
    with contextlib.closing(sqlite3.connect(older)) as db:
        # As the runner lends it to the scripts (migration 0012 computes revisions).
        db.create_function(REVISION_FUNCTION, 2, revision, deterministic=True)
        db.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))) STRICT"
        )
        for script in migrations.scripts("sqlite")[:-1]:  # what the version before left
            db.executescript(script.sql)
            db.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                (script.version, script.name),
            )
        db.commit()

    result = runner.invoke(
        main, ["db", "restore", "older.db", "--database", "new.db", "--format", "json"]
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["migrated"], report["schema_version"]) == ([LATEST], LATEST)
    assert report["replaced"] is False
    with contextlib.closing(sqlite3.connect(tmp_path / "new.db")) as db:
        assert db.execute("SELECT max(version) FROM schema_migrations").fetchone() == (LATEST,)
    assert integrity(tmp_path / "new.db") == ["ok"]


def test_backup_refuses_to_overwrite_without_force(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(main, ["db", "migrate", "--database", "live.db"]).exit_code == 0
    (tmp_path / "snap.db").write_bytes(b"precious")

    refused = runner.invoke(main, ["db", "backup", "snap.db", "--database", "live.db"])
    forced = runner.invoke(main, ["db", "backup", "snap.db", "--database", "live.db", "--force"])

    assert refused.exit_code == 1
    assert refused.output == "Error: snap.db exists; pass --force to replace it.\n"
    assert forced.exit_code == 0, forced.output
    assert integrity(tmp_path / "snap.db") == ["ok"]


def test_backup_of_a_missing_database_changes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["db", "backup", "snap.db", "--database", "none.db"])

    assert result.exit_code == 1
    assert result.output.startswith("Error: There is no database at ")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_backup_on_postgresql_points_to_pg_dump(runner: CliRunner) -> None:
    url = "postgresql://postgres@127.0.0.1:5432/test"
    for command, tool in (("backup", "pg_dump"), ("restore", "pg_restore")):
        result = runner.invoke(main, ["db", command, "x.dump", "--database", url])

        assert result.exit_code == 2
        errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1, result.output
        assert f"use {tool}" in errors[0]


def bad_backups(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("these are not the pages you are looking for\n" * 200)
    foreign = tmp_path / "foreign.db"
    with contextlib.closing(sqlite3.connect(foreign)) as db:
        db.execute("CREATE TABLE things (x)")
        db.commit()
    corrupt = tmp_path / "corrupt.db"
    assert CliRunner().invoke(main, ["db", "migrate", "--database", str(corrupt)]).exit_code == 0
    with contextlib.closing(sqlite3.connect(corrupt)) as db:
        db.execute("PRAGMA journal_mode = DELETE")
    data = bytearray(corrupt.read_bytes())
    page = 4096
    data[page * 3 : page * 3 + 64] = b"\xff" * 64  # a b-tree page's header
    corrupt.write_bytes(bytes(data))
    return {
        "missing": (tmp_path / "absent.db", "There is no file at"),
        "not sqlite": (not_sqlite, "is not a SQLite database"),
        "not eventsapi": (foreign, "is a SQLite database, but not one of eventsapi's"),
        "corrupt": (corrupt, "fails SQLite's integrity check"),
    }


@pytest.mark.parametrize("case", ["missing", "not sqlite", "not eventsapi", "corrupt"])
def test_restore_refuses_a_bad_backup_and_changes_nothing(
    runner: CliRunner, tmp_path: Path, case: str
) -> None:
    assert runner.invoke(main, ["db", "migrate", "--database", "live.db"]).exit_code == 0
    with contextlib.closing(sqlite3.connect(tmp_path / "live.db")) as db:
        db.execute("PRAGMA journal_mode = DELETE")  # one file, to compare byte for byte
    before = (tmp_path / "live.db").read_bytes()
    path, message = bad_backups(tmp_path)[case]
    files = sorted(p.name for p in tmp_path.iterdir())

    result = runner.invoke(main, ["db", "restore", str(path), "--database", "live.db"])

    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: "), result.output
    assert message in result.output
    assert len(result.output.splitlines()) == 1, result.output
    assert (tmp_path / "live.db").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == files


def test_restore_refuses_a_backup_of_a_newer_version(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(main, ["db", "backup", "x.db"]).exit_code == 1  # no database yet
    assert runner.invoke(main, ["db", "migrate", "--database", "newer.db"]).exit_code == 0
    with contextlib.closing(sqlite3.connect(tmp_path / "newer.db")) as db:
        db.execute("INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')")
        db.commit()

    result = runner.invoke(main, ["db", "restore", "newer.db", "--database", "live.db"])

    assert result.exit_code == 1
    assert "made by a newer eventsapi (it has migration 9999" in result.output
    assert not (tmp_path / "live.db").exists()


def scheduled(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("eventsapi-"))


def test_scheduled_backups_are_taken_checked_and_pruned(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    port = free_port()
    args = ["serve", "--port", str(port), "--database", "live.db", "--workers", "2"]
    env: dict[str, Any] = {
        "EVENTSAPI_BACKUP_DIR": str(folder),
        "EVENTSAPI_BACKUP_EVERY_HOURS": "0.0003",  # about a second
        "EVENTSAPI_BACKUP_KEEP": "3",
    }
    with ServerProcess(args, port=port, cwd=tmp_path, env=env) as server:
        server.wait_ready()
        first = post_event(server, "in every backup")
        wait_until(lambda: folder.is_dir() and len(scheduled(folder)) >= 3, "three backups")
        seen = set(scheduled(folder))
        wait_until(lambda: not seen & set(scheduled(folder)), "the first three pruned")
        names = scheduled(folder)
        log = server.log()
    assert 1 <= len(names) <= 3, names
    assert "BACKUP FAILED" not in log
    newest = folder / names[-1]
    assert integrity(newest) == ["ok"]
    assert first in event_ids(newest)
    # Two workers, one backup per period: the lock and the newest backup's age decide.
    times = [
        datetime.strptime(name, "eventsapi-%Y%m%dT%H%M%S.%fZ.db").timestamp()
        for name in sorted(seen | set(names))
    ]
    assert min(b - a for a, b in itertools.pairwise(times)) >= 1.0, sorted(seen | set(names))
    assert not [p for p in folder.iterdir() if p.name.startswith(".eventsapi-2")]


def test_a_failing_scheduled_backup_is_logged_and_the_server_serves_on(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    port = free_port()
    args = ["serve", "--port", str(port), "--database", "live.db"]
    env = {"EVENTSAPI_BACKUP_DIR": str(blocked), "EVENTSAPI_BACKUP_EVERY_HOURS": "0.0003"}
    with ServerProcess(args, port=port, cwd=tmp_path, env=env) as server:
        server.wait_ready()
        wait_until(lambda: "BACKUP FAILED" in server.log(), "the failure in the log")
        post_event(server, "still serving")
        time.sleep(1.5)  # another round fails too, and still nothing stops
        assert server.request("GET", "/readyz")[0] == 200


def damage_first_page(path: Path) -> None:
    """Overwrite the schema's page header: SQLite then calls the file malformed."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode = DELETE")
    data = bytearray(path.read_bytes())
    data[100:164] = b"\xff" * 64
    path.write_bytes(bytes(data))


def test_a_damaged_database_is_replaced_unless_something_holds_it(tmp_path: Path) -> None:
    assert run_eventsapi("db", "migrate", "--database", "good.db", cwd=tmp_path).returncode == 0
    assert (
        run_eventsapi("db", "backup", "snap.db", "--database", "good.db", cwd=tmp_path).returncode
        == 0
    )
    assert run_eventsapi("db", "migrate", "--database", "live.db", cwd=tmp_path).returncode == 0
    damage_first_page(tmp_path / "live.db")
    damaged = (tmp_path / "live.db").read_bytes()
    # What SQLite's unix VFS does for a connection that has the file open (a server's).
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; f = open(sys.argv[1], 'rb');"
            "fcntl.lockf(f, fcntl.LOCK_SH, 510, 0x40000002, os.SEEK_SET);"
            "print('held', flush=True); sys.stdin.read()",
            str(tmp_path / "live.db"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        held = run_eventsapi("db", "restore", "snap.db", "--database", "live.db", cwd=tmp_path)
    finally:
        holder.communicate("", timeout=30)

    assert held.returncode == 3, held.stderr
    assert "is in use" in held.stderr
    assert (tmp_path / "live.db").read_bytes() == damaged
    restored = run_eventsapi("db", "restore", "snap.db", "--database", "live.db", cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert integrity(tmp_path / "live.db") == ["ok"]


def test_the_database_is_never_its_own_backup(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(main, ["db", "migrate", "--database", "live.db"]).exit_code == 0
    before = (tmp_path / "live.db").read_bytes()

    for args in (
        ["db", "backup", "live.db", "--force"],
        ["db", "backup", "./live.db-wal", "--force"],
        ["db", "restore", "live.db"],
    ):
        result = runner.invoke(main, [*args, "--database", "live.db"])

        assert result.exit_code == 1, result.output
        assert "is the database itself" in result.output
    assert (tmp_path / "live.db").read_bytes() == before


def test_backup_into_a_folder_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(main, ["db", "migrate", "--database", "live.db"]).exit_code == 0
    (tmp_path / "folder").mkdir()

    result = runner.invoke(main, ["db", "backup", "folder", "--database", "live.db", "--force"])

    assert result.exit_code == 2
    assert "is a directory" in result.output
