"""Debugging in a real JupyterLab with two isolated Chromium contexts: a player whose code prints runs the samples
and reads each test's output, then runs the code on their own arguments (the custom input section) and reads the
returned value and what was printed; in the light and dark themes, at 1280 and 900 px wide. The opponent never
sees any of it."""

from __future__ import annotations

import copy

import pytest
from playwright.sync_api import Page, expect

from browsers import assert_no_overflow, challenge_on, contrast_ratio, open_duel_panel, switch_theme, type_code
from helpers import ARTIFACTS, JupyterProcess

WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 900, "height": 800}
RESULTS = '[data-testid="duel-view"] [data-testid="duel-results-box"]'


@pytest.fixture
def lab(tmp_path):
    lab = JupyterProcess(
        tmp_path, "lab",
        extra=("--DuelService.countdown_s=1", "--DuelService.run_samples_cooldown_s=0"),
    ).start()
    yield lab
    lab.stop()


def new_player(browser, url: str, name: str) -> Page:
    page = browser.new_context(viewport=WIDE).new_page()
    open_duel_panel(page, url, name)
    return page


def test_sample_output_and_custom_input(chromium, lab):
    url = lab.url("lab", token=lab.token)
    ann, ben = new_player(chromium, url, "Ann"), new_player(chromium, url, "Ben")
    ann.locator('[data-testid="duel-find"]').click()
    expect(ann.locator('[data-testid="duel-queue-status"]')).to_have_attribute("data-state", "waiting")
    ben.locator('[data-testid="duel-find"]').click()
    for page in (ann, ben):
        expect(page.locator('[data-testid="duel-view"]')).to_have_count(1, timeout=20_000)
        expect(page.locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=15_000)

    challenge = challenge_on(ann)
    fn = challenge.function
    reference: dict = {}
    exec(challenge.reference, reference)  # what the player's code returns: the reference's answer

    def returned(args: tuple) -> str:
        return repr(reference[fn](*copy.deepcopy(args)))

    # The reference solution, with prints around it.
    type_code(ann, f"{challenge.reference}\n_solve = {fn}\n\n"
                   f"def {fn}(*args):\n    print('debug: got', len(args), 'args')\n"
                   f"    print('first is', repr(args[0])[:20])\n    return _solve(*args)\n")

    # 1. Run the samples: every sample's row shows what it printed, in a labelled, scrollable block.
    ann.locator('[data-testid="duel-run-samples"]').click()
    rows = ann.locator('[data-testid="duel-test-row"][data-kind="sample"]')
    expect(rows).to_have_count(len(challenge.samples), timeout=60_000)
    for i, test in enumerate(challenge.samples):
        output = rows.nth(i).locator('[data-testid="duel-output"]')
        expect(output).to_have_text(f"debug: got {len(test.args)} args\nfirst is {repr(test.args[0])[:20]}\n")
        expect(output).to_have_attribute("aria-label", f"Output of Sample {i + 1}/{len(challenge.samples)}")
        assert output.evaluate("el => el.tabIndex") == 0  # reachable by keyboard, to scroll it
        assert output.evaluate("el => getComputedStyle(el).fontFamily") != ""
        assert output.evaluate("el => getComputedStyle(el).overflowY") == "auto"
    first_output = rows.first.locator('[data-testid="duel-output"]')
    first_output.scroll_into_view_if_needed()
    assert contrast_ratio(first_output) >= 4.5
    assert_no_overflow(ann, RESULTS)
    ann.screenshot(path=ARTIFACTS / "debug-1-output-light.png")
    switch_theme(ann, "JupyterLab Dark", light=False)
    first_output.scroll_into_view_if_needed()
    assert contrast_ratio(first_output) >= 4.5
    ann.screenshot(path=ARTIFACTS / "debug-1-output-dark.png")
    switch_theme(ann, "JupyterLab Light", light=True)

    # 2. Custom input, by keyboard: open the section, the field holds the first sample's arguments; Enter runs.
    toggle = ann.locator('[data-testid="duel-custom-toggle"]')
    toggle.focus()
    ann.keyboard.press("Enter")
    args = ann.locator('[data-testid="duel-custom-args"]')
    expect(args).to_be_visible()
    expect(ann.get_by_label(f"Arguments of {fn}(…)")).to_have_count(1)
    first_call = challenge.samples[0]
    assert args.input_value() == ", ".join(repr(a) for a in first_call.args)
    args.focus()
    ann.keyboard.press("Enter")
    row = ann.locator('[data-testid="duel-custom-row"]')
    expect(row).to_have_attribute("data-verdict", "OK", timeout=60_000)
    expect(row.locator('[data-testid="duel-custom-value"]')).to_have_text(returned(first_call.args))
    expect(row.locator('[data-testid="duel-output"]')).to_contain_text(f"debug: got {len(first_call.args)} args")

    # Other arguments, typed; Tab reaches Run.
    other = challenge.samples[-1].args
    args.fill(", ".join(repr(a) for a in other))
    args.focus()
    ann.keyboard.press("Tab")
    expect(ann.locator('[data-testid="duel-custom-run"]')).to_be_focused()
    ann.keyboard.press("Enter")
    expect(row.locator('[data-testid="duel-output"]')).to_contain_text(f"first is {repr(other[0])[:20]}",
                                                                        timeout=60_000)
    expect(row.locator('[data-testid="duel-custom-value"]')).to_have_text(returned(other))

    # A refusal is said by the field, and nothing runs.
    args.fill("__import__('os')")
    ann.locator('[data-testid="duel-custom-run"]').click()
    expect(ann.locator('[data-testid="duel-custom-error"]')).to_have_attribute("data-code", "invalid_args")

    # An error: its traceback and what was printed before it.
    type_code(ann, f"def {fn}(*args):\n    print('about to fail')\n    return 1 // 0\n")
    args.fill(", ".join(repr(a) for a in first_call.args))
    ann.locator('[data-testid="duel-custom-run"]').click()
    expect(row).to_have_attribute("data-verdict", "RE", timeout=60_000)
    expect(row.locator('[data-testid="duel-custom-traceback"]')).to_contain_text("ZeroDivisionError")
    expect(row.locator('[data-testid="duel-output"]')).to_have_text("about to fail\n")
    assert_no_overflow(ann, RESULTS)

    # 3. At 900 px wide nothing in the results area overflows its container.
    ann.set_viewport_size(NARROW)
    ann.wait_for_timeout(500)
    row.scroll_into_view_if_needed()
    assert_no_overflow(ann, RESULTS)
    for element in (args, ann.locator('[data-testid="duel-custom-run"]'), row):
        inner, outer = element.bounding_box(), ann.locator(RESULTS).bounding_box()
        assert inner["x"] >= outer["x"] - 1 and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
    ann.screenshot(path=ARTIFACTS / "debug-2-custom-900.png")

    # The opponent saw no output and no custom run.
    expect(ben.locator('[data-testid="duel-output"]')).to_have_count(0)
    expect(ben.locator('[data-testid="duel-custom-row"]')).to_have_count(0)
