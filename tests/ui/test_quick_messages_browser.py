"""Quick messages between the two players of a duel: canned, no free text, easy to mute (and the mute is a
preference JupyterLab keeps); every duel action is a command in the palette with a shortcut. Real JupyterLab, two
Chromium contexts."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from browsers import palette_labels, player
from helpers import ARTIFACTS, JupyterProcess


@pytest.fixture
def lab(tmp_path):
    lab = JupyterProcess(tmp_path, "lab", extra=("--DuelService.countdown_s=0",)).start()
    yield lab
    lab.stop()


def said(page: Page):
    return page.locator('[data-testid="duel-quick-said"]')


def chord(page: Page, key: str) -> None:
    """The duel shortcuts' chord: Alt+Shift+D, then ``key``."""
    page.keyboard.press("Alt+Shift+KeyD")
    page.keyboard.press(key)


def test_quick_messages_mute_and_shortcuts(chromium, lab):
    url = lab.url("lab", token=lab.token)
    alice = player(chromium, url, "Alice")
    bob = player(chromium, url, "Bob")

    # The chord's F finds an opponent, from anywhere in JupyterLab.
    alice.locator("#jp-main-dock-panel").click(position={"x": 5, "y": 5})
    chord(alice, "KeyF")
    expect(alice.locator('[data-testid="duel-queue-status"]')).to_have_attribute("data-state", "waiting", timeout=10_000)
    bob.locator('[data-testid="duel-find"]').click()
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-view"]')).to_be_visible(timeout=30_000)

    # A button: both see who said what; there is no free text anywhere.
    alice.locator('[data-testid="duel-quick-good_luck"]').click()
    expect(said(bob)).to_have_text("Alice: Good luck!", timeout=10_000)
    expect(said(alice)).to_have_text("You: Good luck!")
    assert alice.locator('[data-testid="duel-quick"] input, [data-testid="duel-quick"] textarea').count() == 0
    bob.screenshot(path=ARTIFACTS / "quick-1-good-luck-bob.png")

    # The palette lists each message; a shortcut in the duel view says one (5: "Well played").
    for label in ("Say “Thanks!” to Your Opponent", "Say “Well played” to Your Opponent"):
        palette_labels(bob, label, label)  # waits until the palette lists it
    bob.locator('[data-testid="duel-run-samples"]').focus()  # the duel's shortcuts apply inside the duel view
    chord(bob, "Digit5")
    expect(said(alice)).to_have_text("Bob: Well played", timeout=10_000)
    # Too soon after the last one: said in place, nothing sent.
    bob.locator('[data-testid="duel-quick-thanks"]').click()
    expect(said(bob)).to_contain_text("Wait a moment", timeout=5_000)
    expect(said(alice)).to_have_text("Bob: Well played")

    # Alice mutes: her buttons go, Bob's messages are not shown, and JupyterLab keeps the preference.
    alice.locator('[data-testid="duel-quick-mute"]').click()
    quick = alice.locator('[data-testid="duel-quick"]')
    expect(quick).to_have_attribute("data-muted", "true")
    expect(alice.locator('[data-testid="duel-quick-nice_one"]')).to_be_hidden()
    expect(alice.locator('[data-testid="duel-quick-mute"]')).to_have_attribute("aria-pressed", "true")
    with urllib.request.urlopen(lab.url("lab/api/settings/jupyter-duel:client", token=lab.token), timeout=10) as r:
        assert json.loads(r.read())["settings"]["quickMessages"] is False
    bob.wait_for_timeout(2100)  # the sender's cooldown
    bob.locator('[data-testid="duel-quick-nice_one"]').click()
    expect(said(bob)).to_have_text("You: Nice one!", timeout=10_000)
    alice.wait_for_timeout(1000)
    expect(said(alice)).not_to_contain_text("Nice one")
    alice.screenshot(path=ARTIFACTS / "quick-2-muted-alice.png")
    # Unmuting brings the buttons back.
    alice.locator('[data-testid="duel-quick-mute"]').click()
    expect(alice.locator('[data-testid="duel-quick-nice_one"]')).to_be_visible()

    # More commands, each in the palette with its chord: the history (H).
    for label in ("Open Duel History", "Find Opponent", "Submit Solution", "Run Sample Tests", "Forfeit Duel",
                  "Show Current Duel", "Quick Messages in Duels"):
        palette_labels(alice, label, label)
    chord(alice, "KeyH")
    expect(alice.locator('[data-testid="duel-history"]')).to_be_visible(timeout=10_000)
    shortcuts = json.loads(urllib.request.urlopen(
        lab.url("lab/api/settings/jupyter-duel:client", token=lab.token), timeout=10).read())["schema"]["jupyter.lab.shortcuts"]
    bound = {s["command"] for s in shortcuts}
    for command in ("duel:find-opponent", "duel:cancel-search", "duel:submit", "duel:run-samples", "duel:forfeit",
                    "duel:show-duel", "duel:open-history", "duel:rematch", "duel:challenge-player",
                    "duel:open-panel", "duel:quick-message", "duel:toggle-quick-messages", "jupyter-duel:open-review"):
        assert command in bound, command
    assert re.match(r"^duel:|^jupyter-duel:", shortcuts[0]["command"])
