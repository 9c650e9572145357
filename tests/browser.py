"""A page in a real browser: Debian's chromium driven by Playwright (which cannot download
its own browsers here). Screenshots go to `test-artifacts/` (or $PPRL_TEST_ARTIFACTS) for
people to look at."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("PPRL_TEST_ARTIFACTS", "test-artifacts"))


def browser_page(*, javascript: bool) -> Iterator[Page]:
    """A fresh page at 1200 x 900, with or without JavaScript, closed afterwards."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "make test installs Debian's chromium for the browser tests"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(
            java_script_enabled=javascript, viewport={"width": 1200, "height": 900}
        )
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
