"""The notebook as a duel partner, in a real JupyterLab with two Chromium contexts (two guests: a casual duel with
the live mirror): the duel's scratch notebook in the player's file tree, run in their own python3 kernel; a
notebook cell sent to the duel editor, which the opponent's mirror then shows; the finished duel exported as a
notebook, from the result screen and from the history."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from browsers import (
    activate_tab,
    assert_no_overflow,
    box,
    challenge_on,
    contrast_ratio,
    inside,
    palette_labels,
    player,
    switch_theme,
    type_code,
)
from helpers import ARTIFACTS, JupyterProcess


@pytest.fixture
def lab(tmp_path):
    """Guests are not rated by default: they play casual duels, whose mirror is live."""
    lab = JupyterProcess(tmp_path, "lab", extra=("--DuelService.countdown_s=1",)).start()
    yield lab
    lab.stop()


def notebook_cells(path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def text_of(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def kernels_of_sessions(lab: JupyterProcess) -> dict[str, str]:
    """Jupyter's running sessions: notebook path -> kernel name."""
    with urllib.request.urlopen(lab.url("api/sessions", token=lab.token), timeout=10) as response:
        return {s["path"]: s["kernel"]["name"] for s in json.loads(response.read())}


def sample_answers_code(challenge) -> str:
    """A solution that answers exactly the samples' expected values (by the arguments' repr) and nothing else."""
    table = {repr(list(test.args)): test.expected for test in challenge.samples}
    return f"def {challenge.function}(*args):\n    return {table!r}.get(repr(list(args)))\n"


