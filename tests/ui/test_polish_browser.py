"""What a new player meets in the Duel UI, in a real JupyterLab with isolated Chromium contexts (one per machine):
the practice-bot card, the opponent-disconnected banner in light and dark themes, long (32-character) names in
the sidebar, the duel view and the leaderboard, the results panel (CE once, tests skipped after a time limit,
runs numbered per battle, long SyntaxError lines, code over the size limit), the wording of an aborted ranked
duel, the duel view in tight windows, the newcomer's pool, and the preferences with their notifications.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import urllib.request
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from browsers import (
    assert_no_overflow,
    box,
    challenge_on,
    contrast_ratio,
    inside,
    open_duel_panel,
    show_duel_panel,
    switch_theme,
    type_code,
)
from helpers import ARTIFACTS, JupyterProcess, get_json

WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 900, "height": 800}

#: The service's code size limit (`DuelService.max_code_bytes`).
MAX_CODE_BYTES = 51_200


@pytest.fixture
def lab(tmp_path):
    """Guests rated (ranked duels between guests), a short countdown, the bot offered after a second."""
    lab = JupyterProcess(
        tmp_path,
        "lab",
        extra=("--DuelService.rate_guests=True", "--DuelService.countdown_s=1", "--DuelService.bot_after_s=1"),
    ).start()
    yield lab
    lab.stop()


def url_of(lab: JupyterProcess) -> str:
    return lab.url("lab", token=lab.token)


def new_player(browser, url: str, name: str, viewport=WIDE, **context) -> Page:
    page = browser.new_context(viewport=viewport, **context).new_page()
    open_duel_panel(page, url, name)
    return page


def view_of(page: Page):
    """The duel view in front (a finished one may still be open in another tab)."""
    return page.locator('[data-testid="duel-view"]').filter(visible=True)


def duel(first: Page, second: Page) -> None:
    """``first`` queues, then ``second``: both get a duel view and the clock runs."""
    first.locator('[data-testid="duel-find"]').click()
    expect(first.locator('[data-testid="duel-queue-status"]')).to_have_attribute("data-state", "waiting")
    second.locator('[data-testid="duel-find"]').click()
    for page in (first, second):
        expect(view_of(page)).to_have_count(1, timeout=20_000)
        expect(view_of(page).locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=15_000)


def select_shows_its_value(select) -> dict:
    """The select's width, and whether the label of its selected option fits its content box."""
    return select.evaluate(
        """el => {
          const cs = getComputedStyle(el);
          const ctx = document.createElement('canvas').getContext('2d');
          ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
          const label = el.options[el.selectedIndex].text;
          const room = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
          return {width: el.getBoundingClientRect().width, label, text: ctx.measureText(label).width, room};
        }"""
    )


# ---------------------------------------------------------------------------------------------- 1. bot offer


def test_bot_offer_fits_the_sidebar(chromium, lab):
    url = url_of(lab)
    for viewport, name in ((WIDE, "Carol"), (NARROW, "Dave")):
        page = new_player(chromium, url, name, viewport)
        page.locator('[data-testid="duel-find"]').click()
        offer = page.locator('[data-testid="duel-bot-offer"]')
        expect(offer).to_be_visible(timeout=20_000)
        select = page.locator('[data-testid="duel-bot-speed"]')
        button = page.locator('[data-testid="duel-play-bot"]')
        shown = select_shows_its_value(select)
        assert shown["label"] == "Normal"
        assert shown["width"] >= 80, shown
        assert shown["text"] <= shown["room"], shown  # the selected speed is readable, not cut
        card = box(offer.locator("xpath=ancestor::section[contains(@class, 'jp-DuelCard')]"))
        sidebar = box(page.locator("#jupyter-duel-sidebar"))
        for element in (select, button):
            assert inside(box(element), box(offer)), (box(element), box(offer))
            assert inside(box(element), card), (box(element), card)
            assert box(element)["right"] <= sidebar["right"]
        assert_no_overflow(page, "#jupyter-duel-sidebar")
        page.screenshot(path=ARTIFACTS / f"polish-1-bot-offer-{viewport['width']}.png")
        page.locator('[data-testid="duel-cancel"]').click()
        expect(page.locator('[data-testid="duel-queue-status"]')).to_have_attribute("data-state", "idle")


