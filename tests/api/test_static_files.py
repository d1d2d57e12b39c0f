"""Static files (the docs page's and the web UI's) go out compressed ahead of time, in the
coding the client prefers, cached by version, and never count in the SLOs (issue 19)."""

from __future__ import annotations

import gzip
import re
from urllib.parse import urljoin

import brotli
import httpx
import pytest
from starlette.testclient import TestClient

from eventsapi.api.meta import DOCS_FILES

BUNDLE = "swagger-ui-bundle.js"


def bundle_url(client: TestClient) -> str:
    found = re.search(
        r'src="(docs/static/swagger-ui-bundle\.js\?v=[0-9a-f]+)"', client.get("/docs").text
    )
    assert found is not None
    return urljoin("http://testserver/docs", str(found.group(1)))


@pytest.mark.parametrize(
    ("accept_encoding", "coding"),
    [("gzip, deflate, br, zstd", "br"), ("gzip, deflate", "gzip"), ("identity", None)],
)
def test_the_bundle_goes_out_in_the_coding_asked_for_and_decodes_to_the_file(
    client: TestClient, accept_encoding: str, coding: str | None
) -> None:
    plain = DOCS_FILES.file(BUNDLE).forms["identity"]
    response = client.get(bundle_url(client), headers={"Accept-Encoding": accept_encoding})

    assert response.status_code == 200
    assert response.headers.get("content-encoding") == coding
    varies = [
        name.strip() for field in response.headers.get_list("vary") for name in field.split(",")
    ]
    assert varies == ["Accept-Encoding"]  # once, whichever layer says it
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.content == plain  # decoded by the client (httpx, with brotli installed)
    sent = DOCS_FILES.file(BUNDLE).forms[coding or "identity"]
    assert int(response.headers["content-length"]) == len(sent)
    decode = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[coding]
    assert decode(sent) == plain
    if coding == "br":
        assert len(sent) < len(plain) / 4  # 1.7 MB as about 0.36 MB


def test_a_versioned_url_is_kept_a_year_an_unversioned_one_revalidated(client: TestClient) -> None:
    versioned = client.get(bundle_url(client), headers={"Accept-Encoding": "gzip"})
    plain = client.get(f"/docs/static/{BUNDLE}", headers={"Accept-Encoding": "gzip"})
    stale = client.get(f"/docs/static/{BUNDLE}?v=0000", headers={"Accept-Encoding": "gzip"})

    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert plain.headers["cache-control"] == "no-cache"
    assert stale.headers["cache-control"] == "no-cache"
    assert plain.content == versioned.content


def test_each_coding_has_its_own_etag_and_revalidates_to_304(client: TestClient) -> None:
    url = bundle_url(client)
    tags = {
        coding: client.get(url, headers={"Accept-Encoding": coding}).headers["etag"]
        for coding in ("br", "gzip", "identity")
    }
    assert len(set(tags.values())) == 3
    for coding, tag in tags.items():
        again = client.get(url, headers={"Accept-Encoding": coding, "If-None-Match": tag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == tag
    # The gzip form's tag does not validate the brotli form a client now asks for.
    other = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": tags["gzip"]})
    assert other.status_code == 200
    assert other.headers["content-encoding"] == "br"


def test_head_sends_the_headers_only(client: TestClient) -> None:
    response = client.head(bundle_url(client), headers={"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "br"
    assert response.content == b""


def test_the_ui_files_are_served_alike(client: TestClient) -> None:
    response = client.get("/ui/static/htmx.min.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert b"htmx" in response.content
    small = client.get("/ui/static/icon.svg", headers={"Accept-Encoding": "gzip, br"})
    assert small.status_code == 200
    assert "content-encoding" not in small.headers  # 439 bytes: sent as is


@pytest.mark.parametrize(
    "path", ["/docs/static/nope.js", "/docs/static/README.md", "/docs/static/..%2fmeta.py"]
)
def test_no_other_file_is_served(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_a_write_to_a_file_is_405(client: TestClient) -> None:
    response = client.post(f"/docs/static/{BUNDLE}", content=b"x")
    assert response.status_code == 405
    assert sorted(response.headers["allow"].split(", ")) == ["GET", "HEAD", "OPTIONS"]


def test_the_docs_page_works_behind_a_path_prefix(client: TestClient) -> None:
    """A proxy serving the service under /api/ strips the prefix: every URL the page and
    its script name, resolved as a browser does from /api/docs, stays under /api/."""
    page = "http://proxy.example/api/docs"
    html = client.get("/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    init = next(asset for asset in assets if "swagger-init.js" in asset)
    document = re.search(
        r'url: "([^"]+)"', client.get(urljoin("http://testserver/docs", init)).text
    )
    assert document is not None
    for url in [*assets, document.group(1)]:
        resolved = httpx.URL(urljoin(page, url))
        assert resolved.path.startswith("/api/"), url
        served = client.get(resolved.raw_path.decode().removeprefix("/api"))
        assert served.status_code == 200, url


def test_static_files_and_the_docs_page_count_in_no_slo(client: TestClient) -> None:
    """A browser's first load of /docs (1.7 MB) is no slow API request."""
    client.get("/docs")
    client.get(bundle_url(client))
    client.get("/ui/static/htmx.min.js")
    client.get("/events")
    metrics = client.get("/metrics").text
    assert 'route="/events"' in metrics
    assert 'route="/docs' not in metrics
    assert 'route="/ui/static' not in metrics
