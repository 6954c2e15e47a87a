"""Nothing is lost when a duel's tab closes: any tab of the same browser resumes it with the draft and the guest
name, one tab plays at a time and the others say where the duel is, and forfeiting from another tab asks first
(docs/protocol.md § One tab plays). Real JupyterLab, two Chromium contexts (Alice's and Bob's browsers)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from browsers import VIEWPORT, challenge_on, matched_pair, show_duel_panel, type_code
from helpers import ARTIFACTS, JupyterProcess


@pytest.fixture
def lab(tmp_path):
    lab = JupyterProcess(tmp_path, "lab", extra=("--DuelService.countdown_s=0",
                                                 "--DuelService.disconnect_grace_s=120")).start()
    yield lab
    lab.stop()


def editor_text(page: Page) -> str:
    return page.locator('[data-testid="duel-editor"] .cm-content').inner_text()


def new_tab(context, url: str) -> Page:
    """Another tab of the same browser: its own sessionStorage, the browser's localStorage."""
    page = context.new_page()
    page.goto(url)
    show_duel_panel(page)
    return page


def test_a_closed_tab_loses_nothing_and_one_tab_plays(chromium, lab):
    url = lab.url("lab", token=lab.token)
    alice, bob = matched_pair(chromium, url)
    challenge = challenge_on(alice)
    marker = "# Alice's draft"
    type_code(alice, f"def {challenge.function}(*args):\n    {marker}\n    return None\n")
    mirror = bob.locator('[data-testid="duel-mirror"] .cm-content')
    expect(mirror).to_contain_text(marker, timeout=10_000)

    # Alice closes the duel's tab: Bob is told at once, and the grace period runs.
    context = alice.context
    alice.close()
    away = bob.locator('[data-testid="duel-opponent-disconnected"]')
    expect(away).to_be_visible(timeout=15_000)

    # She opens JupyterLab again in a new tab: same guest name, the duel resumed with her draft, no question asked.
    again = new_tab(context, url)
    expect(again.locator('[data-testid="duel-me"]')).to_have_text(re.compile("Alice"), timeout=20_000)
    expect(again.locator('[data-testid="duel-view"]')).to_be_visible(timeout=30_000)
    expect(again.locator('[data-testid="duel-editor"] .cm-content')).to_contain_text(marker, timeout=10_000)
    expect(away).to_be_hidden(timeout=15_000)
    again.screenshot(path=ARTIFACTS / "tabs-1-resumed-in-a-new-tab.png")

    # A second tab while the first plays: it says where the duel is and offers to play it here.
    second = new_tab(context, url)
    card = second.locator('[data-testid="duel-elsewhere"]')
    expect(card).to_be_visible(timeout=20_000)
    expect(card).to_have_attribute("data-open", "true")
    expect(card).to_contain_text("open in another tab")
    expect(second.locator('[data-testid="duel-view"]')).to_have_count(0)
    second.screenshot(path=ARTIFACTS / "tabs-2-open-elsewhere.png")

    # Forfeiting from there asks first; "Keep playing" changes nothing.
    second.locator('[data-testid="duel-forfeit-elsewhere"]').click()
    dialog = second.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Forfeit this duel?")
    dialog.locator("button", has_text="Keep playing").click()
    expect(dialog).to_have_count(0)

    # Play here: the second tab takes the duel with the code; the first freezes and says so.
    second.locator('[data-testid="duel-play-here"]').click()
    expect(second.locator('[data-testid="duel-view"]')).to_be_visible(timeout=20_000)
    expect(second.locator('[data-testid="duel-editor"] .cm-content')).to_contain_text(marker, timeout=10_000)
    frozen = again.locator('[data-testid="duel-view-elsewhere"]')
    expect(frozen).to_be_visible(timeout=10_000)
    expect(frozen).to_contain_text("continues in another tab")
    expect(again.locator('[data-testid="duel-submit"]')).to_be_disabled()
    before = editor_text(again)
    again.locator('[data-testid="duel-editor"] .cm-content').click()
    again.keyboard.type("zzz")
    assert editor_text(again) == before, "the frozen tab's editor still takes typing"
    again.screenshot(path=ARTIFACTS / "tabs-3-taken-over.png")
    # The opponent never saw her leave, and edits from the new tab reach him.
    expect(away).to_be_hidden()
    moved = "# typed in the second tab"
    type_code(second, f"def {challenge.function}(*args):\n    {moved}\n    return None\n")
    expect(mirror).to_contain_text(moved, timeout=10_000)

    # The first tab takes it back, with what was typed in the second.
    again.locator('[data-testid="duel-view-play-here"]').click()
    expect(frozen).to_be_hidden(timeout=10_000)
    expect(again.locator('[data-testid="duel-editor"] .cm-content')).to_contain_text(moved, timeout=10_000)
    expect(second.locator('[data-testid="duel-view-elsewhere"]')).to_be_visible(timeout=10_000)
    type_code(again, challenge.reference)
    expect(mirror).not_to_contain_text(moved, timeout=10_000)
    again.locator('[data-testid="duel-submit"]').click()
    expect(again.locator('[data-testid="duel-outcome"]')).to_have_attribute("data-result", "won", timeout=60_000)
    expect(bob.locator('[data-testid="duel-outcome"]')).to_have_attribute("data-result", "lost", timeout=30_000)
    # Every tab learns the end: the frozen one shows the outcome too.
    expect(second.locator('[data-testid="duel-view-elsewhere"]')).to_be_hidden(timeout=10_000)
    expect(second.locator('[data-testid="duel-outcome"]')).to_have_attribute("data-result", "won", timeout=10_000)


def test_forfeit_from_another_tab_after_confirming(chromium, lab):
    url = lab.url("lab", token=lab.token)
    alice, bob = matched_pair(chromium, url)
    other = alice.context.new_page()
    other.set_viewport_size(VIEWPORT)
    other.goto(url)
    show_duel_panel(other)
    other.locator('[data-testid="duel-forfeit-elsewhere"]').click()
    other.locator(".jp-Dialog .jp-mod-warn", has_text="Forfeit").click()
    expect(bob.locator('[data-testid="duel-outcome"]')).to_have_attribute("data-result", "won", timeout=30_000)
    expect(alice.locator('[data-testid="duel-outcome"]')).to_have_attribute("data-result", "lost", timeout=30_000)
    expect(other.locator('[data-testid="duel-elsewhere"]')).to_have_count(0, timeout=10_000)
