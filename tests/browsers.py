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


VIEWPORT = {"width": 1280, "height": 800}


def player(browser: Browser, url: str, name: str, **context) -> Page:
    """A new isolated browser context (its own storage, as a second machine would have) with the panel open."""
    page = browser.new_context(viewport=VIEWPORT, **context).new_page()
    open_duel_panel(page, url, name)
    return page


def open_duel_panel(page: Page, url: str, name: str) -> None:
    page.goto(url)
    show_duel_panel(page)
    set_name(page, name)
    expect(page.locator('[data-testid="duel-me"]')).to_have_text(re.compile(name), timeout=20_000)
    expect(page.locator('[data-testid="duel-connection"]')).to_have_attribute("data-state", "connected")


def show_duel_panel(page: Page) -> None:
    """Open the Duel panel in the left sidebar (clicking its tab again would close it)."""
    tab = page.locator('.jp-SideBar [data-id="jupyter-duel-sidebar"]')
    tab.wait_for(timeout=60_000)
    # The splash screen goes once the layout is restored: only then is it known whether the panel is open.
    expect(page.locator("#jupyterlab-splash")).to_have_count(0, timeout=60_000)
    if not page.locator("#jupyter-duel-sidebar").is_visible():
        tab.click()
    expect(page.locator("#jupyter-duel-sidebar")).to_be_visible()


def set_name(page: Page, name: str) -> None:
    """Type a display name in the Duel panel and apply it (what the service makes of it is up to the caller)."""
    name_input = page.locator('[data-testid="duel-name-input"]')
    name_input.fill(name)
    name_input.press("Enter")


def switch_theme(page: Page, theme: str, light: bool) -> None:
    """Pick a theme from JupyterLab's Settings menu and wait until it applies."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{theme}$")).click()
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", str(light).lower(), timeout=10_000)
    page.wait_for_timeout(800)  # the stylesheet applies (and charts redraw) before a picture is taken


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
