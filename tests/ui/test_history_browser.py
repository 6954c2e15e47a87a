"""The Duel history widget: battles with results, the rating chart, the leaderboard; and the practice bot.

Guests are rated here (``rate_guests``): the leaderboard lists them and a forfeit changes their ratings.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from helpers import ARTIFACTS, JupyterProcess
from browsers import challenge_on, player, switch_theme


@pytest.fixture
def lab(tmp_path):
    lab = JupyterProcess(
        tmp_path,
        "lab",
        extra=("--DuelService.countdown_s=1", "--DuelService.bot_after_s=1", "--DuelService.rate_guests=True"),
    ).start()
    yield lab
    lab.stop()


def open_history(page: Page):
    page.locator('[data-testid="duel-open-history"]').click()
    history = page.locator('[data-testid="duel-history"]')
    expect(history).to_be_visible(timeout=10_000)
    return history


def forfeit(page: Page) -> None:
    page.locator('[data-testid="duel-forfeit"]').click()
    page.locator(".jp-Dialog .jp-mod-warn", has_text="Forfeit").click()


def chart_line_colour(page: Page) -> str:
    return page.evaluate(
        """() => {
          const canvas = document.querySelector('[data-testid="duel-rating-chart"] canvas');
          return canvas ? canvas.toDataURL().length + ':' + getComputedStyle(document.body)
            .getPropertyValue('--jp-layout-color0') : '';
        }"""
    )


def test_history_after_a_forfeit(chromium, lab):
    url = lab.url("lab", token=lab.token)
    alice = player(chromium, url, "Alice")
    bob = player(chromium, url, "Bob")
    # New players' ratings are provisional.
    expect(alice.locator('[data-testid="duel-provisional"]')).to_be_visible()

    alice.locator('[data-testid="duel-find"]').click()
    expect(alice.locator('[data-testid="duel-queue-window"]')).to_contain_text("±")
    bob.locator('[data-testid="duel-find"]').click()
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-view"]')).to_be_visible(timeout=20_000)
        expect(page.locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=10_000)
    # Bob submits the starter code (wrong): once somebody has submitted, a forfeit is rated.
    bob.locator('[data-testid="duel-submit"]').click()
    expect(bob.locator('[data-testid="duel-verdict"]')).to_have_text(re.compile(r"^(WA|RE|CE) "), timeout=30_000)
    forfeit(alice)
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-outcome"]')).to_be_visible(timeout=15_000)

    expected = {"alice": (alice, "loss", "Bob"), "bob": (bob, "win", "Alice")}
    for who, (page, result, opponent) in expected.items():
        history = open_history(page)
        row = history.locator('[data-testid="duel-history-row"]').first
        expect(row).to_have_attribute("data-result", result, timeout=10_000)
        expect(row).to_contain_text(opponent)
        expect(row).not_to_contain_text("guest:")
        # A ranked duel mirrors outlines only (the default), and the history says so.
        expect(row).to_have_attribute("data-mirror", "shape")
        expect(row).to_contain_text("outline")
        expect(history.locator('[data-testid="duel-history-row"]')).to_have_count(1)
        chart = page.locator('[data-testid="duel-rating-chart"]')
        expect(chart).to_have_attribute("data-points", re.compile(r"^([2-9]|\d\d+)$"))
        expect(chart.locator("canvas")).to_be_visible()
        board = page.locator('[data-testid="duel-leaderboard"]')
        expect(board.locator('tr[data-me="true"]')).to_contain_text(who.capitalize())
        expect(board).not_to_contain_text("guest:")
        names = board.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.name)")
        assert {"guest:Alice", "guest:Bob"} <= set(names), names  # handles; shown as display names
        shown = board.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.displayName)")
        assert {"Alice", "Bob"} <= set(shown), shown
        expect(page.locator(".jp-DuelHistory-who")).to_have_text(who.capitalize())
        page.screenshot(path=ARTIFACTS / f"history-1-light-{who}.png")

    # Bob (the winner) ranks above Alice on the leaderboard.
    names = alice.locator('[data-testid="duel-leaderboard"] tbody tr').evaluate_all(
        "rows => rows.map(r => r.dataset.displayName)"
    )
    assert names.index("Bob") < names.index("Alice"), names

    # Dark theme: the chart is redrawn with the theme's colours.
    light = chart_line_colour(alice)
    switch_theme(alice, "JupyterLab Dark", light=False)
    dark = chart_line_colour(alice)
    assert dark != light
    alice.screenshot(path=ARTIFACTS / "history-2-dark-alice.png")


def test_practice_bot_is_offered_and_unrated(chromium, lab):
    url = lab.url("lab", token=lab.token)
    carol = player(chromium, url, "Carol")
    rating = carol.locator('[data-testid="duel-rating"]').inner_text()
    carol.locator('[data-testid="duel-find"]').click()
    offer = carol.locator('[data-testid="duel-bot-offer"]')
    expect(offer).to_be_visible(timeout=20_000)
    expect(offer).to_contain_text("practice against a bot")
    carol.screenshot(path=ARTIFACTS / "bot-1-offer.png")
    carol.locator('[data-testid="duel-bot-speed"]').select_option("fast")
    carol.locator('[data-testid="duel-play-bot"]').click()

    expect(carol.locator('[data-testid="duel-view"]')).to_be_visible(timeout=20_000)
    expect(carol.locator('[data-testid="duel-opponent-bot"]')).to_be_visible()
    expect(carol.locator('[data-testid="duel-practice"]')).to_have_text("practice, unrated")
    expect(carol.locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=10_000)
    # The bot types the reference solution into the mirror (from an empty text, not after the starter).
    reference = challenge_on(carol).reference
    mirror = carol.locator('[data-testid="duel-mirror"] .cm-content')
    expect(mirror).to_contain_text(reference.splitlines()[0][:12], timeout=15_000)
    carol.wait_for_timeout(1500)
    # Blank lines left out on both sides: an empty editor line reads back as one or two newlines.
    shown = "\n".join(line.rstrip() for line in mirror.inner_text().splitlines() if line.strip())
    expected = "\n".join(line.rstrip() for line in reference.splitlines() if line.strip())
    assert shown and expected.startswith(shown[: len(shown) - 5]), (shown, expected)
    carol.screenshot(path=ARTIFACTS / "bot-2-practice.png")
    forfeit(carol)
    expect(carol.locator('[data-testid="duel-outcome"]')).to_be_visible(timeout=15_000)
    expect(carol.locator('[data-testid="duel-rating"]')).to_have_text(rating)

    history = open_history(carol)
    row = history.locator('[data-testid="duel-history-row"]').first
    expect(row).to_have_attribute("data-result", "loss", timeout=10_000)
    expect(row).to_have_attribute("data-ranked", "false")