def run_all(page: Page) -> None:
    """JupyterLab's Run menu: Run All Cells (in the notebook in front)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def test_scratch_notebook_send_cell_and_export(chromium, lab, tmp_path):
    url = lab.url("lab", token=lab.token)
    root = tmp_path / "work"
    alice = player(chromium, url, "Alice")
    bob = player(chromium, url, "Bob")
    alice.locator('[data-testid="duel-find"]').click()
    bob.locator('[data-testid="duel-find"]').click()
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-view"]')).to_be_visible(timeout=20_000)
        expect(page.locator('[data-testid="duel-countdown"]')).to_be_hidden(timeout=10_000)
        expect(page.locator('[data-testid="duel-mirror-mode"]')).to_have_attribute("data-mode", "live")
    challenge = challenge_on(alice)
    duel_tab = f"Duel: {challenge.title}"

    # The three commands are in the palette, category Duel.
    labels = palette_labels(alice, "duel", "Send Cell to Duel Editor")
    assert {"Open Duel in a Notebook", "Send Cell to Duel Editor", "Export Duel to Notebook"} <= set(labels)

    # The button sits under the samples, reachable and labelled, inside its column at both widths.
    activate_tab(alice, duel_tab)
    button = alice.locator('[data-testid="duel-open-notebook"]')
    expect(button).to_have_text("Open in a notebook")
    for viewport in ({"width": 900, "height": 800}, {"width": 1280, "height": 800}):
        alice.set_viewport_size(viewport)
        button.scroll_into_view_if_needed()
        expect(button).to_be_visible()
        assert_no_overflow(alice, ".jp-DuelView:not(.lm-mod-hidden)")
    # Readable in both themes (WCAG AA for normal text).
    assert contrast_ratio(button) >= 4.5
    switch_theme(alice, "JupyterLab Dark", light=False)
    assert contrast_ratio(button) >= 4.5
    switch_theme(alice, "JupyterLab Light", light=True)

    # ---- 1. Open in a notebook: the player's code, the statement and one runnable cell per public sample.
    lookup = sample_answers_code(challenge)
    type_code(alice, lookup)
    alice.locator('[data-testid="duel-open-notebook"]').click()
    scratch = root / "duel-scratch" / f"{challenge.id}.ipynb"
    panel = alice.locator(".jp-NotebookPanel:visible")
    expect(panel).to_be_visible(timeout=20_000)
    expect(alice.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")).to_contain_text(f"{challenge.id}.ipynb")
    assert scratch.is_file()
    raw = json.loads(scratch.read_text())
    assert raw["nbformat"] == 4 and raw["nbformat_minor"] == 5 and raw["metadata"]["kernelspec"]["name"] == "python3"
    cells = raw["cells"]
    assert cells[0]["cell_type"] == "markdown"
    assert challenge.title in text_of(cells[0]) and challenge.statement.strip().splitlines()[0] in text_of(cells[0])
    assert text_of(cells[1]) == lookup
    samples = cells[2:]
    assert len(samples) == len(challenge.samples) and all(c["cell_type"] == "code" for c in samples)
    for cell, sample in zip(samples, challenge.samples):
        assert challenge.call_repr(sample) in text_of(cell)
    sample_calls = {challenge.call_repr(t) for t in challenge.samples}
    hidden_calls = {challenge.call_repr(t) for t in challenge.hidden} - sample_calls
    assert not [call for call in hidden_calls if call in scratch.read_text()]

    # It runs in the player's own python3 kernel (not the sandbox): Run All prints each sample's verdict.
    expect(panel.locator(".jp-Toolbar-kernelName")).to_contain_text("Python 3", timeout=30_000)
    expect(alice.locator(".jp-StatusBar-TextItem", has_text="Python 3")).to_contain_text("Idle", timeout=60_000)
    run_all(alice)
    outputs = panel.locator(".jp-OutputArea-output")
    expect(outputs.filter(has_text="sample 1: PASS")).to_have_count(1, timeout=60_000)
    expect(outputs.filter(has_text=f"sample {len(challenge.samples)}: PASS")).to_have_count(1, timeout=30_000)
    assert kernels_of_sessions(lab).get(f"duel-scratch/{challenge.id}.ipynb") == "python3"
    alice.screenshot(path=ARTIFACTS / "notebook-1-scratch.png")

    # ---- 2. Edit the solution cell and send it to the duel editor: Alice's editor and Bob's live mirror show it.
    from_notebook = f"def {challenge.function}(*args):\n    return 'sent from the notebook'\n"
    solution = panel.locator(".jp-Notebook .jp-Cell").nth(1)
    solution.locator(".cm-content").click()
    alice.keyboard.press("Control+A")
    alice.keyboard.press("Delete")
    alice.keyboard.insert_text(from_notebook)
    solution.locator(".cm-content").click(button="right")
    alice.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Send Cell to Duel Editor$")).click()
    expect(bob.locator('[data-testid="duel-mirror"] .cm-content')).to_contain_text(
        "return 'sent from the notebook'", timeout=10_000
    )
    activate_tab(alice, duel_tab)
    expect(alice.locator('[data-testid="duel-editor"] .cm-content')).to_contain_text("return 'sent from the notebook'")
    expect(alice.locator('[data-testid="duel-editor"] .cm-content')).not_to_contain_text(".get(repr(")

    # ---- 3. Finish the duel (Alice solves it), then export from the result screen and from Bob's history.
    type_code(bob, f"def {challenge.function}(*args):\n    return 'bob was here'\n")
    expect(alice.locator('[data-testid="duel-mirror"] .cm-content')).to_contain_text("bob was here", timeout=10_000)
    type_code(alice, challenge.reference)
    alice.locator('[data-testid="duel-submit"]').click()
    for page in (alice, bob):
        expect(page.locator('[data-testid="duel-outcome"]')).to_be_visible(timeout=30_000)
    # Once the duel is over, a cell can no longer be sent: the menu item is disabled.
    activate_tab(alice, f"{challenge.id}.ipynb")
    solution.locator(".cm-content").click(button="right")
    item = alice.locator(".lm-Menu-item", has_text=re.compile(r"^Send Cell to Duel Editor"))
    expect(item).to_have_class(re.compile(r"lm-mod-disabled"))
    alice.keyboard.press("Escape")
    activate_tab(alice, duel_tab)
    for viewport in ({"width": 900, "height": 800}, {"width": 1280, "height": 800}):
        alice.set_viewport_size(viewport)
        expect(alice.locator('[data-testid="duel-export"]')).to_be_visible()
        assert_no_overflow(alice, ".jp-DuelView:not(.lm-mod-hidden)")
    alice.locator('[data-testid="duel-export"]').click()
    exported = alice.locator(".jp-NotebookPanel:visible")
    expect(exported).to_contain_text("final solution", timeout=20_000)
    expect(exported).to_contain_text("bob was here")
    files = sorted((root / "duel-exports").glob("*.ipynb"))
    assert [f.name for f in files] == [f"{files[0].name[:10]}-{challenge.id}-vs-Bob.ipynb"], files
    codes = [text_of(c) for c in notebook_cells(files[0]) if c["cell_type"] == "code"]
    assert codes == [challenge.reference, f"def {challenge.function}(*args):\n    return 'bob was here'\n"]
    markdown = "\n".join(text_of(c) for c in notebook_cells(files[0]) if c["cell_type"] == "markdown")
    assert "Alice's final solution (winner)" in markdown and "Bob's final solution" in markdown
    assert "**Alice** won." in markdown and "AC (Accepted)" in markdown
    alice.screenshot(path=ARTIFACTS / "notebook-2-export.png")

    # Exporting again never overwrites: a free name.
    activate_tab(alice, duel_tab)
    alice.locator('[data-testid="duel-export"]').click()
    expect(alice.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")).to_contain_text(
        "vs-Bob-2.ipynb", timeout=20_000
    )
    assert (root / "duel-exports" / files[0].name.replace(".ipynb", "-2.ipynb")).is_file()

    # Bob exports the same duel from his history.
    bob.locator('[data-testid="duel-open-history"]').click()
    row = bob.locator('[data-testid="duel-history-row"]').first
    expect(row).to_have_attribute("data-result", "loss", timeout=10_000)
    export = row.locator('[data-testid="duel-history-export"]')
    expect(export).to_have_attribute("aria-label", "Export the duel against Alice as a notebook")
    # The battles table scrolls sideways by design: scrolled to, the button is whole inside its section.
    section = bob.locator(".jp-DuelHistory-section.jp-mod-battles")
    for viewport in ({"width": 900, "height": 800}, {"width": 1280, "height": 800}):
        bob.set_viewport_size(viewport)
        export.scroll_into_view_if_needed()
        assert inside(box(export), box(section)), (box(export), box(section))
    export.click()
    expect(bob.locator(".jp-NotebookPanel:visible")).to_contain_text("Alice's final solution", timeout=20_000)
    bobs = root / "duel-exports" / f"{files[0].name[:10]}-{challenge.id}-vs-Alice.ipynb"
    assert bobs.is_file() and json.loads(bobs.read_text())["cells"] == notebook_cells(files[0])
