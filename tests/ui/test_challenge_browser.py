"""Challenges between players in the browser: one guest challenges another by name from the Duel panel, the
other accepts and they duel; after the duel ends, a rematch is offered from the outcome banner and accepted, and a
second duel starts between the same two.

A real JupyterLab and two isolated Chromium contexts (two machines).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from browsers import forfeit, player
from helpers import ARTIFACTS, JupyterProcess


@pytest.fixture
def lab(tmp_path):
    lab = JupyterProcess(tmp_path, "lab", extra=("--DuelService.countdown_s=1",)).start()
    yield lab
    lab.stop()


def running_view(page: Page):
    """The duel view of the running duel (older, finished ones stay open in their tabs)."""
    return page.locator('.jp-DuelView[data-testid="duel-view"]:visible')


def duel_ids(page: Page) -> list[str]:
    return page.locator('[data-testid="duel-view"]').evaluate_all("views => views.map(v => v.id)")


def test_challenge_by_name_then_rematch(chromium, lab):
    url = lab.url("lab", token=lab.token)
    alice = player(chromium, url, "Alice")
    bob = player(chromium, url, "Bob")

    # Alice picks Bob among the online players (the list is refreshed: Bob came online after Alice's page).
    alice.locator('[data-testid="duel-online-refresh"]').click()
    options = alice.locator('[data-testid="duel-challenge-select"] option[value="guest:Bob"]')
    expect(options).to_have_count(1, timeout=10_000)
    expect(options).to_have_text("Bob (guest)")
    expect(alice.locator('[data-testid="duel-challenge-select"] option[value="guest:Alice"]')).to_have_count(0)
    alice.locator('[data-testid="duel-challenge-select"]').select_option("guest:Bob")
    alice.locator('[data-testid="duel-challenge-send"]').click()

    # The challenger sees the offer waiting; the challenged gets a card with Accept / Decline.
    sent = alice.locator('[data-testid="duel-offer"][data-direction="outgoing"]')
    expect(sent).to_have_attribute("data-status", "offered", timeout=10_000)
    expect(sent).to_contain_text("Challenge sent to Bob")
    incoming = bob.locator('[data-testid="duel-offer"][data-direction="incoming"]')
    expect(incoming).to_have_attribute("data-status", "offered", timeout=10_000)
    expect(incoming).to_contain_text("Alice challenges you to a duel")
    expect(incoming).not_to_contain_text("guest:")
    bob.screenshot(path=ARTIFACTS / "challenge-1-offer-bob.png")
    alice.screenshot(path=ARTIFACTS / "challenge-1-offer-alice.png")
    incoming.locator('[data-testid="duel-offer-accept"]').click()

    # Both are in the duel; the challenger's card says it was accepted.
    for page, other in ((alice, "Bob"), (bob, "Alice")):
        view = running_view(page)
        expect(view).to_have_count(1, timeout=20_000)
        expect(view.locator('[data-testid="duel-opponent"] .jp-DuelView-player')).to_have_text(other)
    expect(sent).to_have_attribute("data-status", "accepted")
    expect(sent).to_contain_text("Bob accepted")
    first_battle = duel_ids(alice)
    assert len(first_battle) == 1 and duel_ids(bob) == first_battle

    # Alice gives up: the duel ends for both.
    expect(alice.locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=15_000)
    forfeit(alice)
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-outcome"]')).to_be_visible(timeout=15_000)
    expect(bob.locator('[data-testid="duel-outcome"]')).to_have_attribute("data-result", "won")

    # A rematch, from the outcome banner: Bob reads "Alice offers a rematch" and accepts it there.
    alice.locator('[data-testid="duel-rematch"]').click()
    waiting = alice.locator('[data-testid="duel-rematch-offer"][data-direction="outgoing"]')
    expect(waiting).to_have_attribute("data-status", "offered", timeout=10_000)
    expect(waiting).to_contain_text("Rematch offered to Bob")
    expect(alice.locator('[data-testid="duel-rematch"]')).to_be_disabled()
    offer = bob.locator('[data-testid="duel-rematch-offer"][data-direction="incoming"]')
    expect(offer).to_have_attribute("data-status", "offered", timeout=10_000)
    expect(offer).to_contain_text("Alice offers a rematch")
    bob.screenshot(path=ARTIFACTS / "challenge-2-rematch-offer-bob.png")
    offer.locator('[data-testid="duel-rematch-offer-accept"]').click()

    # A second duel between the same two: a new view in both browsers, running.
    for page, other in ((alice, "Bob"), (bob, "Alice")):
        expect(page.locator('[data-testid="duel-view"]')).to_have_count(2, timeout=20_000)
        view = running_view(page)
        expect(view).to_have_count(1)
        expect(view.locator('[data-testid="duel-opponent"] .jp-DuelView-player')).to_have_text(other)
        expect(view.locator('[data-testid="duel-outcome"]')).to_be_hidden()
        expect(view.locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=15_000)
        expect(view.locator('[data-testid="duel-submit"]')).to_be_enabled()
    second = [i for i in duel_ids(alice) if i not in first_battle]
    assert len(second) == 1 and set(duel_ids(bob)) == set(duel_ids(alice))
    expect(alice.locator('[data-testid="duel-queue-status"]')).to_have_attribute("data-state", "matched")
    alice.screenshot(path=ARTIFACTS / "challenge-3-rematch-alice.png")