# ---------------------------------------------------------------------------------------------- 2. banner contrast


def test_disconnect_banner_is_readable_in_light_and_dark(chromium, lab):
    url = url_of(lab)
    alice = new_player(chromium, url, "Alice")
    bob = new_player(chromium, url, "Bob")
    duel(alice, bob)
    alice.goto("about:blank")  # Alice leaves: Bob sees the banner while her grace time runs
    banner = view_of(bob).locator('[data-testid="duel-opponent-disconnected"]')
    expect(banner).to_be_visible(timeout=20_000)
    text = banner.locator(".jp-DuelAway-text")
    light = contrast_ratio(text)
    assert light >= 4.5, f"light theme: {light:.2f}:1"
    bob.screenshot(path=ARTIFACTS / "polish-2-away-light.png")
    switch_theme(bob, "JupyterLab Dark", light=False)
    expect(banner).to_be_visible()
    dark = contrast_ratio(text)
    assert dark >= 4.5, f"dark theme: {dark:.2f}:1"
    bob.screenshot(path=ARTIFACTS / "polish-2-away-dark.png")


# ---------------------------------------------------------------------------------------------- 3. long names


def test_long_names_stay_in_their_boxes(chromium, lab):
    url = url_of(lab)
    long_a, long_b = ("a" + secrets.token_hex(16)[1:]), ("b" + secrets.token_hex(16)[1:])
    assert len(long_a) == len(long_b) == 32
    alice = new_player(chromium, url, long_a)
    bob = new_player(chromium, url, long_b)
    for page, name in ((alice, long_a), (bob, long_b)):
        me = page.locator('[data-testid="duel-me"]')
        expect(me).to_have_attribute("title", name)
        card = me.locator("xpath=ancestor::section[contains(@class, 'jp-DuelCard')]")
        assert inside(box(me), box(card)), (box(me), box(card))
        assert_no_overflow(page, "#jupyter-duel-sidebar")
    alice.screenshot(path=ARTIFACTS / "polish-3-long-name-sidebar.png")

    duel(alice, bob)
    for page, other in ((alice, long_b), (bob, long_a)):
        opponent = view_of(page).locator('[data-testid="duel-opponent"] .jp-DuelView-player')
        expect(opponent).to_have_attribute("title", other)
        assert inside(box(opponent), box(view_of(page).locator(".jp-DuelView-theirs")))
        assert_no_overflow(page, "#jupyter-duel-sidebar", ".jp-DuelView:not(.lm-mod-hidden)")
    alice.screenshot(path=ARTIFACTS / "polish-3-long-name-duel.png")

    # Bob submits (wrong), Alice forfeits: a rated result, both on the leaderboard.
    view_of(bob).locator('[data-testid="duel-submit"]').click()
    expect(view_of(bob).locator('[data-testid="duel-verdict"]')).to_have_attribute(
        "data-verdict", re.compile("WA|RE|CE"), timeout=30_000
    )
    view_of(alice).locator('[data-testid="duel-forfeit"]').click()
    alice.locator(".jp-Dialog .jp-mod-warn", has_text="Forfeit").click()
    for page in (alice, bob):
        expect(view_of(page).locator('[data-testid="duel-outcome"]')).to_be_visible(timeout=15_000)
        assert_no_overflow(page, ".jp-DuelView:not(.lm-mod-hidden)")

    alice.locator('[data-testid="duel-open-history"]').click()
    board = alice.locator('[data-testid="duel-leaderboard"]')
    for name in (long_a, long_b):
        row = board.locator(f'tbody tr[data-display-name="{name}"]')
        expect(row).to_have_count(1, timeout=10_000)
        expect(row.locator(".jp-DuelTable-name")).to_have_attribute("title", name)
        # The whole row is in view: the name is cut, the W/L/D cell is not.
        section = box(alice.locator(".jp-DuelHistory-section.jp-mod-leaderboard"))
        record = box(row.locator("td").last)
        assert section["left"] <= record["left"] and record["right"] <= section["right"] + 1, (record, section)
    header = box(alice.locator('[data-testid="duel-leaderboard-record"]'))
    section = box(alice.locator(".jp-DuelHistory-section.jp-mod-leaderboard"))
    assert header["right"] <= section["right"] + 1, (header, section)
    assert_no_overflow(alice, ".jp-DuelHistory")
    alice.screenshot(path=ARTIFACTS / "polish-3-long-name-leaderboard.png")


