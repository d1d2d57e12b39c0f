"""What the browser tests check on every page: axe-core (the copy the
axe-playwright-python package ships) at WCAG 2.2 A and AA, the page's width against the
window's, and that a keyboard user reaches an element by Tab (``tab_to``)."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

import pytest
from playwright.sync_api import Locator, Page

SERIOUS = ("serious", "critical")


def serious_violations(page: Page) -> list[str]:
    """What axe-core finds on the page at WCAG 2.2 A and AA, serious or critical."""
    script = resources.files("axe_playwright_python").joinpath("axe.min.js").read_text()
    page.evaluate(script)
    results = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}, resultTypes: ['violations']})"
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"])
        for violation in results["violations"]
        if violation["impact"] in SERIOUS
    ]


WIDER_THAN_THE_WINDOW = (
    "[...document.querySelectorAll('body *')]"
    ".filter(e => e.getBoundingClientRect().right > window.innerWidth && !e.closest('.table-wrap'))"
    ".map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8).join(' ')"
)
"""What sticks out of the window, to say why a page is too wide (a table's own scroll
region does not count)."""


def assert_accessible_and_fits(page: Page, width: int) -> None:
    """axe finds nothing serious or critical on the page, every ``<details>`` opened (what
    is inside counts too), and it is no wider than the window (nothing to scroll
    sideways)."""
    where = page.url
    for details in page.locator("details").all():
        details.evaluate("element => element.open = true")
    assert serious_violations(page) == [], where
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    wide = "" if overflow <= 0 else page.evaluate(WIDER_THAN_THE_WINDOW)
    assert overflow <= 0, f"{where} is {overflow} px wider than {width} px: {wide}"


def assert_each_accessible_and_fits(pages: Iterable[Page], width: int) -> list[str]:
    """``assert_accessible_and_fits`` on each page ``pages`` moves on to; their
    addresses, to count them."""
    checked = []
    for page in pages:
        assert_accessible_and_fits(page, width)
        checked.append(page.url)
    return checked


FOCUSED = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return "(the page)";
  const name = (element.getAttribute("aria-label") || element.textContent
    || element.getAttribute("name") || "").trim().replace(/\\s+/g, " ").slice(0, 40);
  const id = element.id ? "#" + element.id : "";
  return element.tagName.toLowerCase() + id + (name ? ` "${name}"` : "");
}"""
"""A description of the element with the focus, for a failure's message."""


def tab_to(page: Page, target: Locator, *, limit: int = 40, backwards: bool = False) -> None:
    """Press Tab (Shift+Tab if backwards) until target has the focus, at most limit times:
    a keyboard user gets there. Fails naming each element the focus went to on the way."""
    key = "Shift+Tab" if backwards else "Tab"
    target.wait_for(state="attached")
    went: list[str] = []
    for _ in range(limit):
        page.keyboard.press(key)
        if target.evaluate("element => element === document.activeElement"):
            return
        went.append(page.evaluate(FOCUSED))
    pytest.fail(
        f"{target} not reached in {limit} presses of {key}; the focus went to: " + ", ".join(went),
        pytrace=False,
    )
