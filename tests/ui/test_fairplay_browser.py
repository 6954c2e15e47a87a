"""Fair play in the browser: what a player sees of the opponent's code per mirror mode, the final codes revealed
when a duel ends, the review flags in the history, and guest names bound to the browser that chose them.

Each test runs a real JupyterLab with its own options and two isolated Chromium contexts (two machines).
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from browsers import (
    VIEWPORT,
    challenge_on,
    player,
    set_name,
    show_duel_panel,
    switch_theme,
    type_code,
)
from helpers import ARTIFACTS, JupyterProcess
from jupyter_duel_server.mirror import code_shape

# Installed in a page before the duel: records every marker that shows up anywhere in the DOM (text, attributes,
# added nodes) while no outcome is shown, that is while the battle runs.
WATCH_LEAKS = """markers => {
  window.__duelLeaks = [];
  const running = () => !document.querySelector('[data-testid="duel-outcome"][data-result]');
  const check = (text, where) => {
    if (!text || !running()) { return; }
    for (const m of markers) {
      if (text.includes(m)) { window.__duelLeaks.push(`${m} in ${where}`); }
    }
  };
  new MutationObserver(records => {
    for (const r of records) {
      if (r.type === 'characterData') { check(r.target.data, 'text'); }
      else if (r.type === 'attributes') { check(r.target.getAttribute(r.attributeName), r.attributeName); }
      else { for (const n of r.addedNodes) { check(n.textContent, 'node'); } }
    }
  }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
}"""

SHAPE_MATCHES = """expected => {
  const rows = [...document.querySelectorAll('[data-testid="duel-mirror-shape"] [data-testid="duel-shape-line"]')];
  return rows.length === expected.length && rows.every(
    (row, i) => Number(row.dataset.indent) === expected[i][0] && Number(row.dataset.length) === expected[i][1]);
}"""


def lab_with(tmp_path, *options: str) -> JupyterProcess:
    return JupyterProcess(tmp_path, "lab", extra=("--DuelService.countdown_s=1", *options)).start()


def shown_shape(page: Page) -> list[list[int]]:
    return page.locator('[data-testid="duel-shape-line"]').evaluate_all(
        "rows => rows.map(r => [Number(r.dataset.indent), Number(r.dataset.length)])"
    )


def wait_for_shape(page: Page, code: str) -> None:
    """Wait until the page's outline is the one of ``code``, then check it row by row."""
    expected = code_shape(code)
    page.wait_for_function(SHAPE_MATCHES, arg=expected, timeout=20_000)
    assert shown_shape(page) == expected
    stats = page.locator('[data-testid="duel-shape-stats"]')
    expect(stats).to_have_attribute("data-lines", str(len(expected)))
    expect(stats).to_have_attribute("data-chars", str(len(code)))


def join_second(first: Page, second: Page) -> None:
    """``second`` queues while ``first`` waits: both get the duel view, and the clock runs."""
    second.locator('[data-testid="duel-find"]').click()
    for page in (first, second):
        expect(page.locator('[data-testid="duel-view"]')).to_be_visible(timeout=20_000)
        expect(page.locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=15_000)


def leaks(page: Page) -> list[str]:
    return page.evaluate("window.__duelLeaks")


def test_ranked_duel_shows_outline_only_then_reveals_both_codes(chromium, tmp_path):
    lab = lab_with(tmp_path, "--DuelService.rate_guests=True")
    try:
        url = lab.url("lab", token=lab.token)
        alice = player(chromium, url, "Alice")
        bob = player(chromium, url, "Bob")
        # Words only each author ever types: the other page must not show them while the battle runs.
        alice_secret, bob_secret = "alice_only_7Kq2", "bob_only_3Zx9"
        alice_final = "alice_final_Wm4"
        alice.evaluate(WATCH_LEAKS, [bob_secret])
        bob.evaluate(WATCH_LEAKS, [alice_secret, alice_final])

        alice.locator('[data-testid="duel-find"]').click()
        queue = alice.locator('[data-testid="duel-queue-status"]')
        expect(queue).to_contain_text("Ranked · outline only")
        expect(queue).to_have_attribute("data-mirror", "shape")
        join_second(alice, bob)
        for page in (alice, bob):
            mode = page.locator('[data-testid="duel-mirror-mode"]')
            expect(mode).to_have_attribute("data-mode", "shape")
            expect(mode).to_have_text("Outline only (ranked)")
            assert "none of its text" in mode.get_attribute("title")
            expect(page.locator('[data-testid="duel-mirror-shape"]')).to_be_visible()
            expect(page.locator('[data-testid="duel-mirror"]')).to_have_count(0)
        challenge = challenge_on(alice)

        # Alice types; Bob sees the outline of her lines (indentation, length), with line and character counts.
        # Over 200 characters in one edit: a paste, which the history flags.
        draft = (
            f"def {challenge.function}(*args):\n"
            f"    {alice_secret} = [a for a in args]\n"
            "    if not args:\n"
            "        return None\n"
            "\n"
            "    for item in args:\n"
            "\tpass\n"
            "    # a long comment line, so that this single edit is long enough to be kept as a paste signal ....\n"
            "    # (the edit sent is a diff against the starter code: what both share does not count as inserted)\n"
            "    return 'not it'\n"
        )
        assert len(draft) >= 300
        type_code(alice, draft)
        wait_for_shape(bob, draft)
        expect(bob.locator('[data-testid="duel-shape-stats"]')).to_contain_text(f"{len(code_shape(draft))} lines")
        assert alice_secret not in bob.content()
        bob.screenshot(path=ARTIFACTS / "fairplay-1-shape-light-bob.png")

        # Bob types too: Alice gets his outline, not his text.
        bob_code = f"def {challenge.function}(*args):\n    {bob_secret} = 1\n    return {bob_secret}\n"
        type_code(bob, bob_code)
        wait_for_shape(alice, bob_code)
        assert bob_secret not in alice.content()

        # The same outline in the dark theme.
        switch_theme(bob, "JupyterLab Dark", light=False)
        bob.screenshot(path=ARTIFACTS / "fairplay-2-shape-dark-bob.png")

        # Alice's final, correct code: the outline follows; the battle ends; both codes are revealed to both.
        final = challenge.reference.rstrip("\n") + f"\n# {alice_final}\n"
        type_code(alice, final)
        wait_for_shape(bob, final)
        assert alice_final not in bob.content() and alice_secret not in bob.content()
        alice.locator('[data-testid="duel-submit"]').click()
        for page in (alice, bob):
            expect(page.locator('[data-testid="duel-outcome"]')).to_be_visible(timeout=30_000)
            expect(page.locator('[data-testid="duel-revealed"]')).to_be_visible()
            expect(page.locator('[data-testid="duel-revealed"]')).to_have_text("Revealed")
            expect(page.locator('[data-testid="duel-mirror-shape"]')).to_be_hidden()
        expect(alice.locator('[data-testid="duel-outcome"]')).to_have_attribute("data-result", "won")
        expect(bob.locator('[data-testid="duel-revealed-code"] .cm-content')).to_contain_text(alice_final)
        expect(alice.locator('[data-testid="duel-revealed-code"] .cm-content')).to_contain_text(bob_secret)
        # Nothing of the other's text ever reached either page while the battle ran.
        assert leaks(bob) == [] and leaks(alice) == []
        bob.screenshot(path=ARTIFACTS / "fairplay-3-revealed-dark-bob.png")
        alice.screenshot(path=ARTIFACTS / "fairplay-3-revealed-light-alice.png")

        # The history flags Alice's pastes (for a person to review) and says the duel mirrored outlines only.
        alice.locator('[data-testid="duel-open-history"]').click()
        row = alice.locator('[data-testid="duel-history-row"]').first
        expect(row).to_have_attribute("data-mirror", "shape", timeout=10_000)
        pastes = row.locator('[data-testid="duel-signal-pastes"][data-player="guest:Alice"]')
        expect(pastes).to_be_visible()
        expect(pastes).to_contain_text("You:")
        assert int(pastes.get_attribute("data-count")) >= 1
        assert "characters at" in pastes.get_attribute("title")
        expect(row).not_to_contain_text("guest:")
        alice.screenshot(path=ARTIFACTS / "fairplay-4-history-alice.png")
    finally:
        lab.stop()


def test_delayed_mirror_shows_text_late_and_flags_similar_codes(chromium, tmp_path):
    lab = lab_with(tmp_path, '--DuelService.mirror_modes={"casual": "delayed"}', "--DuelService.mirror_delay_s=3")
    try:
        url = lab.url("lab", token=lab.token)
        alice = player(chromium, url, "Alice")
        bob = player(chromium, url, "Bob")
        alice.locator('[data-testid="duel-find"]').click()
        # Guests play casual by default, whatever the ranked box says.
        expect(alice.locator('[data-testid="duel-queue-status"]')).to_contain_text("Casual · delayed mirror")
        join_second(alice, bob)
        for page in (alice, bob):
            mode = page.locator('[data-testid="duel-mirror-mode"]')
            expect(mode).to_have_attribute("data-mode", "delayed")
            expect(mode).to_have_text("Delayed · 3 s behind")
            expect(page.locator('[data-testid="duel-mirror"]')).to_be_visible()
            expect(page.locator('[data-testid="duel-mirror-shape"]')).to_have_count(0)
        challenge = challenge_on(alice)

        marker = "typed_by_alice_Rj8"
        mirror = bob.locator('[data-testid="duel-mirror"] .cm-content')
        type_code(alice, f"def {challenge.function}(*args):\n    {marker} = 0\n    return {marker}\n")
        # Right after typing the mirror still shows the older text; the edit arrives once the delay has passed.
        assert marker not in mirror.inner_text()
        expect(mirror).to_contain_text(f"{marker} = 0", timeout=15_000)
        bob.screenshot(path=ARTIFACTS / "fairplay-5-delayed-bob.png")

        # Both end with the same solution (Bob "copies"); Bob submits it and wins.
        type_code(alice, challenge.reference)
        type_code(bob, challenge.reference)
        expect(alice.locator('[data-testid="duel-mirror"] .cm-content')).to_contain_text(
            max(challenge.reference.splitlines(), key=len).strip(), timeout=15_000
        )
        bob.locator('[data-testid="duel-submit"]').click()
        for page in (alice, bob):
            expect(page.locator('[data-testid="duel-outcome"]')).to_be_visible(timeout=30_000)
            expect(page.locator('[data-testid="duel-revealed"]')).to_be_visible()
        expect(bob.locator('[data-testid="duel-outcome"]')).to_have_attribute("data-result", "won")

        # The history flags the two final codes as alike: a chip with the percentage and an explaining tooltip.
        bob.locator('[data-testid="duel-open-history"]').click()
        row = bob.locator('[data-testid="duel-history-row"]').first
        expect(row).to_have_attribute("data-mirror", "delayed", timeout=10_000)
        expect(row).to_have_attribute("data-ranked", "false")
        similar = row.locator('[data-testid="duel-signal-similar"]')
        expect(similar).to_be_visible()
        assert float(similar.get_attribute("data-similarity")) >= 0.8
        expect(similar).to_contain_text("similar")
        assert "not proof" in similar.get_attribute("title")
        bob.screenshot(path=ARTIFACTS / "fairplay-6-history-similar-bob.png")
    finally:
        lab.stop()


def test_guest_name_belongs_to_the_browser_that_chose_it(chromium, tmp_path):
    lab = lab_with(tmp_path)
    try:
        url = lab.url("lab", token=lab.token)
        alice = player(chromium, url, "Alice")
        keys = alice.evaluate(
            "() => Object.keys(localStorage).filter(k => k.startsWith('jupyter-duel:guest-key:'))"
        )
        assert len(keys) == 1 and "Alice" in keys[0], keys
        expect(alice.locator('[data-testid="duel-name-error"]')).to_be_hidden()

        # Another browser asks for the same name: refused, said next to the name field; it plays as its
        # Jupyter user meanwhile.
        other = chromium.new_context(viewport=VIEWPORT).new_page()
        other.goto(url)
        show_duel_panel(other)
        expect(other.locator('[data-testid="duel-connection"]')).to_have_attribute(
            "data-state", "connected", timeout=20_000
        )
        set_name(other, "Alice")
        error = other.locator('[data-testid="duel-name-error"]')
        expect(error).to_be_visible(timeout=20_000)
        expect(error).to_have_attribute("data-code", "name_taken")
        expect(error).to_contain_text("This guest name is used in another browser")
        expect(error).to_contain_text("Alice")
        expect(other.locator('[data-testid="duel-connection"]')).to_have_attribute(
            "data-state", "connected", timeout=20_000
        )
        expect(other.locator('[data-testid="duel-me"]')).not_to_have_text("Alice")
        other.screenshot(path=ARTIFACTS / "fairplay-7-name-taken.png")

        # A look-alike of Alice's name is refused too.
        set_name(other, "A1ice")
        expect(error).to_have_attribute("data-code", "name_confusable", timeout=20_000)
        expect(error).to_contain_text("Looks like another player’s name")
        expect(error).to_contain_text("A1ice")
        # A name of its own is fine, and the message goes.
        set_name(other, "Carol")
        expect(other.locator('[data-testid="duel-me"]')).to_have_text("Carol", timeout=20_000)
        expect(error).to_be_hidden()

        # Alice's browser keeps the name: after a reload, and in a new tab of the same browser.
        alice.reload()
        show_duel_panel(alice)
        expect(alice.locator('[data-testid="duel-me"]')).to_have_text("Alice", timeout=30_000)
        expect(alice.locator('[data-testid="duel-connection"]')).to_have_attribute("data-state", "connected")
        expect(alice.locator('[data-testid="duel-name-error"]')).to_be_hidden()
        tab = alice.context.new_page()
        tab.goto(url)
        show_duel_panel(tab)
        set_name(tab, "Alice")
        expect(tab.locator('[data-testid="duel-me"]')).to_have_text("Alice", timeout=20_000)
        expect(tab.locator('[data-testid="duel-connection"]')).to_have_attribute("data-state", "connected")
        expect(tab.locator('[data-testid="duel-name-error"]')).to_be_hidden()
    finally:
        lab.stop()


def test_mirror_off_hides_the_code_until_the_end(chromium, tmp_path):
    lab = lab_with(tmp_path, '--DuelService.mirror_modes={"casual": "off"}')
    try:
        url = lab.url("lab", token=lab.token)
        alice = player(chromium, url, "Alice")
        bob = player(chromium, url, "Bob")
        secret = "hidden_from_bob_Pv5"
        bob.evaluate(WATCH_LEAKS, [secret])
        alice.locator('[data-testid="duel-find"]').click()
        expect(alice.locator('[data-testid="duel-queue-status"]')).to_contain_text("Casual · code hidden")
        join_second(alice, bob)
        mode = bob.locator('[data-testid="duel-mirror-mode"]')
        expect(mode).to_have_attribute("data-mode", "off")
        expect(mode).to_have_text("Hidden until the end")
        expect(bob.locator('[data-testid="duel-mirror-off"]')).to_contain_text("Alice's code is hidden until the end")
        expect(bob.locator('[data-testid="duel-mirror"]')).to_have_count(0)
        expect(bob.locator('[data-testid="duel-mirror-shape"]')).to_have_count(0)
        challenge = challenge_on(alice)
        type_code(alice, f"def {challenge.function}(*args):\n    return '{secret}'\n")
        # Alice's own sample run: once it is answered, the service has her code for sure.
        alice.locator('[data-testid="duel-run-samples"]').click()
        expect(alice.locator('[data-testid="duel-verdict"]')).to_have_attribute(
            "data-verdict", re.compile(r"^[A-Z]+$"), timeout=30_000
        )
        assert secret not in bob.content()
        bob.screenshot(path=ARTIFACTS / "fairplay-8-off-bob.png")

        alice.locator('[data-testid="duel-forfeit"]').click()
        alice.locator(".jp-Dialog .jp-mod-warn", has_text="Forfeit").click()
        expect(bob.locator('[data-testid="duel-outcome"]')).to_be_visible(timeout=15_000)
        expect(bob.locator('[data-testid="duel-revealed"]')).to_be_visible()
        expect(bob.locator('[data-testid="duel-mirror-off"]')).to_be_hidden()
        expect(bob.locator('[data-testid="duel-revealed-code"] .cm-content')).to_contain_text(secret)
        assert leaks(bob) == []
    finally:
        lab.stop()