# ---------------------------------------------------------------------------------------------- 4. results panel


def run_samples(page: Page) -> None:
    button = view_of(page).locator('[data-testid="duel-run-samples"]')
    expect(button).to_be_enabled(timeout=15_000)
    button.click()


def test_results_panel(chromium, lab):
    url = url_of(lab)
    alice = new_player(chromium, url, "Alice")
    bob = new_player(chromium, url, "Bob")
    duel(alice, bob)
    view = view_of(alice)
    challenge = challenge_on(alice)
    samples = len(challenge.samples)
    label = view.locator('[data-testid="duel-run-label"]')
    verdict = view.locator('[data-testid="duel-verdict"]')
    rows = view.locator('[data-testid="duel-test-row"]')
    message = view.locator('[data-testid="duel-run-message"]')

    # A SyntaxError on a long line: CE, its error said once (not under every test), its lines kept whole.
    terms = " + ".join(f"value_{i}" for i in range(60))
    type_code(alice, f"def {challenge.function}(*args):\n    return ({terms}))\n")
    run_samples(alice)
    expect(verdict).to_have_attribute("data-verdict", "CE", timeout=30_000)
    expect(rows).to_have_count(samples)
    expect(message).to_be_visible()
    expect(message).to_contain_text("SyntaxError")
    assert view.locator('[data-testid="duel-results-box"]').inner_text().count("SyntaxError") == 1
    expect(rows.locator(".jp-DuelResult-detail")).to_have_count(0)
    expect(label).to_have_text("Sample run #1")
    layout = message.evaluate(
        "el => ({white: getComputedStyle(el).whiteSpace, scroll: el.scrollWidth, client: el.clientWidth,"
        " overflow: getComputedStyle(el).overflowX})"
    )
    assert layout["white"] == "pre" and layout["overflow"] in ("auto", "scroll"), layout
    assert layout["scroll"] > layout["client"], layout  # the long line scrolls sideways instead of wrapping
    lines = message.inner_text().splitlines()
    caret = next(i for i, line in enumerate(lines) if line.strip() and set(line.strip()) <= {"^"})
    assert terms[:40] in lines[caret - 1]  # the caret line right under the code line it points into
    assert inside(box(message), box(view.locator('[data-testid="duel-results-box"]')))
    alice.screenshot(path=ARTIFACTS / "polish-4-syntax-error.png")

    # A time limit: the first sample is TLE, the samples after it were not run and say so.
    type_code(alice, f"def {challenge.function}(*args):\n    while True:\n        pass\n")
    run_samples(alice)
    expect(verdict).to_have_attribute("data-verdict", "TLE", timeout=60_000)
    expect(label).to_have_text("Sample run #2")
    expect(rows).to_have_count(samples)
    expect(rows.first).to_have_attribute("data-verdict", "TLE")
    expect(rows.first).not_to_have_attribute("data-skipped", "true")
    skipped = view.locator('[data-testid="duel-test-row"][data-skipped="true"]')
    expect(skipped).to_have_count(samples - 1)
    for text in skipped.all_inner_texts():
        assert "skipped" in text and "TLE" not in text and "ms" not in text, text
    alice.screenshot(path=ARTIFACTS / "polish-4-time-limit.png")

    # Code over the service's limit is flagged as soon as it is there, before any Submit; the panel no longer
    # shows the last run's verdict as if it were this code's.
    padding = "# a solution that grew far beyond what the service accepts\n"
    huge = f"def {challenge.function}(*args):\n    return None\n" + padding * (MAX_CODE_BYTES // len(padding) + 40)
    assert len(huge.encode()) > MAX_CODE_BYTES
    type_code(alice, huge)
    warning = view.locator('[data-testid="duel-code-too-large"]')
    expect(warning).to_be_visible(timeout=10_000)
    expect(warning).to_contain_text("51,200 bytes")
    assert int(warning.get_attribute("data-bytes")) == len(huge.encode())
    expect(view.locator('[data-testid="duel-submit"]')).to_be_disabled()
    expect(view.locator('[data-testid="duel-run-samples"]')).to_be_disabled()
    expect(view.locator('[data-testid="duel-results-box"]')).to_have_attribute("data-stale", "true")
    expect(view.locator('[data-testid="duel-results-stale"]')).to_be_visible()
    expect(verdict).not_to_have_attribute("data-verdict", re.compile("."))
    expect(verdict).not_to_contain_text("TLE")
    alice.screenshot(path=ARTIFACTS / "polish-4-too-large.png")
    type_code(alice, f"def {challenge.function}(*args):\n    return None\n")
    expect(warning).to_be_hidden()
    expect(view.locator('[data-testid="duel-submit"]')).to_be_enabled()
    expect(view.locator('[data-testid="duel-results-box"]')).to_have_attribute("data-stale", "false")

    # Alice wins; in their next battle the runs are numbered from 1 again.
    type_code(alice, challenge.reference)
    view.locator('[data-testid="duel-submit"]').click()
    for page in (alice, bob):  # judged on a kernel started after the TLE's was stopped: allow a loaded machine
        expect(view_of(page).locator('[data-testid="duel-outcome"]')).to_be_visible(timeout=60_000)
    expect(view.locator('[data-testid="duel-run-label"]')).to_have_text("Submission #1")
    # A rematch (the queue does not pair the same two players twice in a row).
    view_of(bob).locator('[data-testid="duel-rematch"]').click()
    view.locator('[data-testid="duel-rematch-offer-accept"]').click()
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-view"]')).to_have_count(2, timeout=20_000)
        expect(view_of(page).locator('[data-testid="duel-outcome"]')).to_be_hidden()
        expect(view_of(page).locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=15_000)
    view = view_of(alice)
    expect(view.locator('[data-testid="duel-run-label"]')).to_have_text("No run yet")
    run_samples(alice)
    expect(view.locator('[data-testid="duel-verdict"]')).to_have_attribute("data-verdict", re.compile("."), timeout=30_000)
    expect(view.locator('[data-testid="duel-run-label"]')).to_have_text("Sample run #1")


# ---------------------------------------------------------------------------------------------- 5. outcome wording


def instructor(browser, url: str) -> Page:
    """A browser of the Jupyter user (no guest name): the instructor of an embedded JupyterLab."""
    page = browser.new_context(viewport=WIDE).new_page()
    page.goto(url)
    show_duel_panel(page)
    expect(page.locator('[data-testid="duel-connection"]')).to_have_attribute("data-state", "connected", timeout=20_000)
    return page


def test_aborted_ranked_duel_says_why(chromium, lab):
    url = url_of(lab)
    teacher = instructor(chromium, url)
    alice = new_player(chromium, url, "Alice")
    bob = new_player(chromium, url, "Bob")
    duel(alice, bob)
    for page in (alice, bob):
        expect(view_of(page).locator(".jp-DuelView-meta")).to_contain_text("ranked")

    teacher.locator('[data-testid="duel-open-class-view"]').click()
    card = teacher.locator('[data-testid="duel-room-battle"]').filter(
        has=teacher.locator('[data-testid="duel-room-player"][data-player="guest:Alice"]')
    )
    expect(card).to_have_count(1, timeout=15_000)
    card.locator('[data-testid="duel-room-abort"]').click()
    teacher.locator('[data-testid="duel-abort-reason"]').fill("Fire drill")
    teacher.locator(".jp-Dialog .jp-mod-warn", has_text="Abort duel").click()
    for page in (alice, bob):
        outcome = view_of(page).locator('[data-testid="duel-outcome"]')
        expect(outcome).to_be_visible(timeout=15_000)
        expect(outcome).to_have_attribute("data-result", "aborted")
        expect(outcome).to_have_attribute("data-ranked", "true")
        expect(outcome.locator('[data-testid="duel-outcome-reason"]')).to_have_text(
            "Aborted by the instructor: Fire drill"
        )
        expect(outcome).not_to_contain_text("Casual")
        expect(outcome.locator('[data-testid="duel-outcome-rating-note"]')).to_have_text(
            "Ranked duel, aborted: ratings unchanged."
        )
    alice.screenshot(path=ARTIFACTS / "polish-5-aborted-ranked.png")


@pytest.fixture
def brief_lab(tmp_path):
    """A short grace time for absent players, and heartbeats that notice a dropped connection within seconds."""
    lab = JupyterProcess(
        tmp_path,
        "lab",
        extra=(
            "--DuelService.rate_guests=True", "--DuelService.countdown_s=1", "--DuelService.disconnect_grace_s=2",
            "--DuelService.ping_interval=1", "--DuelService.ping_timeout=1",
        ),
    ).start()
    yield lab
    lab.stop()


def battle_result(lab: JupyterProcess, handle: str) -> str | None:
    status, body = get_json(lab.url(f"duel/api/users/{quote(handle)}/battles", token=lab.token))
    assert status == 200, body
    return body["battles"][0]["result"] if body["battles"] else None


def test_abort_when_both_players_left_says_so(chromium, brief_lab):
    url = url_of(brief_lab)
    alice = new_player(chromium, url, "Alice")
    bob = new_player(chromium, url, "Bob")
    duel(alice, bob)
    # Both lose the network (a train, a closed lid): the service aborts the duel once both grace times are over.
    for page in (alice, bob):
        page.context.set_offline(True)
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-connection"]')).not_to_have_attribute("data-state", "connected")
    deadline = time.monotonic() + 60
    while battle_result(brief_lab, "guest:Alice") != "aborted":
        assert time.monotonic() < deadline, "the duel was not aborted"
        time.sleep(0.5)
    for page in (alice, bob):
        page.context.set_offline(False)
    for page in (alice, bob):
        outcome = view_of(page).locator('[data-testid="duel-outcome"]')
        expect(outcome).to_be_visible(timeout=30_000)
        expect(outcome).to_have_attribute("data-result", "aborted")
        expect(outcome.locator('[data-testid="duel-outcome-reason"]')).to_contain_text("both players left")
        expect(outcome).not_to_contain_text("Casual")
        expect(outcome.locator('[data-testid="duel-outcome-rating-note"]')).to_have_text(
            "Ranked duel, aborted: ratings unchanged."
        )
    bob.screenshot(path=ARTIFACTS / "polish-5-aborted-both-left.png")


# ---------------------------------------------------------------------------------------------- 6. tight layouts


def test_tight_layouts(chromium, lab):
    url = url_of(lab)
    wide = new_player(chromium, url, "Alice", WIDE)
    narrow = new_player(chromium, url, "Bob", NARROW)
    duel(wide, narrow)

    # 1280 px with the sidebar open: three columns, the statement at least 320 px, its signature whole.
    view = view_of(wide)
    problem = box(view.locator(".jp-DuelView-problem"))
    assert problem["width"] >= 320, problem
    signature = view.locator(".jp-DuelView-samples .jp-DuelCode").first
    sig = box(signature)
    assert problem["left"] <= sig["left"] and sig["right"] <= problem["right"], (sig, problem)
    fits = signature.evaluate("el => el.scrollWidth <= el.clientWidth + 1 || getComputedStyle(el).overflowX !== 'visible'")
    assert fits
    assert box(view.locator('[data-testid="duel-editor"]'))["left"] > problem["right"] - 1  # side by side
    assert_no_overflow(wide, ".jp-DuelView:not(.lm-mod-hidden)")
    wide.screenshot(path=ARTIFACTS / "polish-6-wide.png")

    # 900 x 800: the statement above the editors, foldable; the editor at least 300 px tall.
    view = view_of(narrow)
    editor = view.locator('[data-testid="duel-editor"]')
    assert box(editor)["height"] >= 300, box(editor)
    assert box(view.locator(".jp-DuelView-problem"))["bottom"] <= box(editor)["top"] + 1
    assert_no_overflow(narrow, ".jp-DuelView:not(.lm-mod-hidden)")
    narrow.screenshot(path=ARTIFACTS / "polish-6-narrow.png")
    toggle = view.locator('[data-testid="duel-statement-toggle"]')
    expect(toggle).to_be_visible()
    toggle.click()
    expect(view.locator('[data-testid="duel-statement"]')).to_be_hidden()
    expect(toggle).to_have_text("Show statement")
    assert box(editor)["height"] >= 300
    toggle.click()
    expect(view.locator('[data-testid="duel-statement"]')).to_be_visible()


# ---------------------------------------------------------------------------------------------- 7. newcomer's pool


def test_newcomers_start_on_easy_and_keep_their_choice(chromium, lab):
    url = url_of(lab)
    alice = new_player(chromium, url, "Alice")
    bob = new_player(chromium, url, "Bob")
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-pool"]')).to_have_value("easy")
        expect(page.locator('[data-testid="duel-pool-hint"]')).to_be_visible()
    alice.locator('[data-testid="duel-pool"]').select_option("medium")
    expect(alice.locator('[data-testid="duel-pool-hint"]')).to_be_hidden()
    alice.reload()
    show_duel_panel(alice)
    expect(alice.locator('[data-testid="duel-me"]')).to_have_text("Alice", timeout=20_000)
    expect(alice.locator('[data-testid="duel-pool"]')).to_have_value("medium")
    alice.locator('[data-testid="duel-find"]').click()
    expect(alice.locator('[data-testid="duel-queue-status"]')).to_contain_text("Searching medium")
    alice.locator('[data-testid="duel-cancel"]').click()
    # Bob, who chose nothing, queues for easy challenges.
    bob.locator('[data-testid="duel-find"]').click()
    expect(bob.locator('[data-testid="duel-queue-status"]')).to_contain_text("Searching easy")


# ---------------------------------------------------------------------------------------------- 8. preferences


def put_settings(lab: JupyterProcess, values: dict) -> None:
    """Save the extension's settings through JupyterLab's settings API (what the Settings Editor does)."""
    body = json.dumps({"raw": json.dumps(values)}).encode()
    request = urllib.request.Request(
        lab.url("lab/api/settings/jupyter-duel:client", token=lab.token), data=body, method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 204)


def toasts(page: Page, text: str):
    return page.locator(".Toastify__toast", has_text=text)


def test_settings_schema_and_notifications(chromium, lab):
    url = url_of(lab)
    with urllib.request.urlopen(lab.url("lab/api/settings/jupyter-duel:client", token=lab.token), timeout=10) as r:
        plugin = json.loads(r.read())
    schema = plugin["schema"]
    assert schema["jupyter.lab.setting-icon"] == "jupyter-duel:swords"
    assert {"defaultPool", "mirrorDisplay", "notifications"} <= set(schema["properties"]), schema
    assert schema["properties"]["notifications"]["default"] is True

    alice = new_player(chromium, url, "Alice")
    bob = new_player(chromium, url, "Bob")
    # Bob queues, then reads something in another tab of his browser: the match is announced by a notification
    # that waits for him in JupyterLab. (Focus is real here: each page of the context has the focus only while
    # it is the tab in front.)
    bob.locator('[data-testid="duel-find"]').click()
    expect(bob.locator('[data-testid="duel-queue-status"]')).to_have_attribute("data-state", "waiting")
    other_tab = bob.context.new_page()
    other_tab.set_content("<h1>Some reading while waiting</h1>")
    sessions = [bob.context.new_cdp_session(page) for page in (bob, other_tab)]  # kept open: they hold the setting
    for session in sessions:
        session.send("Emulation.setFocusEmulationEnabled", {"enabled": False})
    other_tab.bring_to_front()
    bob.wait_for_function("() => !document.hasFocus()", timeout=10_000)
    alice.locator('[data-testid="duel-find"]').click()
    expect(view_of(alice)).to_have_count(1, timeout=20_000)
    expect(bob.locator('[data-testid="duel-view"]')).to_have_count(1, timeout=20_000)
    bob.bring_to_front()
    bob.wait_for_function("() => document.hasFocus()", timeout=10_000)
    expect(toasts(bob, "Match found")).to_be_visible(timeout=10_000)
    expect(toasts(alice, "Match found")).to_have_count(0)  # Alice's page is in front: no need
    other_tab.close()
    expect(view_of(bob).locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=15_000)

    # Bob reads his history while Alice submits: a notification says so.
    bob.locator('[data-testid="duel-open-history"]').click()
    expect(bob.locator('[data-testid="duel-history"]')).to_be_visible(timeout=10_000)
    challenge = challenge_on(alice)
    type_code(alice, f"def {challenge.function}(*args):\n    return None\n")
    view_of(alice).locator('[data-testid="duel-submit"]').click()
    expect(toasts(bob, "Your opponent submitted")).to_be_visible(timeout=30_000)
    expect(toasts(alice, "Your opponent submitted")).to_have_count(0)
    bob.screenshot(path=ARTIFACTS / "polish-8-notification.png")


@pytest.fixture
def quiet_lab(tmp_path):
    """Preferences set before JupyterLab starts: no notifications, the outline only, medium challenges."""
    settings = tmp_path / "config" / "lab" / "user-settings" / "jupyter-duel"
    settings.mkdir(parents=True)
    (settings / "client.jupyterlab-settings").write_text(
        json.dumps({"notifications": False, "mirrorDisplay": "outline", "defaultPool": "medium"})
    )
    lab = JupyterProcess(tmp_path, "lab", extra=("--DuelService.countdown_s=1",)).start()
    yield lab
    lab.stop()


def test_preferences_apply(chromium, quiet_lab):
    url = url_of(quiet_lab)
    alice = new_player(chromium, url, "Alice")
    bob = new_player(chromium, url, "Bob")
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-pool"]')).to_have_value("medium")
    duel(alice, bob)
    expect(view_of(bob)).to_have_attribute("data-mirror", "live")  # guests play casual, live-mirrored duels

    # The outline of Alice's code, not its text.
    challenge = challenge_on(alice)
    marker = "# only-the-outline"
    code = f"def {challenge.function}(*args):\n    {marker}\n    return None\n"
    type_code(alice, code)
    outline = view_of(bob).locator('[data-testid="duel-mirror-outline"]')
    expect(outline).to_be_visible()
    expect(view_of(bob).locator('[data-testid="duel-mirror"]')).to_be_hidden()
    expect(outline.locator('[data-testid="duel-shape-stats"]')).to_have_attribute(
        "data-chars", str(len(code)), timeout=10_000
    )
    assert marker not in view_of(bob).inner_text()

    # Notifications off: Bob reads his history while Alice submits, and nothing pops up.
    bob.locator('[data-testid="duel-open-history"]').click()
    expect(bob.locator('[data-testid="duel-history"]')).to_be_visible(timeout=10_000)
    view_of(alice).locator('[data-testid="duel-submit"]').click()
    stats = bob.locator('[data-testid="duel-opponent-stats"]')
    expect(stats).to_have_text(re.compile("^1 submission"), timeout=30_000)
    expect(toasts(bob, "Your opponent submitted")).to_have_count(0)

    # The opponent's pane hidden: a reload picks the saved preference up, the duel goes on without the pane.
    put_settings(quiet_lab, {"notifications": False, "mirrorDisplay": "hidden", "defaultPool": "medium"})
    bob.reload()
    expect(view_of(bob)).to_have_count(1, timeout=60_000)
    expect(view_of(bob)).to_have_attribute("data-opponent-pane", "hidden")
    expect(view_of(bob).locator(".jp-DuelView-theirs")).to_be_hidden()
    editor = box(view_of(bob).locator('[data-testid="duel-editor"]'))
    assert editor["width"] > box(view_of(bob).locator(".jp-DuelView-problem"))["width"]
    bob.screenshot(path=ARTIFACTS / "polish-8-opponent-hidden.png")
