"""A class on a real JupyterHub, in headless Chromium: two students log in through the hub, their Duel panels find
the class's service by themselves, they are matched and finish a rated duel; the instructor, logged in the same
way, sees the duel in the class view and spectates it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browsers import activate_tab, challenge_on, show_duel_panel, type_code
from helpers import ARTIFACTS


def logged_in(hub, chromium, user) -> Page:
    page = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    hub.login(page, user)
    show_duel_panel(page)
    expect(page.locator('[data-testid="duel-connection"]')).to_have_attribute("data-state", "connected",
                                                                              timeout=30_000)
    expect(page.locator('[data-testid="duel-me"]')).to_have_text(user.name)
    return page


def test_a_rated_duel_through_the_hub_watched_by_the_instructor(hub, chromium):
    first, second = hub.students
    alice, bob = logged_in(hub, chromium, first), logged_in(hub, chromium, second)
    teacher = logged_in(hub, chromium, hub.instructor)
    # The hub's service, not a service of each student's own server: no guest names, and only the instructor
    # gets the class view.
    expect(alice.locator('[data-testid="duel-name-input"]')).to_be_disabled()
    expect(alice.locator('[data-testid="duel-open-class-view"]')).to_be_hidden()
    expect(teacher.locator('[data-testid="duel-instructor"]')).to_be_visible()
    teacher.locator('[data-testid="duel-open-class-view"]').click()
    view = teacher.locator('[data-testid="duel-class-view"]')
    expect(view.locator('[data-testid="duel-class-status"]')).to_have_attribute("data-state", "live", timeout=20_000)
    for student in hub.students:
        expect(view.locator(f'[data-testid="duel-room-online"][data-player="{student.name}"]')).to_be_visible()
    rating_before = {p: int(p.locator('[data-testid="duel-rating"]').inner_text()) for p in (alice, bob)}

    alice.locator('[data-testid="duel-find"]').click()
    bob.locator('[data-testid="duel-find"]').click()
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-view"]')).to_be_visible(timeout=30_000)
        expect(page.locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=20_000)
    challenge = challenge_on(alice)
    # Ranked: each sees the other's outline, never the text.
    expect(bob.locator('[data-testid="duel-mirror-mode"]')).to_have_attribute("data-mode", "shape")

    card = view.locator('[data-testid="duel-room-battle"]')
    expect(card).to_have_count(1, timeout=20_000)
    for student in hub.students:
        expect(card.locator(f'[data-testid="duel-room-player"][data-player="{student.name}"]')).to_be_visible()
    card.locator('[data-testid="duel-room-spectate"]').click()
    spectate = teacher.locator('[data-testid="duel-spectate-view"]')
    expect(spectate).to_be_visible(timeout=20_000)

    # Alice types; her outline reaches Bob, her text reaches the instructor.
    wrong = f"def {challenge.function}(*args):\n    return 'not yet'  # hub duel\n"
    type_code(alice, wrong)
    expect(bob.locator('[data-testid="duel-shape-line"]').first).to_be_visible(timeout=20_000)
    alice_pane = spectate.locator(f'[data-testid="duel-spectate-player"][data-player="{first.name}"]')
    expect(alice_pane.locator('[data-testid="duel-spectate-code"] .cm-content')).to_contain_text("# hub duel",
                                                                                                 timeout=20_000)
    teacher.screenshot(path=ARTIFACTS / "hub-1-spectate.png")

    # The right solution wins; ratings change; the instructor sees the end.
    type_code(alice, challenge.reference)
    alice.locator('[data-testid="duel-submit"]').click()
    outcomes = {}
    for page in (alice, bob):
        outcome = page.locator('[data-testid="duel-outcome"]')
        expect(outcome).to_be_visible(timeout=60_000)
        outcomes[page] = outcome
    assert outcomes[alice].get_attribute("data-result") == "won"
    assert outcomes[bob].get_attribute("data-result") == "lost"
    after = float(outcomes[alice].get_attribute("data-rating-after"))
    assert after > float(outcomes[alice].get_attribute("data-rating-before")) == rating_before[alice]
    expect(spectate).to_contain_text(first.name, timeout=20_000)
    activate_tab(teacher, "Class view")
    expect(view.locator('[data-testid="duel-room-no-battles"]')).to_be_visible(timeout=20_000)
    for page, who in ((alice, "student1"), (bob, "student2"), (teacher, "teacher")):
        page.screenshot(path=ARTIFACTS / f"hub-2-end-{who}.png")
