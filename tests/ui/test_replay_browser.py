"""The review of a finished duel, in a real JupyterLab with two players in two Chromium contexts: opened from the
history, it shows both final codes, every submission with its tests, and a replay of the typing (the middle of the
timeline shows the code as it was then); Play moves the time; the share link opens the same review in the other
player's JupyterLab and a refusal for a guest who did not play. Pictures at 1280x800 and 900x800, light and dark,
with a check that nothing in the tab sticks out of its container.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from browsers import assert_no_overflow, challenge_on, palette_labels, player, switch_theme, type_code
from helpers import ARTIFACTS, JupyterProcess

REVIEW = ".jp-DuelReview:not(.lm-mod-hidden)"
SIZES = ((1280, 800), (900, 800))


@pytest.fixture
def lab(tmp_path):
    lab = JupyterProcess(tmp_path, "lab", extra=("--DuelService.rate_guests=True", "--DuelService.countdown_s=1")).start()
    yield lab
    lab.stop()


def view_of(page: Page):
    return page.locator('[data-testid="duel-view"]').filter(visible=True)


def wait_for_verdict(page: Page, runs: int) -> None:
    """Wait until the player's results show the verdict of their ``runs``-th run (samples or submission)."""
    expect(view_of(page).locator('[data-testid="duel-run-label"]')).to_have_text(re.compile(rf"#{runs}$"), timeout=30_000)
    expect(view_of(page).locator('[data-testid="duel-verdict"]')).to_have_attribute("data-verdict", re.compile("."), timeout=30_000)


def lines(text: str) -> list[str]:
    """The text's non-blank lines without trailing spaces (an editor may keep or drop a last empty line)."""
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def scrub_to(page: Page, seconds: float) -> str:
    """Move the replay's scrubber as a drag would (its value is in tenths of a second); returns the time it shows
    then, as the review's ``data-t`` says it."""
    tenths = int(seconds * 10)
    page.locator(f'{REVIEW} [data-testid="duel-replay-scrubber"]').evaluate(
        "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input', {bubbles: true})); }", tenths
    )
    return f"{tenths / 10:.1f}"


