"""The Duel UI's layout in a real JupyterLab at 1280x800 and 900x800, light and dark: the sidebar, the bot offer,
the duel view (with results), the outcome and the history. Each picture goes to ``test-artifacts/`` and comes
with a layout check: no element of the Duel UI sticks out of its container sideways (the nearest ancestor that
clips or scrolls, or its card), and at 900 px the player's editor is at least 300 px tall.

Two isolated Chromium contexts play the duel; the first one's page is resized and re-themed at every step.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from browsers import assert_no_overflow, box, challenge_on, open_duel_panel, switch_theme, type_code
from helpers import ARTIFACTS, JupyterProcess

SIZES = ((1280, 800), (900, 800))
THEMES = {"light": ("JupyterLab Light", True), "dark": ("JupyterLab Dark", False)}
SIDEBAR = "#jupyter-duel-sidebar"
DUEL = '.jp-DuelView:not(.lm-mod-hidden)'
HISTORY = ".jp-DuelHistory"

#: Waits until JupyterLab has laid its panels out for the current window size.
SETTLED = """([width]) => {
  const main = document.querySelector('#jp-main-dock-panel');
  return window.innerWidth === width && main && main.getBoundingClientRect().right <= width;
}"""


@pytest.fixture
def lab(tmp_path):
    lab = JupyterProcess(
        tmp_path,
        "lab",
        extra=("--DuelService.rate_guests=True", "--DuelService.countdown_s=1", "--DuelService.bot_after_s=1"),
    ).start()
    yield lab
    lab.stop()


class Pictures:
    """Every step is seen at both sizes in both themes, switching the theme once per step."""

    def __init__(self, page: Page):
        self.page = page
        self.theme = "light"

    def _at(self, step: str, size: tuple[int, int], roots: tuple[str, ...], editor: bool) -> None:
        page = self.page
        width, height = size
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_function(SETTLED, arg=[width], timeout=10_000)
        page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        page.screenshot(path=ARTIFACTS / f"layout-{step}-{width}x{height}-{self.theme}.png")
        for root in roots:
            expect(page.locator(root).first).to_be_visible()
        assert_no_overflow(page, *roots)
        if editor and width <= 900:
            height_px = box(page.locator(f'{DUEL} [data-testid="duel-editor"]'))["height"]
            assert height_px >= 300, f"{step} at {width}x{height} ({self.theme}): editor {height_px:.0f} px tall"

    def take(self, step: str, *roots: str, editor: bool = False) -> None:
        sizes = SIZES if self.theme == "light" else SIZES[::-1]
        for size in sizes:
            self._at(step, size, roots, editor)
        self.theme = "dark" if self.theme == "light" else "light"
        switch_theme(self.page, *THEMES[self.theme])
        for size in sizes[::-1]:
            self._at(step, size, roots, editor)


def test_layout_at_two_sizes_in_light_and_dark(chromium, lab):
    url = lab.url("lab", token=lab.token)
    alice = chromium.new_context(viewport={"width": 1280, "height": 800}).new_page()
    open_duel_panel(alice, url, "Alice")
    bob = chromium.new_context(viewport={"width": 1280, "height": 800}).new_page()
    open_duel_panel(bob, url, "Bob")
    pictures = Pictures(alice)

    pictures.take("1-sidebar", SIDEBAR)

    alice.locator('[data-testid="duel-find"]').click()
    expect(alice.locator('[data-testid="duel-bot-offer"]')).to_be_visible(timeout=20_000)
    pictures.take("2-bot-offer", SIDEBAR)

    bob.locator('[data-testid="duel-find"]').click()
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-view"]')).to_be_visible(timeout=20_000)
        expect(page.locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=15_000)
    challenge = challenge_on(alice)
    type_code(alice, f"def {challenge.function}(*args):\n    return 'not it'\n")
    alice.locator('[data-testid="duel-submit"]').click()
    expect(alice.locator('[data-testid="duel-verdict"]')).to_have_attribute("data-verdict", "WA", timeout=30_000)
    pictures.take("3-duel", SIDEBAR, DUEL, editor=True)

    type_code(alice, challenge.reference)
    expect(alice.locator('[data-testid="duel-submit"]')).to_be_enabled(timeout=15_000)
    alice.locator('[data-testid="duel-submit"]').click()
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-outcome"]')).to_be_visible(timeout=30_000)
    pictures.take("4-result", SIDEBAR, DUEL, editor=True)

    alice.locator('[data-testid="duel-open-history"]').click()
    history = alice.locator('[data-testid="duel-history"]')
    expect(history.locator('[data-testid="duel-history-row"]')).to_have_count(1, timeout=10_000)
    pictures.take("5-history", SIDEBAR, HISTORY)
