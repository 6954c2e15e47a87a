"""Browser-test helpers: Debian's Chromium driven by Playwright, and what a player does in the Duel panel."""

from __future__ import annotations

import re
import shutil

from playwright.sync_api import Browser, Page, expect

from jupyter_duel_server.challenges import ChallengeLibrary

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())


def player(browser: Browser, url: str, name: str, **context) -> Page:
    """A new isolated browser context (its own storage, as a second machine would have) with the panel open."""
    page = browser.new_context(viewport={"width": 1400, "height": 900}, **context).new_page()
    open_duel_panel(page, url, name)
    return page


def open_duel_panel(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.locator('.jp-SideBar [data-id="jupyter-duel-sidebar"]').click(timeout=60_000)
    name_input = page.locator('[data-testid="duel-name-input"]')
    name_input.fill(name)
    name_input.press("Enter")
    expect(page.locator('[data-testid="duel-me"]')).to_have_text(re.compile(name), timeout=20_000)
    expect(page.locator('[data-testid="duel-connection"]')).to_have_attribute("data-state", "connected")


def type_code(page: Page, code: str) -> None:
    editor = page.locator('[data-testid="duel-editor"] .cm-content')
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(code)


def challenge_on(page: Page):
    text = page.locator('[data-testid="duel-view"]').inner_text()
    matches = [c for c in LIBRARY.all() if c.title in text]
    assert len(matches) == 1, f"cannot tell the challenge from the duel view: {[c.id for c in matches]}"
    return matches[0]
