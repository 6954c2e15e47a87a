"""Accessibility: an axe-core scan (axe-playwright-python) of the Duel panel, the duel view, the history and the
review, in the light and the dark theme, finds no serious or critical violation (colour contrast is WCAG AA:
axe's `color-contrast` rule is serious); and the panel, the duel and the review are used with the keyboard alone.
Real JupyterLab, two Chromium contexts."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from browsers import challenge_on, player, switch_theme, type_code
from helpers import ARTIFACTS, JupyterProcess

AXE = Axe()
#: The impacts that fail the scan.
BLOCKING = {"serious", "critical"}
#: The standards checked: WCAG 2.1 A and AA (contrast AA included), and axe's best practices.
OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
           "resultTypes": ["violations"]}


@pytest.fixture
def lab(tmp_path):
    lab = JupyterProcess(tmp_path, "lab", extra=("--DuelService.countdown_s=0",)).start()
    yield lab
    lab.stop()


def blocking_violations(page: Page, selector: str) -> list[str]:
    """What axe finds serious or critical under ``selector``, one line per element."""
    expect(page.locator(selector).first).to_be_visible()
    results = AXE.run(page, context={"include": [[selector]]}, options=OPTIONS)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in BLOCKING:
            for node in violation["nodes"]:
                found.append(f"{violation['id']} ({violation['impact']}): {node['target']} — "
                             f"{node.get('failureSummary', '').splitlines()[-1:]}")
    return found


def tab_until(page: Page, testid: str, most: int = 40, key: str = "Tab") -> list[str]:
    """Press Tab (or ``key``) until the element ``testid`` has the focus; returns what had it on the way."""
    seen = []
    for _ in range(most):
        page.keyboard.press(key)
        focused = page.evaluate("() => document.activeElement?.dataset?.testid || document.activeElement?.tagName")
        seen.append(focused)
        if focused == testid:
            return seen
    raise AssertionError(f"{testid} is not reached with Tab: {seen}")


def test_axe_scan_and_keyboard(chromium, lab):
    url = lab.url("lab", token=lab.token)
    alice = player(chromium, url, "Alice")
    bob = player(chromium, url, "Bob")

    # The panel with the keyboard alone: from the name field, Tab reaches "Find opponent", Enter queues.
    alice.locator('[data-testid="duel-name-input"]').focus()
    tab_until(alice, "duel-find")
    alice.keyboard.press("Enter")
    expect(alice.locator('[data-testid="duel-queue-status"]')).to_have_attribute("data-state", "waiting")
    bob.locator('[data-testid="duel-find"]').click()
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-view"]')).to_be_visible(timeout=30_000)

    # The duel with the keyboard: the editor has the focus at once; Escape then Tab leaves it for the buttons.
    challenge = challenge_on(alice)
    type_code(alice, f"def {challenge.function}(*args):\n    return None\n")
    alice.keyboard.press("Escape")
    seen = tab_until(alice, "duel-quick-good_luck", most=60)
    assert "duel-results-box" in seen, seen  # the results scroll with the keyboard too
    alice.keyboard.press("Enter")
    expect(alice.locator('[data-testid="duel-quick-said"]')).to_have_text("You: Good luck!", timeout=10_000)
    alice.locator('[data-testid="duel-editor"] .cm-content').click()
    alice.keyboard.press("Escape")
    tab_until(alice, "duel-submit", most=30, key="Shift+Tab")

    problems: dict[str, list[str]] = {}
    for theme, light in (("JupyterLab Light", True), ("JupyterLab Dark", False)):
        if not light:
            for page in (alice, bob):
                switch_theme(page, theme, light)
        for name, selector in (("sidebar", "#jupyter-duel-sidebar"), ("duel", '[data-testid="duel-view"]')):
            problems[f"{name}/{theme}"] = blocking_violations(alice, selector)
        alice.screenshot(path=ARTIFACTS / f"a11y-duel-{'light' if light else 'dark'}.png")

    # The end: Alice solves it; the result screen, the history and the review are scanned in both themes.
    type_code(alice, challenge.reference)
    alice.locator('[data-testid="duel-submit"]').click()
    expect(alice.locator('[data-testid="duel-outcome"]')).to_have_attribute("data-result", "won", timeout=60_000)
    alice.locator('[data-testid="duel-open-history"]').click()
    row = alice.locator('[data-testid="duel-history-row"]').first
    expect(row).to_have_attribute("data-result", "win", timeout=15_000)
    # The review from the keyboard: its button in the history, then the replay's controls.
    row.locator('[data-testid="duel-history-review"]').focus()
    alice.keyboard.press("Enter")
    review = alice.locator('[data-testid="duel-review"]').filter(visible=True)
    expect(review).to_have_attribute("data-state", "loaded", timeout=20_000)
    for theme, light in (("JupyterLab Dark", False), ("JupyterLab Light", True)):
        if light:
            switch_theme(alice, theme, light)
        problems[f"review/{theme}"] = blocking_violations(alice, '[data-testid="duel-review"]')
        alice.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Duel History").click()
        expect(alice.locator('[data-testid="duel-history"]')).to_be_visible()
        problems[f"history/{theme}"] = blocking_violations(alice, '[data-testid="duel-history"]')
        alice.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Duel:").first.click()
        problems[f"result/{theme}"] = blocking_violations(alice, '[data-testid="duel-view"]')
        alice.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Review").first.click()
    failing = {where: found for where, found in problems.items() if found}
    assert not failing, "\n".join(f"{where}:\n  " + "\n  ".join(found) for where, found in failing.items())
