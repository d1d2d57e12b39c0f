"""The service's own routes: welcome, probes, the OpenAPI document and the offline docs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from eventsapi.api.problems import PROBLEM_JSON
from eventsapi.app import create_app
from eventsapi.settings import Settings

# Routes about the documentation itself, not part of the API it describes.
DOCUMENTATION_ROUTES = {"/openapi.json", "/docs", "/problems/{slug}"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def test_welcome_names_the_service_and_links_the_api_and_its_docs(client: TestClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    body = response.json()
    assert body["service"] == "eventsapi"
    links = set(body["links"].values())
    assert {"/events", "/docs", "/openapi.json"} <= links
    for link in links:
        assert client.get(link).status_code == 200, link


def test_healthz_says_the_process_is_alive(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_says_the_database_answers(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"


# --- OpenAPI ------------------------------------------------------------------------


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    found: dict[str, Any] = response.json()
    return found


def _resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref: str = node["$ref"]
        assert ref.startswith("#/"), ref
        node = document
        for part in ref[2:].split("/"):
            node = node[part]
    return node


def test_openapi_is_version_3_1_0(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "eventsapi"
    assert document["info"]["version"]


def test_openapi_lists_every_route_and_method(document: dict[str, Any], app: Starlette) -> None:
    served: dict[str, set[str]] = {}
    for route in app.routes:
        # The web UI's pages (/ui/...) are the service's, not the API's.
        ui = route.path.startswith("/ui/") if isinstance(route, Route) else False
        if isinstance(route, Route) and route.path not in DOCUMENTATION_ROUTES and not ui:
            served[route.path] = {m.lower() for m in route.methods or ()} - {"head", "options"}

    described = {path: set(item) & HTTP_METHODS for path, item in document["paths"].items()}

    assert described == served


EXPECTED_STATUSES = {
    ("/events", "get"): {"200", "400"},
    ("/events", "post"): {"201", "400", "409", "413", "415", "422"},
    ("/event", "post"): {"201", "400", "409", "413", "415", "422"},
    ("/events/{id}", "get"): {"200", "404"},
    ("/events/{id}", "put"): {"200", "201", "400", "404", "413", "415", "422"},
    ("/events/{id}", "patch"): {"200", "400", "404", "413", "415", "422"},
    ("/events/{id}", "delete"): {"204", "404"},
}


@pytest.mark.parametrize(("path", "method"), list(EXPECTED_STATUSES))
def test_openapi_documents_each_status_an_operation_can_return(
    document: dict[str, Any], path: str, method: str
) -> None:
    responses = document["paths"][path][method]["responses"]

    missing = EXPECTED_STATUSES[(path, method)] - set(responses)
    assert not missing, f"{method.upper()} {path} does not document {sorted(missing)}"
    for status, response in responses.items():
        content = _resolve(document, response).get("content", {})
        if status.startswith(("4", "5")):
            assert list(content) == [PROBLEM_JSON], (path, method, status)


WRITES = [
    ("/events", "post"),
    ("/event", "post"),
    ("/events/{id}", "put"),
    ("/events/{id}", "patch"),
    ("/events/{id}", "delete"),
]
SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}, {"session_cookie": []}]


@pytest.mark.parametrize(("mode", "security"), [("on", [*SIGNED_IN, {}]), ("off", SIGNED_IN)])
def test_event_writes_document_the_credentials_the_service_requires(
    tmp_path: Path, mode: Literal["on", "off"], security: list[dict[str, list[str]]]
) -> None:
    # {} in the list: no credentials will do (anonymous writes on); without it
    # schemathesis' ignored_auth check sends writes without credentials, expecting 401.
    settings = Settings(database=str(tmp_path / "events.db"), anonymous_writes=mode)
    with TestClient(create_app(settings)) as client:
        document = client.get("/openapi.json").json()

    for path, method in WRITES:
        operation = document["paths"][path][method]
        assert operation["security"] == security, (path, method)
        assert {"401", "403", "429"} <= set(operation["responses"]), (path, method)
    for path in ("/events", "/events/{id}"):
        assert "security" not in document["paths"][path]["get"]  # reading is public


def test_the_probes_and_metrics_document_no_rate_limit(document: dict[str, Any]) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert "429" not in document["paths"][path]["get"]["responses"], path
    assert "429" in document["paths"]["/events"]["get"]["responses"]


def test_every_reference_in_openapi_resolves(document: dict[str, Any]) -> None:
    refs: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(document)

    assert refs
    for ref in refs:
        assert _resolve(document, {"$ref": ref}) is not None


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]

    assert len(ids) == len(set(ids))


# --- /docs ----------------------------------------------------------------------------


def test_docs_work_offline_from_local_assets_only(client: TestClient) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert not re.search(r"(?i)https?://", html), "the docs page must not load anything remote"
    assert "//" not in re.sub(r"(?i)<!doctype[^>]*>", "", html).replace("://", "")
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the page loads its scripts and styles"
    for asset in assets:
        assert asset.startswith("/docs/static/"), asset
        loaded = client.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.content, asset
    # Started by a script of its own, not an inline one (the page's CSP runs no inline script).
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
    assert '"/openapi.json"' in client.get("/docs/static/swagger-init.js").text
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy


def test_docs_load_the_swagger_script_and_style(client: TestClient) -> None:
    html = client.get("/docs").text

    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    styles = re.findall(r'<link[^>]*href="([^"]+)"', html)

    assert scripts
    assert styles
    assert "javascript" in client.get(scripts[0]).headers["content-type"]
    assert client.get(styles[0]).headers["content-type"].startswith("text/css")
