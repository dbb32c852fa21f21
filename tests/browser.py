"""What every browser test shares: Debian's Chromium through Playwright, a page at a screen width, logging in.

The fixtures that use these (``server``: the app on a real port; ``browser``: one Chromium per
test) are in ``tests/conftest.py``; a browser test module sets ``pytestmark = MARKS``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")

MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/test installs it)"),
]

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def launch(playwright):
    """Debian's Chromium, headless (Playwright downloads no browser of its own)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)


def new_page(browser, width: int = 1366, height: int = 900, **context):
    """A page in a fresh context ``width`` pixels wide, with a 10 s default timeout."""
    page = browser.new_context(viewport={"width": width, "height": height}, **context).new_page()
    page.set_default_timeout(10_000)
    return page


def log_in(page, server: str, username: str = "ana") -> None:
    """Log a staff user in through the login form (the user must exist with ``PASSWORD``)."""
    page.goto(f"{server}/staff/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server}/staff/")


def shot(page, name: str) -> None:
    """A full-page screenshot into $GLOWLINE_SCREENSHOTS when it is set (to look at pages; never asserted)."""
    folder = os.environ.get("GLOWLINE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
