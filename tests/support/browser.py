"""Debian's Chromium driven by Playwright (no downloaded browsers), for the console tests."""
from __future__ import annotations

import os
import shutil
from typing import Iterator, List, Tuple

import pytest

from tests.support.unavailable import unavailable

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser_page() -> Iterator[Tuple[object, List[str]]]:
    """A fresh page (1400x860, zh-CN) and the list of JavaScript errors it raised."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        unavailable(f"Chromium not installed at {CHROMIUM}")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 860}, locale="zh-CN")
        errors: List[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, errors
        browser.close()
