"""The instructor's class view and spectate view in the browser.

In an embedded JupyterLab the Jupyter user (no guest name) is the instructor; guests never are. The instructor
puts the class on one challenge, follows a duel between two guests in the class view (names, tests passed),
spectates it (the typing of a player shows up live whatever the mirror shows the opponent, results stream),
pairs two other guests and aborts their duel with a reason the players read, and exports the results as CSV.

A real JupyterLab and one isolated Chromium context per person.
"""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Page, expect

from browsers import (
    LIBRARY,
    activate_tab,
    palette_labels,
    player,
    sample_lookup_code,
    show_duel_panel,
    switch_theme,
    type_code,
)
from helpers import ARTIFACTS, JupyterProcess

CHALLENGE = LIBRARY.get("add-two")
TOTAL = len(CHALLENGE.samples) + len(CHALLENGE.hidden)
REASON = "Wrong pairing, wait for the next round"


@pytest.fixture
def lab(tmp_path):
    lab = JupyterProcess(
        tmp_path, "lab", extra=("--DuelService.rate_guests=True", "--DuelService.countdown_s=1")
    ).start()
    yield lab
    lab.stop()


def instructor(browser, url: str) -> Page:
    """A browser of the Jupyter user: no guest name."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(url)
    show_duel_panel(page)
    expect(page.locator('[data-testid="duel-connection"]')).to_have_attribute("data-state", "connected", timeout=20_000)
    return page


def battle_card(teacher: Page, *handles: str):
    card = teacher.locator('[data-testid="duel-room-battle"]')
    for handle in handles:
        card = card.filter(has=teacher.locator(f'[data-testid="duel-room-player"][data-player="{handle}"]'))
    return card


def room_player(card, handle: str):
    return card.locator(f'[data-testid="duel-room-player"][data-player="{handle}"]')


def in_duel(*pages: Page) -> None:
    for page in pages:
        expect(page.locator('[data-testid="duel-view"]')).to_be_visible(timeout=20_000)
        expect(page.locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=15_000)


def test_class_view_spectate_pair_abort_export(chromium, lab):
    url = lab.url("lab", token=lab.token)
    teacher = instructor(chromium, url)
    alice = player(chromium, url, "Alice")
    bob = player(chromium, url, "Bob")

    # Only the instructor has the class view: the sidebar button and the palette command.
    expect(teacher.locator('[data-testid="duel-instructor"]')).to_be_visible()
    expect(alice.locator('[data-testid="duel-open-class-view"]')).to_be_hidden()
    expect(alice.locator('[data-testid="duel-instructor"]')).to_be_hidden()
    assert "Open Class View" not in palette_labels(alice, "open", shown="Open Duel History")
    assert "Open Class View" in palette_labels(teacher, "open", shown="Open Duel History")

    # The class view: live, with the online players; the class is put on one challenge.
    teacher.locator('[data-testid="duel-open-class-view"]').click()
    view = teacher.locator('[data-testid="duel-class-view"]')
    expect(view).to_be_visible(timeout=10_000)
    expect(view.locator('[data-testid="duel-class-status"]')).to_have_attribute("data-state", "live", timeout=10_000)
    for handle in ("guest:Alice", "guest:Bob"):
        expect(view.locator(f'[data-testid="duel-room-online"][data-player="{handle}"]')).to_be_visible()
    expect(view.locator('[data-testid="duel-room-no-battles"]')).to_be_visible()
    expect(view.locator(f'[data-testid="duel-class-challenge"] option[value="{CHALLENGE.id}"]')).to_have_count(1)
    view.locator('[data-testid="duel-class-challenge"]').select_option(CHALLENGE.id)
    view.locator('[data-testid="duel-class-apply"]').click()
    expect(view.locator('[data-testid="duel-class-settings-status"]')).to_have_attribute("data-state", "ok")
    current = view.locator('[data-testid="duel-class-current"]')
    expect(current).to_have_attribute("data-challenge", CHALLENGE.id, timeout=10_000)
    expect(current).to_contain_text(CHALLENGE.title)

    # Alice and Bob duel: the grid shows it with both names, guest marks and no test passed yet.
    alice.locator('[data-testid="duel-find"]').click()
    bob.locator('[data-testid="duel-find"]').click()
    in_duel(alice, bob)
    card = battle_card(teacher, "guest:Alice", "guest:Bob")
    expect(card).to_have_count(1, timeout=10_000)
    expect(card.locator('[data-testid="duel-room-challenge"]')).to_have_text(CHALLENGE.title)
    for handle, name in (("guest:Alice", "Alice"), ("guest:Bob", "Bob")):
        expect(room_player(card, handle).locator('[data-testid="duel-room-player-name"]')).to_have_text(name)
    expect(card.locator('[data-testid="duel-room-guest"]')).to_have_count(2)
    expect(card).not_to_contain_text("guest:")
    expect(room_player(card, "guest:Alice")).to_have_attribute("data-connected", "true")
    expect(room_player(card, "guest:Alice").locator('[data-testid="duel-room-bar"]')).to_have_text(f"0/{TOTAL}")
    expect(card.locator('[data-testid="duel-room-clock"]')).to_have_attribute("data-state", "running", timeout=10_000)

    # Alice submits a solution that knows the samples only: her bar shows the tests it passed.
    type_code(alice, sample_lookup_code(CHALLENGE))
    alice.locator('[data-testid="duel-submit"]').click()
    expect(alice.locator('[data-testid="duel-verdict"]')).to_contain_text("WA", timeout=30_000)
    passed = len(CHALLENGE.samples)
    alice_row = room_player(card, "guest:Alice")
    expect(alice_row).to_have_attribute("data-best", str(passed), timeout=10_000)
    expect(alice_row).to_have_attribute("data-submissions", "1")
    expect(alice_row.locator('[data-testid="duel-room-bar"]')).to_have_text(f"{passed}/{TOTAL}")
    expect(room_player(card, "guest:Bob").locator('[data-testid="duel-room-bar"]')).to_have_text(f"0/{TOTAL}")
    teacher.screenshot(path=ARTIFACTS / "class-1-view-light.png")

    # Spectate: both codes side by side; what Alice types shows up live (the ranked duel shows Bob only
    # outlines of it), her submission's results stream in.
    card.locator('[data-testid="duel-room-spectate"]').click()
    spectate = teacher.locator('[data-testid="duel-spectate-view"]')
    expect(spectate).to_be_visible(timeout=10_000)
    expect(spectate).to_have_attribute("data-state", "live", timeout=10_000)
    expect(alice.locator('[data-testid="duel-mirror-mode"]')).to_have_attribute("data-mode", "shape")
    panes = spectate.locator('[data-testid="duel-spectate-player"]')
    expect(panes).to_have_count(2)
    alice_pane = spectate.locator('[data-testid="duel-spectate-player"][data-player="guest:Alice"]')
    bob_pane = spectate.locator('[data-testid="duel-spectate-player"][data-player="guest:Bob"]')
    expect(alice_pane.locator('[data-testid="duel-spectate-name"]')).to_have_text("Alice")
    # The state so far: her code, her finished submission.
    expect(alice_pane.locator('[data-testid="duel-spectate-code"] .cm-content')).to_contain_text(".get(args)")
    expect(alice_pane.locator('[data-testid="duel-spectate-run"][data-done="true"]')).to_have_count(1)
    marker = "typed_live_for_the_teacher_Q7"
    type_code(alice, f"def {CHALLENGE.function}(a, b):\n    {marker} = a\n    return {marker} + b\n")
    expect(alice_pane.locator('[data-testid="duel-spectate-code"] .cm-content')).to_contain_text(
        f"{marker} + b", timeout=10_000
    )
    bob_code = f"def {CHALLENGE.function}(a, b):\n    return b + a  # bob\n"
    type_code(bob, bob_code)
    expect(bob_pane.locator('[data-testid="duel-spectate-code"] .cm-content')).to_contain_text("# bob", timeout=10_000)
    teacher.screenshot(path=ARTIFACTS / "class-2-spectate-live.png")
    bob.locator('[data-testid="duel-submit"]').click()
    # Bob's run streams in: a row with its tests, then its verdict; Bob's right solution ends the duel.
    bob_run = bob_pane.locator('[data-testid="duel-spectate-run"]').first
    expect(bob_run).to_have_attribute("data-done", "true", timeout=30_000)
    expect(bob_run).to_have_attribute("data-verdict", "AC")
    expect(bob_run).to_have_attribute("data-total", str(TOTAL))
    expect(bob_run.locator('[data-testid="duel-spectate-pill"][data-state="passed"]')).to_have_count(TOTAL)
    outcome = spectate.locator('[data-testid="duel-spectate-outcome"]')
    expect(outcome).to_be_visible(timeout=15_000)
    expect(outcome).to_have_attribute("data-reason", "solved")
    expect(outcome).to_contain_text("Bob won")
    expect(spectate).to_have_attribute("data-state", "over")
    teacher.screenshot(path=ARTIFACTS / "class-3-spectate-over.png")

    # The duel left the grid.
    activate_tab(teacher, "Class view")
    expect(battle_card(teacher, "guest:Alice")).to_have_count(0, timeout=10_000)

    # Two more guests; the instructor pairs them (they are not queued) and aborts their duel with a reason.
    carol = player(chromium, url, "Carol")
    dave = player(chromium, url, "Dave")
    for handle in ("guest:Carol", "guest:Dave"):
        expect(view.locator(f'[data-testid="duel-pair-first"] option[value="{handle}"]')).to_have_count(1, timeout=10_000)
    view.locator('[data-testid="duel-pair-first"]').select_option("guest:Carol")
    view.locator('[data-testid="duel-pair-second"]').select_option("guest:Dave")
    view.locator('[data-testid="duel-pair-send"]').click()
    expect(view.locator('[data-testid="duel-pair-status"]')).to_have_attribute("data-state", "ok", timeout=10_000)
    in_duel(carol, dave)
    for page, other in ((carol, "Dave"), (dave, "Carol")):
        expect(page.locator('[data-testid="duel-opponent"] .jp-DuelView-player')).to_have_text(other)
    paired = battle_card(teacher, "guest:Carol", "guest:Dave")
    expect(paired).to_have_count(1, timeout=10_000)
    expect(paired).to_have_attribute("data-challenge", CHALLENGE.id)

    # The same view in the dark theme.
    switch_theme(teacher, "JupyterLab Dark", light=False)
    teacher.screenshot(path=ARTIFACTS / "class-4-view-dark.png")

    paired.locator('[data-testid="duel-room-abort"]').click()
    teacher.locator('[data-testid="duel-abort-reason"]').fill(REASON)
    teacher.locator(".jp-Dialog .jp-mod-warn", has_text="Abort duel").click()
    for page in (carol, dave):
        outcome = page.locator('[data-testid="duel-outcome"]')
        expect(outcome).to_be_visible(timeout=15_000)
        expect(outcome).to_have_attribute("data-result", "aborted")
        expect(outcome.locator('[data-testid="duel-outcome-reason"]')).to_have_text(
            f"Aborted by the instructor: {REASON}"
        )
    carol.screenshot(path=ARTIFACTS / "class-5-aborted-carol.png")
    expect(paired).to_have_count(0, timeout=10_000)

    # The results as CSV: a header, the duel Bob won and the aborted one with its reason.
    with teacher.expect_download() as download:
        view.locator('[data-testid="duel-class-export"]').click()
    assert download.value.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    header, body = rows[0], [dict(zip(rows[0], row)) for row in rows[1:]]
    assert header[:3] == ["battle_id", "started_at", "ended_at"], header
    assert {"player_a", "player_b", "winner", "reason", "note"} <= set(header), header
    won = [r for r in body if {r["player_a"], r["player_b"]} == {"guest:Alice", "guest:Bob"}]
    assert len(won) == 1 and won[0]["winner"] == "guest:Bob" and won[0]["reason"] == "solved", body
    aborted = [r for r in body if {r["player_a"], r["player_b"]} == {"guest:Carol", "guest:Dave"}]
    assert len(aborted) == 1 and aborted[0]["reason"] == "aborted" and aborted[0]["note"] == REASON, body
