"""A player reloads JupyterLab mid-duel and is put back into the running battle (docs/protocol.md § Resuming).

Also: the countdown before the clock starts, and the opponent's "disconnected" banner while a player is away.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from helpers import ARTIFACTS, JupyterProcess
from browsers import challenge_on, player, type_code

# Installed before the match: remembers whether the countdown overlay was ever shown (it lasts one second).
WATCH_COUNTDOWN = """() => {
  window.__duelSawCountdown = false;
  const check = () => {
    const el = document.querySelector('[data-testid="duel-countdown"]');
    if (el && !el.hidden && el.offsetParent !== null) { window.__duelSawCountdown = true; }
  };
  new MutationObserver(check).observe(document.body, { subtree: true, childList: true, attributes: true });
}"""


@pytest.fixture
def lab(tmp_path):
    lab = JupyterProcess(tmp_path, "lab", extra=("--DuelService.countdown_s=1",)).start()
    yield lab
    lab.stop()


def clock_left(page: Page) -> int:
    return int(page.locator('[data-testid="duel-clock"]').get_attribute("data-left"))


def test_reload_mid_duel_resumes_the_battle(chromium, lab):
    url = lab.url("lab", token=lab.token)
    alice = player(chromium, url, "Alice")
    bob = player(chromium, url, "Bob")
    for page in (alice, bob):
        page.evaluate(WATCH_COUNTDOWN)

    alice.locator('[data-testid="duel-find"]').click()
    # Guests are unrated by default: the ranked queue they asked for is casual, and casual duels mirror live.
    queue = alice.locator('[data-testid="duel-queue-status"]')
    expect(queue).to_contain_text("Casual · live mirror")
    expect(queue).to_have_attribute("data-ranked", "false")
    expect(alice.locator('[data-testid="duel-queue-note"]')).to_contain_text("Guests play casual duels")
    bob.locator('[data-testid="duel-find"]').click()
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-view"]')).to_be_visible(timeout=20_000)
    bob.screenshot(path=ARTIFACTS / "resume-0-matched-bob.png")
    # A countdown first (editor read-only, Submit disabled), then the clock runs.
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=10_000)
        assert page.evaluate("window.__duelSawCountdown"), "the countdown was never shown"
        expect(page.locator('[data-testid="duel-submit"]')).to_be_enabled()
    challenge = challenge_on(alice)

    # An earlier (wrong) submission whose results must survive the reload.
    type_code(alice, f"def {challenge.function}(*args):\n    return 'nope'\n")
    alice.locator('[data-testid="duel-submit"]').click()
    expect(alice.locator('[data-testid="duel-verdict"]')).to_contain_text("WA", timeout=30_000)
    rows_before = alice.locator('[data-testid="duel-test-row"]').count()
    assert rows_before > 0

    # Code typed after that submission, mirrored to Bob.
    marker = "# typed before the reload"
    draft = f"def {challenge.function}(*args):\n    {marker}\n    return None\n"
    type_code(alice, draft)
    expect(bob.locator('[data-testid="duel-mirror"] .cm-content')).to_contain_text(marker, timeout=10_000)
    left_before, t0 = clock_left(alice), time.monotonic()
    alice.screenshot(path=ARTIFACTS / "resume-1-before-reload-alice.png")

    alice.reload()
    view = alice.locator('[data-testid="duel-view"]')
    expect(view).to_be_visible(timeout=60_000)
    expect(alice.locator('[data-testid="duel-editor"] .cm-content')).to_contain_text(marker, timeout=10_000)
    expect(alice.locator('[data-testid="duel-verdict"]')).to_contain_text("WA")
    expect(alice.locator('[data-testid="duel-test-row"][data-passed="false"]').first).to_be_visible()
    assert alice.locator('[data-testid="duel-test-row"]').count() == rows_before
    expect(alice.locator('[data-testid="duel-countdown"]')).to_be_hidden()
    expect(alice.locator('[data-testid="duel-clock"]')).to_have_attribute("data-state", re.compile("running|low"))
    elapsed = time.monotonic() - t0
    left_after = clock_left(alice)
    assert abs(left_after - (left_before - elapsed)) <= 3, (left_before, elapsed, left_after)
    expect(bob.locator('[data-testid="duel-mirror"] .cm-content')).to_contain_text(marker)
    alice.screenshot(path=ARTIFACTS / "resume-2-after-reload-alice.png")

    # Alice leaves the page: Bob sees the banner with the grace time; she comes back and it goes away.
    alice.goto("about:blank")
    away = bob.locator('[data-testid="duel-opponent-disconnected"]')
    expect(away).to_be_visible(timeout=15_000)
    expect(away).to_have_attribute("data-grace", re.compile(r"^\d+(\.\d+)?$"))
    assert float(away.get_attribute("data-grace")) > 0
    expect(away).to_contain_text("Opponent disconnected")
    bob.screenshot(path=ARTIFACTS / "resume-3-opponent-away-bob.png")
    alice.goto(url)
    expect(alice.locator('[data-testid="duel-view"]')).to_be_visible(timeout=60_000)
    expect(alice.locator('[data-testid="duel-editor"] .cm-content')).to_contain_text(marker, timeout=10_000)
    expect(away).to_be_hidden(timeout=15_000)

    # The battle goes on: the right solution wins, both see the outcome.
    type_code(alice, challenge.reference)
    expect(bob.locator('[data-testid="duel-mirror"] .cm-content')).not_to_contain_text(marker, timeout=10_000)
    alice.locator('[data-testid="duel-submit"]').click()
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-outcome"]')).to_be_visible(timeout=30_000)
    expect(alice.locator('[data-testid="duel-outcome"]')).to_have_attribute("data-result", "won")
    expect(bob.locator('[data-testid="duel-outcome"]')).to_have_attribute("data-result", "lost")
    alice.screenshot(path=ARTIFACTS / "resume-4-won-alice.png")
    bob.screenshot(path=ARTIFACTS / "resume-4-lost-bob.png")

    # The token is forgotten with the battle: a reload now shows no running duel.
    alice.reload()
    expect(alice.locator('[data-testid="duel-connection"]')).to_have_attribute(
        "data-state", "connected", timeout=60_000
    )
    expect(alice.locator('[data-testid="duel-view"]')).to_have_count(0)
