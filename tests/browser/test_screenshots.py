"""The screenshots of docs/ui (``python -m tests.browser.screenshots``) are made by the
same code as here: a few pages, taken into a temporary folder, are JPEG images of the
widths asked, in light and dark."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser import screenshots

pytestmark = pytest.mark.slow

_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
"""The start-of-frame markers, whose segment holds the image's size."""


def jpeg_size(data: bytes) -> tuple[int, int]:
    """A JPEG image's width and height, from its start-of-frame segment."""
    assert data[:2] == b"\xff\xd8", "not a JPEG image"
    at = 2
    while at + 4 <= len(data):
        assert data[at] == 0xFF, f"no marker at {at}"
        marker = data[at + 1]
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _FRAMES:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    raise AssertionError("no start-of-frame segment")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with screenshots.chromium() as launched:
        yield launched


def test_pages_are_taken_at_each_width_light_and_dark(browser: Browser, tmp_path: Path) -> None:
    with screenshots.service(tmp_path / "server") as running:
        ids = screenshots.seed(running)
        wanted = [shot for shot in screenshots.shots(ids) if shot.name in ("sign-in", "event")]
        written = screenshots.capture(browser, running.origin, wanted, tmp_path / "shots")

    names = sorted(path.name for path in written)
    assert names == sorted(
        f"{page}-{width}-{scheme}.jpg"
        for page in ("sign-in", "event")
        for width in (390, 1440)
        for scheme in ("light", "dark")
    )
    for path in written:
        width, height = jpeg_size(path.read_bytes())
        assert width == int(path.name.split("-")[-2])
        assert height >= screenshots.HEIGHT  # the whole page, at least the window
    # Dark is not light: the colour scheme reached the page.
    light = (tmp_path / "shots" / "event-1440-light.jpg").read_bytes()
    dark = (tmp_path / "shots" / "event-1440-dark.jpg").read_bytes()
    assert light != dark