def test_review_replay_and_share_link(chromium, lab):
    url = lab.url("lab", token=lab.token)
    alice = player(chromium, url, "Alice")
    bob = player(chromium, url, "Bob")
    alice.locator('[data-testid="duel-find"]').click()
    expect(alice.locator('[data-testid="duel-queue-status"]')).to_have_attribute("data-state", "waiting")
    bob.locator('[data-testid="duel-find"]').click()
    for page in (alice, bob):
        expect(view_of(page)).to_have_count(1, timeout=20_000)
        expect(view_of(page).locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=15_000)
    challenge = challenge_on(alice)

    # Alice types in two steps: the first half of the solution, a sample run, a pause, then the rest.
    reference = challenge.reference if challenge.reference.endswith("\n") else challenge.reference + "\n"
    split = reference.splitlines(keepends=True)
    half = max(1, len(split) // 2)
    first, rest = "".join(split[:half]), "".join(split[half:])
    assert lines(first) and lines(rest)
    type_code(alice, first)
    view_of(alice).locator('[data-testid="duel-run-samples"]').click()
    wait_for_verdict(alice, 1)
    # Bob submits a wrong answer meanwhile.
    bob_code = f"def {challenge.function}(*args):\n    return None  # bob's guess\n"
    type_code(bob, bob_code)
    view_of(bob).locator('[data-testid="duel-submit"]').click()
    wait_for_verdict(bob, 1)
    alice.wait_for_timeout(4000)  # a pause in Alice's typing, for the replay to show between the two steps
    alice.locator('[data-testid="duel-editor"] .cm-content').click()
    alice.keyboard.press("Control+End")
    alice.keyboard.insert_text(rest)
    view_of(alice).locator('[data-testid="duel-submit"]').click()
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-outcome"]').filter(visible=True)).to_be_visible(timeout=30_000)

    # The history's row has a Review button (a real button: keyboard reachable).
    alice.locator('[data-testid="duel-open-history"]').click()
    row = alice.locator('[data-testid="duel-history-row"]').first
    expect(row).to_have_attribute("data-result", "win", timeout=15_000)
    review_button = row.locator('[data-testid="duel-history-review"]')
    expect(review_button).to_have_attribute("aria-label", re.compile("Review the duel against Bob"))
    review_button.focus()
    alice.keyboard.press("Enter")
    review = alice.locator(REVIEW)
    expect(review).to_have_attribute("data-state", "loaded", timeout=20_000)
    battle_id = review.get_attribute("data-battle-id")
    assert battle_id == row.get_attribute("data-battle-id")
    expect(review.locator('[data-testid="duel-review-title"]')).to_have_text(f"Review: {challenge.title}")
    players = review.locator('[data-testid="duel-review-player"]')
    expect(players).to_have_count(2)
    expect(players.nth(0)).to_contain_text("Alice")
    expect(players.nth(0)).to_have_attribute("data-result", "win")
    expect(players.nth(1)).to_have_attribute("data-result", "loss")
    expect(players.nth(0).locator('[data-testid="duel-review-rating"]')).to_contain_text("(+")
    expect(review.locator('[data-testid="duel-review-outcome"]')).to_have_text("Alice won: solved every test first.")

    # Both final codes.
    finals = review.locator('[data-testid="duel-review-final-code"]')
    assert lines(finals.nth(0).inner_text()) == lines(reference)
    assert lines(finals.nth(1).inner_text()) == lines(bob_code)

    # Every submission: Alice's sample run, Bob's wrong submission, Alice's accepted one; tests behind a toggle.
    subs = review.locator('[data-testid="duel-review-submission"]')
    expect(subs).to_have_count(3)
    expect(subs.nth(0)).to_have_attribute("data-samples-only", "true")
    expect(subs.nth(0)).to_contain_text("Alice")
    expect(subs.nth(1)).to_contain_text("Bob")
    expect(subs.nth(1)).not_to_have_attribute("data-verdict", "AC")
    expect(subs.nth(2)).to_have_attribute("data-verdict", "AC")
    total = len(challenge.samples) + len(challenge.hidden)
    expect(subs.nth(2)).to_contain_text(f"{total}/{total} passed")
    toggle = subs.nth(2).locator('[data-testid="duel-review-tests-toggle"]')
    pills = subs.nth(2).locator('[data-testid="duel-review-tests"]')
    expect(pills).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(pills.locator(".jp-DuelPill")).to_have_count(total)
    expect(pills.locator('.jp-DuelPill[data-state="passed"]')).to_have_count(total)

    # The replay between Alice's sample run and her submission: the first half only, as typed then.
    markers = review.locator('[data-testid="duel-replay-marker"]')
    expect(markers).to_have_count(3)
    alice_handle = players.nth(0).get_attribute("data-player")
    alice_markers = review.locator(f'[data-testid="duel-replay-marker"][data-player="{alice_handle}"]')
    ran_at, submitted_at = (float(m.get_attribute("data-at")) for m in alice_markers.all())
    assert ran_at < submitted_at
    middle = scrub_to(alice, (ran_at + submitted_at) / 2)
    codes = review.locator('[data-testid="duel-replay-code"]')
    time = review.locator('[data-testid="duel-replay-time"]')
    expect(time).to_have_attribute("data-t", middle)
    assert lines(codes.nth(0).inner_text()) == lines(first)
    # A marker takes the replay to its submission (keyboard: it is a button); there the whole code is typed.
    alice_markers.nth(1).focus()
    alice.keyboard.press("Enter")
    expect(time).to_have_attribute("data-t", f"{submitted_at:.1f}")
    assert lines(codes.nth(0).inner_text()) == lines(reference)
    assert lines(codes.nth(1).inner_text()) == lines(bob_code)
    # Keyboard: Home, the arrows, space.
    scrubber = review.locator('[data-testid="duel-replay-scrubber"]')
    scrubber.focus()
    alice.keyboard.press("Home")
    expect(time).to_have_attribute("data-t", "0.0")
    expect(time).to_contain_text(re.compile(r"^00:00 / \d\d:\d\d$"))
    alice.keyboard.press("ArrowRight")
    expect(time).to_have_attribute("data-t", "1.0")
    alice.keyboard.press("ArrowRight")
    expect(time).to_have_attribute("data-t", "2.0")
    alice.keyboard.press("ArrowLeft")
    expect(time).to_have_attribute("data-t", "1.0")
    alice.keyboard.press("End")
    expect(time).to_have_attribute("data-t", f"{float(scrubber.get_attribute('max')) / 10:.1f}")
    play = review.locator('[data-testid="duel-replay-play"]')
    alice.keyboard.press(" ")
    expect(play).to_have_attribute("data-playing", "true")
    alice.keyboard.press(" ")
    expect(play).to_have_attribute("data-playing", "false")
    # Play moves the time on (at 16x), Pause stops it.
    alice.keyboard.press("Home")
    review.locator('[data-testid="duel-replay-speed"]').select_option("16")
    play.click()
    expect(play).to_have_text("Pause")
    alice.wait_for_function(
        "() => parseFloat(document.querySelector('.jp-DuelReview [data-testid=\"duel-replay-time\"]').dataset.t) > 2"
    )
    play.click()
    expect(play).to_have_text("Play")
    held = time.get_attribute("data-t")
    assert float(held) > 2
    alice.wait_for_timeout(500)
    expect(time).to_have_attribute("data-t", held)
    alice.keyboard.press("End")

    # Pictures and layout, light then dark, at both sizes.
    for theme, (name, light) in (("light", ("JupyterLab Light", True)), ("dark", ("JupyterLab Dark", False))):
        if not light:
            switch_theme(alice, name, light=False)
        for (width, height), step in zip(SIZES, ("1-review", "2-review")):
            alice.set_viewport_size({"width": width, "height": height})
            alice.wait_for_function("([w]) => window.innerWidth === w", arg=[width])
            alice.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
            expect(review).to_be_visible()
            review.locator(".jp-DuelReview-body").evaluate("el => { el.scrollTop = 0; }")
            alice.screenshot(path=ARTIFACTS / f"replay-{step}-{width}x{height}-{theme}.png")
            assert_no_overflow(alice, REVIEW)
    # Narrow: the two codes stack; wide: side by side.
    first_box, second_box = (codes.nth(i).bounding_box() for i in (0, 1))
    assert second_box["y"] >= first_box["y"] + first_box["height"] - 1, (first_box, second_box)
    alice.set_viewport_size({"width": 1280, "height": 800})
    alice.wait_for_function("() => window.innerWidth === 1280")
    expect(codes.nth(1)).to_be_visible()
    first_box, second_box = (codes.nth(i).bounding_box() for i in (0, 1))
    assert abs(second_box["y"] - first_box["y"]) < 2 and second_box["x"] > first_box["x"], (first_box, second_box)

    # The share link: copied, then opened in Bob's JupyterLab (his own context, already signed in).
    copy = review.locator('[data-testid="duel-review-copy-link"]')
    link = copy.get_attribute("data-link")
    assert link == f"{lab.root}lab?duel-review={battle_id}", link
    copy.click()
    expect(review.locator('[data-testid="duel-review-copy-status"]')).to_have_text("Link copied.")
    bob.goto(link)
    bob_review = bob.locator(REVIEW)
    expect(bob_review).to_have_attribute("data-state", "loaded", timeout=60_000)
    expect(bob_review).to_have_attribute("data-battle-id", battle_id)
    expect(bob_review.locator('[data-testid="duel-review-title"]')).to_have_text(f"Review: {challenge.title}")
    expect(bob_review.locator('[data-testid="duel-review-submission"]')).to_have_count(3)
    assert lines(bob_review.locator('[data-testid="duel-review-final-code"]').nth(1).inner_text()) == lines(bob_code)
    assert "duel-review" not in bob.url  # taken off the address once opened

    # A guest who did not play gets the refusal, not an empty tab.
    carol = player(chromium, url, "Carol")
    carol.goto(link)
    carol_review = carol.locator(REVIEW)
    expect(carol_review).to_have_attribute("data-state", "refused", timeout=60_000)
    expect(carol_review.locator('[data-testid="duel-review-message"]')).to_have_text(
        "This duel’s review is only for its players and instructors."
    )
    expect(carol_review.locator('[data-testid="duel-review-final-code"]')).to_have_count(0)
    carol.screenshot(path=ARTIFACTS / "replay-3-refused.png")
    # An id that no finished duel has.
    carol.goto(f"{lab.root}lab?duel-review=no-such-duel")
    expect(carol.locator(REVIEW)).to_have_attribute("data-state", "unknown", timeout=60_000)
    expect(carol.locator(f'{REVIEW} [data-testid="duel-review-message"]')).to_have_text("No finished duel has this id.")

    # The command is in the palette, for an id or a pasted link.
    assert "Open Duel Review…" in palette_labels(alice, "duel review", "Open Duel Review…")
