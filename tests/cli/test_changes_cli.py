"""``eventsapi changes``: the change log from the command line, and ``--follow``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from click.testing import CliRunner, Result

from eventsapi.cli import main
from eventsapi.storage.sqlite import SQLiteStore
from tests.contract.test_event_store import event, next_version
from tests.waiting import wait_until


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(main, list(args))


def on_store(database: Path, *writes: str) -> None:
    """Writes through the store (``create:ID``, ``update:ID``, ``delete:ID``, ``prune``)."""

    async def write() -> None:
        store = SQLiteStore(database)
        await store.open()
        try:
            for step in writes:
                verb, _, event_id = step.partition(":")
                if verb == "create":
                    await store.create(event(event_id), actor="u1")
                elif verb == "update":
                    await store.update(event_id, next_version)
                elif verb == "delete":
                    await store.delete(event_id)
                else:
                    await store.prune_changes(datetime.now(UTC) + timedelta(seconds=1))
        finally:
            await store.close()

    asyncio.run(write())


def lines(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "events.db"
    on_store(path, "create:a", "update:a", "create:b", "delete:a")
    return path


def test_from_the_start_prints_one_json_change_a_line(runner: CliRunner, database: Path) -> None:
    changes = lines(run(runner, "changes", "--from-start", "--database", str(database)))

    assert [(c["type"], c["id"], c["version"]) for c in changes] == [
        ("event.created", "a", 1),
        ("event.updated", "a", 2),
        ("event.created", "b", 1),
        ("event.deleted", "a", 2),
    ]
    assert [c["actor"] for c in changes] == ["u1", None, "u1", None]
    assert changes[1]["event"]["version"] == 2
    assert changes[3]["event"] is None
    assert len({c["token"] for c in changes}) == 4


def test_since_a_token_prints_what_came_after_it(runner: CliRunner, database: Path) -> None:
    every = lines(run(runner, "changes", "--from-start", "--database", str(database)))

    after = lines(run(runner, "changes", "--since", every[1]["token"], "--database", str(database)))
    text = run(runner, "changes", "--since", every[2]["token"], "--format", "text",
               "--database", str(database))  # fmt: skip

    assert after == every[2:]
    assert text.exit_code == 0, text.output
    assert text.output.split()[1:4] == ["event.deleted", "a", "v2"]


def test_a_pruned_or_foreign_token_is_an_error(runner: CliRunner, database: Path) -> None:
    first = lines(run(runner, "changes", "--from-start", "--database", str(database)))[0]
    on_store(database, "prune")

    pruned = run(runner, "changes", "--since", first["token"], "--database", str(database))
    foreign = run(runner, "changes", "--since", "AAAA", "--database", str(database))

    assert pruned.exit_code == 1
    assert "no longer kept" in pruned.output
    assert foreign.exit_code == 1
    assert "sync again in full" in foreign.output
    assert lines(run(runner, "changes", "--from-start", "--database", str(database))) == []


@pytest.mark.parametrize("args", [[], ["--from-start", "--since", "AAAA"]])
def test_one_start_must_be_given(runner: CliRunner, database: Path, args: list[str]) -> None:
    result = run(runner, "changes", *args, "--database", str(database))

    assert result.exit_code == 2
    assert "Give one of --since TOKEN and --from-start" in result.output


@pytest.fixture
def follower(database: Path, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EVENTSAPI_")}
    with (tmp_path / "stderr.txt").open("w") as errors, subprocess.Popen(
        [sys.executable, "-m", "eventsapi", "changes", "--from-start", "--follow",
         "--interval", "0.05", "--database", str(database)],
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        env=environment,
    ) as process:  # fmt: skip
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


def read_lines(stream: IO[str], into: list[dict[str, Any]]) -> threading.Thread:
    def read() -> None:
        for line in stream:
            into.append(json.loads(line))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def test_follow_prints_new_changes_as_they_are_made(
    database: Path, follower: subprocess.Popen[str]
) -> None:
    assert follower.stdout is not None
    seen: list[dict[str, Any]] = []
    reader = read_lines(follower.stdout, seen)
    wait_until(lambda: len(seen) == 4, "the changes already made")

    on_store(database, "create:c", "update:b")
    wait_until(lambda: len(seen) == 6, "the new changes")

    follower.send_signal(signal.SIGINT)
    assert follower.wait(timeout=30) == 0
    reader.join(timeout=30)
    assert [(c["type"], c["id"]) for c in seen[4:]] == [
        ("event.created", "c"),
        ("event.updated", "b"),
    ]
