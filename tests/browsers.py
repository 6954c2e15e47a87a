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


def forfeit(page: Page) -> None:
    """Forfeit the running duel, confirming the dialog."""
    page.locator('[data-testid="duel-forfeit"]').click()
    page.locator(".jp-Dialog .jp-mod-warn", has_text="Forfeit").click()


def palette_labels(page: Page, query: str, shown: str) -> list[str]:
    """Open the command palette, search ``query`` and return the labels it lists once the search is applied (the
    item labelled ``shown`` is listed); the palette is closed again."""
    page.locator("#jp-main-dock-panel").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+Shift+C")
    search = page.locator(".lm-CommandPalette-input")
    expect(search).to_be_visible(timeout=10_000)
    search.fill(query)
    items = page.locator(".lm-CommandPalette-item .lm-CommandPalette-itemLabel")
    expect(items.filter(has_text=re.compile(f"^{re.escape(shown)}$"))).to_have_count(1, timeout=10_000)
    labels = items.all_inner_texts()
    page.keyboard.press("Escape")
    expect(search).to_be_hidden()
    return labels


def activate_tab(page: Page, label: str) -> None:
    """Bring the main-area tab whose title is ``label`` to the front."""
    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=re.compile(f"^{re.escape(label)}$")).click()


def sample_lookup_code(challenge) -> str:
    """A solution that knows only the sample tests' answers: it passes the samples and (almost) nothing else."""
    table = {tuple(test.args): test.expected for test in challenge.samples}
    return f"def {challenge.function}(*args):\n    return {table!r}.get(args)\n"
