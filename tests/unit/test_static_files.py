"""The static files' compressed forms are current, and a request gets the form it asks for.

After vendoring or changing a static file, write its forms again with::

    python -m tests.unit.test_static_files --write
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import brotli
import pytest

from eventsapi.api.static_files import TYPES, chosen_coding

SRC = Path(__file__).resolve().parents[2] / "src" / "eventsapi"
FOLDERS = (
    SRC / "api" / "static" / "vendor" / "swagger-ui",
    SRC / "api" / "static" / "docs",
    SRC / "ui" / "static",
)
# Below this, a compressed form saves less than its header and an ETag costs: sent as is.
MIN_BYTES = 1024


def compressible() -> list[Path]:
    return sorted(
        path
        for folder in FOLDERS
        for path in folder.iterdir()
        if path.suffix in TYPES and path.stat().st_size >= MIN_BYTES
    )


def forms(path: Path) -> dict[Path, bytes]:
    """The compressed forms of ``path``, as written: deterministic (gzip without a time)."""
    body = path.read_bytes()
    return {
        path.with_name(path.name + ".gz"): gzip.compress(body, compresslevel=9, mtime=0),
        path.with_name(path.name + ".br"): brotli.compress(body, quality=11),
    }


def write() -> None:
    for path in compressible():
        for target, data in forms(path).items():
            target.write_bytes(data)
            print(f"{target.relative_to(SRC)}: {len(data)} bytes ({len(path.read_bytes())} plain)")


@pytest.mark.parametrize("path", compressible(), ids=lambda path: path.name)
def test_each_compressed_form_is_current(path: Path) -> None:
    body = path.read_bytes()
    gz, br = path.with_name(path.name + ".gz"), path.with_name(path.name + ".br")
    assert gz.is_file(), "python -m tests.unit.test_static_files --write"
    assert br.is_file(), "python -m tests.unit.test_static_files --write"
    assert gzip.decompress(gz.read_bytes()) == body
    assert brotli.decompress(br.read_bytes()) == body
    assert len(br.read_bytes()) < len(gz.read_bytes()) < len(body)


def test_the_swagger_bundle_is_among_them() -> None:
    assert "swagger-ui-bundle.js" in [path.name for path in compressible()]


def test_no_compressed_form_is_left_without_its_file() -> None:
    for folder in FOLDERS:
        for path in folder.iterdir():
            if path.suffix in (".gz", ".br"):
                assert path.with_suffix("") in compressible(), path


BOTH = ("br", "gzip")


@pytest.mark.parametrize(
    ("accept_encoding", "available", "expected"),
    [
        ("gzip, deflate, br, zstd", BOTH, "br"),  # a browser's
        ("gzip, deflate", BOTH, "gzip"),  # curl --compressed's, httpx's
        ("", BOTH, "identity"),
        ("*", BOTH, "br"),
        ("br;q=0.5, gzip", BOTH, "gzip"),
        ("br;q=0, gzip;q=0", BOTH, "identity"),
        ("*;q=0, gzip", BOTH, "gzip"),
        ("identity, gzip;q=0.5", BOTH, "identity"),
        ("identity;q=0.1, gzip;q=0.5", BOTH, "gzip"),
        ("BR", BOTH, "br"),
        ("br", ("gzip",), "identity"),
        ("gzip;q=junk, br;q=7", BOTH, "identity"),
        (" , ;q=1, gzip ;q=0.3", BOTH, "gzip"),
    ],
)
def test_the_coding_sent_is_the_one_weighed_highest(
    accept_encoding: str, available: tuple[str, ...], expected: str
) -> None:
    assert chosen_coding(accept_encoding, available) == expected


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.unit.test_static_files --write")
    write()
