"""Two players duel in a real JupyterLab through two isolated headless Chromium contexts.

Guests are rated here (``rate_guests``) and ranked duels mirror live, so one duel shows the live mirror, the
rating change and the final codes revealed at the end.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browsers import challenge_on, player, switch_theme, type_code
from helpers import ARTIFACTS, JupyterProcess


@pytest.fixture
def jupyterlab(tmp_path):
    """A real `jupyter lab` with the extension, its own config, data and database."""
    lab = JupyterProcess(
        tmp_path, "lab", extra=("--DuelService.rate_guests=True", '--DuelService.mirror_modes={"ranked": "live"}')
    ).start()
    yield lab.url("lab", token=lab.token)
    lab.stop()


def test_two_browsers_duel_to_the_end(chromium, jupyterlab):
    # Two isolated contexts: separate storage, as two students on two machines would be.
    alice = player(chromium, jupyterlab, "Alice")
    bob = player(chromium, jupyterlab, "Bob", color_scheme="dark")
    rating_before = {p: p.locator('[data-testid="duel-rating"]').inner_text() for p in (alice, bob)}

    alice.locator('[data-testid="duel-find"]').click()
    queue = alice.locator('[data-testid="duel-queue-status"]')
    expect(queue).to_have_attribute("data-state", "waiting")
    expect(queue).to_contain_text("#1")
    expect(queue).to_contain_text("Ranked · live mirror")
    bob.locator('[data-testid="duel-find"]').click()
    for page, other in ((alice, "Bob"), (bob, "Alice")):
        expect(page.locator('[data-testid="duel-view"]')).to_be_visible(timeout=20_000)
        opponent = page.locator('[data-testid="duel-opponent"]')
        expect(opponent).to_be_visible()
        # Display names, never the "guest:" handle; guests are tagged.
        expect(opponent.locator(".jp-DuelView-player")).to_have_text(other)
        expect(page.locator('[data-testid="duel-opponent-guest"]')).to_be_visible()
        expect(page.locator('[data-testid="duel-view"]')).not_to_contain_text("guest:")
        mode = page.locator('[data-testid="duel-mirror-mode"]')
        expect(mode).to_have_attribute("data-mode", "live")
        expect(mode).to_have_text("Live")
    challenge = challenge_on(alice)
    assert challenge_on(bob).id == challenge.id
    alice.screenshot(path=ARTIFACTS / "ui-1-matched-alice.png")

    # What Alice types shows up in Bob's read-only mirror.
    wrong = f"def {challenge.function}(*args):\n    return 'not it'  # mirrored\n"
    type_code(alice, wrong)
    expect(bob.locator('[data-testid="duel-mirror"] .cm-content')).to_contain_text(
        "return 'not it'  # mirrored", timeout=10_000
    )
    bob.screenshot(path=ARTIFACTS / "ui-2-mirror-bob.png")

    # A wrong submission shows failing tests.
    alice.locator('[data-testid="duel-submit"]').click()
    expect(alice.locator('[data-testid="duel-test-row"][data-passed="false"]').first).to_be_visible(
        timeout=30_000
    )
    expect(alice.locator('[data-testid="duel-verdict"]')).to_contain_text("WA", timeout=30_000)
    alice.screenshot(path=ARTIFACTS / "ui-3-wrong-submission-alice.png")

    # The right one ends the battle: a winner and changed ratings in both browsers.
    type_code(alice, challenge.reference)
    alice.locator('[data-testid="duel-submit"]').click()
    outcomes = {}
    for page in (alice, bob):
        outcome = page.locator('[data-testid="duel-outcome"]')
        expect(outcome).to_be_visible(timeout=30_000)
        outcomes[page] = outcome
    expect(outcomes[alice]).to_contain_text("You won")
    expect(outcomes[bob]).to_contain_text("You lost")
    expect(outcomes[alice]).to_contain_text("Bob")
    expect(outcomes[bob]).to_contain_text("Alice")
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-outcome"]')).not_to_contain_text("guest:")
    # The final codes are revealed: Bob sees Alice's winning code in full.
    expect(bob.locator('[data-testid="duel-revealed"]')).to_be_visible()
    revealed = bob.locator('[data-testid="duel-revealed-code"] .cm-content')
    expect(revealed).to_contain_text(max(challenge.reference.splitlines(), key=len).strip())
    expect(alice.locator('[data-testid="duel-revealed"]')).to_be_visible()
    assert outcomes[alice].get_attribute("data-result") == "won"
    assert outcomes[bob].get_attribute("data-result") == "lost"
    a_before, a_after = (float(outcomes[alice].get_attribute(k)) for k in ("data-rating-before", "data-rating-after"))
    b_before, b_after = (float(outcomes[bob].get_attribute(k)) for k in ("data-rating-before", "data-rating-after"))
    assert a_after > a_before and b_after < b_before
    assert round(a_before) == int(rating_before[alice]) and round(b_before) == int(rating_before[bob])
    for page, who in ((alice, "alice"), (bob, "bob")):
        page.screenshot(path=ARTIFACTS / f"ui-4-result-{who}.png")
    # The sidebar shows the new rating too.
    expect(alice.locator('[data-testid="duel-rating"]')).to_have_text(str(round(a_after)), timeout=10_000)
    expect(bob.locator('[data-testid="duel-rating"]')).to_have_text(str(round(b_after)), timeout=10_000)

    # The same view in JupyterLab's dark theme.
    switch_theme(bob, "JupyterLab Dark", light=False)
    bob.screenshot(path=ARTIFACTS / "ui-5-result-bob-dark.png")
