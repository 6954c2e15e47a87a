"""The browser of the UI tests: one headless Chromium per test, closed afterwards."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from browsers import CHROMIUM, CHROMIUM_ARGS
from helpers import ARTIFACTS


@pytest.fixture
def chromium():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
