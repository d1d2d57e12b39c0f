"""openapi-python-client, the usual Python SDK generator, against the served document.

The client is generated from ``/openapi.json`` of a real ``eventsapi serve`` with the
generator's default configuration, every operation must come out of it, and the
tutorial's walk-through (tests/api/test_walkthrough.py) runs through it. A generator
that is not installed is a failure, as every other missing tool is.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.server_process import ServerProcess, free_port

PACKAGE = "eventsapi_client"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
FIRST = {
    "ID": "1",
    "Title": "Introduction to Golang",
    "Description": "Come join us for a chance to learn how golang works and get to eventually"
    " try it out",
}
SECOND = {"ID": "2", "Title": "Second event", "Description": "Made with POST /event"}
CHANGES = {"Title": "Second event, changed", "Description": "Changed with PATCH"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a real server on a fresh database (anonymous writes: loopback)."""
    folder = tmp_path_factory.mktemp("server")
    port = free_port()
    args = ["serve", "--port", str(port), "--database", str(folder / "events.db")]
    with ServerProcess(args, port=port, cwd=folder) as running:
        running.wait_ready()
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def document(server: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{server}/openapi.json", timeout=10) as response:  # noqa: S310
        found: dict[str, Any] = json.load(response)
    return found


@pytest.fixture(scope="module")
def generated(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The package openapi-python-client generates from the served document."""
    folder = tmp_path_factory.mktemp("client")
    # The generator formats its output with ruff (a test dependency) when it finds it.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    run = subprocess.run(
        [
            *(sys.executable, "-m", "openapi_python_client", "generate"),
            *("--url", f"{server}/openapi.json", "--meta", "none"),
            *("--output-path", str(folder / PACKAGE), "--fail-on-warning"),
        ],
        cwd=folder,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = f"{run.stdout}\n{run.stderr}"
    assert run.returncode == 0, f"openapi-python-client failed:\n{output}"
    # Anything it skips or cannot do is a warning (WARNING parsing GET /events/{id} ...).
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(folder))
    try:
        yield folder / PACKAGE
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def test_the_served_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_every_operation_is_generated(document: dict[str, Any], generated: Path) -> None:
    operations = {
        _snake(operation["operationId"])
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
    modules = {
        f"api.{path.parent.name}.{path.stem}"
        for path in (generated / "api").glob("*/*.py")
        if path.stem != "__init__"
    }

    assert {name.rpartition(".")[2] for name in modules} == operations
    for name in modules:
        assert callable(_module(name).sync_detailed), name


def test_the_tutorial_walk_through(server: str, generated: Path) -> None:
    event_model = _module("models").Event
    problem_model = _module("models").Problem
    # The plain client: the service allows anonymous writes on loopback, as in the
    # tutorial (the generator asks for an AuthenticatedClient wherever credentials may go).
    with _module("client").Client(base_url=server, raise_on_unexpected_status=True) as client:
        walk_through(client, event_model, problem_model)


def walk_through(client: Any, event_model: type[Any], problem_model: type[Any]) -> None:
    """tests/api/test_walkthrough.py's requests and checks, through the generated client."""
    welcome = _module("api.service.welcome")
    list_events = _module("api.events.list_events")
    create = _module("api.events.create_event_tutorial")
    get_event = _module("api.events.get_event")
    delete_event = _module("api.events.delete_event")

    home = welcome.sync_detailed(client=client)
    assert home.status_code == 200
    assert home.parsed.service == "eventsapi"

    empty = list_events.sync_detailed(client=client)
    assert empty.status_code == 200
    assert empty.parsed == []

    created = create.sync_detailed(client=client, body=FIRST)
    assert created.status_code == 201
    assert created.headers["location"] == "/events/1"
    assert isinstance(created.parsed, event_model)
    assert (created.parsed.id, created.parsed.title) == ("1", FIRST["Title"])
    assert created.parsed.description == FIRST["Description"]

    second = create.sync_detailed(client=client, body=SECOND)
    assert second.status_code == 201
    assert second.headers["location"] == "/events/2"

    fetched = get_event.sync_detailed("2", client=client)
    assert fetched.status_code == 200
    assert fetched.parsed.to_dict() == second.parsed.to_dict()

    listed = list_events.sync_detailed(client=client)
    assert [event.id for event in listed.parsed] == ["1", "2"]

    # The generated patch_event cannot send any body: PATCH takes a JSON Patch (an
    # array) besides the merge patch, and openapi-python-client 0.29 dispatches on
    # isinstance(body, list[...]), a TypeError. So the tutorial's PATCH goes through the
    # generated client's own HTTP client and comes back as its Event model.
    patching = client.get_httpx_client().patch("/events/2", json=CHANGES)
    assert patching.status_code == 200
    patched = event_model.from_dict(patching.json())
    assert (patched.title, patched.description) == (CHANGES["Title"], CHANGES["Description"])
    assert patched.version == second.parsed.version + 1

    after_patch = list_events.sync_detailed(client=client)
    assert [e.to_dict() for e in after_patch.parsed] == [
        created.parsed.to_dict(),
        patched.to_dict(),
    ]

    deleted = delete_event.sync_detailed("1", client=client)
    assert deleted.status_code == 204
    assert deleted.content == b""

    again = delete_event.sync_detailed("1", client=client)
    assert again.status_code == 404
    assert isinstance(again.parsed, problem_model)
    assert again.parsed.status == 404

    assert [e.id for e in list_events.sync_detailed(client=client).parsed] == ["2"]
    gone = get_event.sync_detailed("1", client=client)
    assert gone.status_code == 404
    assert isinstance(gone.parsed, problem_model)
