"""Students play a tournament from the Duel panel (docs/tournaments.md, the protocol's tournament events).

An instructor (the Jupyter user, through the REST API with the server's token) creates an arena; two students,
each in a browser of their own, see it appear in the panel's Tournaments card, join with one click, and are
paired as soon as it starts: the game opens as any duel, its header naming the tournament. One solves it; both
panels' standings, games and pairing state follow, and the next pairing arrives by itself. A student who
reloads the page mid-game is put back into the tournament game. A one-round Swiss shows its round and the final
places. Last, the instructor runs the arena from a notebook in JupyterLab (``jupyter_duel.tournament`` in their
own kernel): the control panel widget's standings follow the game, and the exported notebook holds both final
solutions. Real JupyterLab, headless Chromium.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import nbformat
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from browsers import challenge_on, open_palette, palette_labels, player, switch_theme, type_code
from helpers import ARTIFACTS, JupyterProcess

ARENA = "Friday arena"
#: WCAG 2.1 A/AA and axe's best practices, as in test_accessibility_browser.py; serious and critical fail.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
               "resultTypes": ["violations"]}


@pytest.fixture
def lab(tmp_path):
    lab = JupyterProcess(tmp_path, "lab", extra=("--DuelService.countdown_s=0",)).start()
    yield lab
    lab.stop()


def api(lab: JupyterProcess, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """The service's REST API as the Jupyter user (the instructor of an embedded service): status, JSON body."""
    request = urllib.request.Request(
        lab.url(f"duel/api/{path}"),
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {lab.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def create_arena(lab: JupyterProcess, name: str = ARENA) -> str:
    status, view = api(lab, "POST", "tournaments",
                       {"name": name, "format": "arena", "duration_s": 1800, "difficulty": "easy"})
    assert status == 201, view
    assert view["status"] == "open" and view["format"] == "arena"
    return view["id"]


def start(lab: JupyterProcess, tournament_id: str) -> None:
    status, view = api(lab, "POST", f"tournaments/{tournament_id}/start", {})
    assert status == 200, view
    assert view["status"] == "running"


def card(page: Page):
    return page.locator('[data-testid="duel-tournaments"]')


def shoot(page: Page, name: str) -> None:
    """A screenshot with the Tournaments card scrolled into the panel's view."""
    card(page).evaluate("el => el.scrollIntoView({block: 'end'})")
    page.screenshot(path=ARTIFACTS / name)


def join(page: Page, tournament_id: str) -> None:
    """Join from the list with one click; the card then shows the tournament."""
    row = card(page).locator(f'[data-testid="duel-tournament-row"][data-id="{tournament_id}"]')
    expect(row).to_be_visible(timeout=20_000)
    row.locator('[data-testid="duel-tournament-join"]').click()
    expect(card(page).locator('[data-testid="duel-tournament"]')).to_have_attribute("data-id", tournament_id,
                                                                                    timeout=15_000)


def status(page: Page):
    return card(page).locator('[data-testid="duel-tournament-status"]')


def standing(page: Page, display_name: str):
    return card(page).locator('[data-testid="duel-standing-row"]', has_text=display_name)


def duel_view(page: Page):
    """The duel view in front (earlier games' views stay open in their tabs)."""
    return page.locator('[data-testid="duel-view"]').filter(visible=True)


def run_command(page: Page, label: str) -> None:
    """Run the palette command labelled ``label``."""
    search = open_palette(page)
    search.fill(label)
    item = page.locator(".lm-CommandPalette-item").filter(
        has=page.locator(".lm-CommandPalette-itemLabel", has_text=re.compile(f"^{re.escape(label)}$")))
    item.click()


def blocking_violations(page: Page, selector: str) -> list[str]:
    results = Axe().run(page, context={"include": [[selector]]}, options=AXE_OPTIONS)
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']}"
        for violation in results.response["violations"] if violation["impact"] in {"serious", "critical"}
        for node in violation["nodes"]
    ]


def test_two_students_play_an_arena_from_the_duel_panel(chromium, lab):
    url = lab.url("lab", token=lab.token)
    alice = player(chromium, url, "Alice")
    bob = player(chromium, url, "Bob")
    for page in (alice, bob):
        expect(card(page).locator('[data-testid="duel-tournaments-empty"]')).to_be_visible()

    # Created while the students' panels are open: the list reaches them without a reload.
    tournament_id = create_arena(lab)
    for page in (alice, bob):
        row = card(page).locator(f'[data-testid="duel-tournament-row"][data-id="{tournament_id}"]')
        expect(row).to_be_visible(timeout=20_000)
        expect(row).to_contain_text(ARENA)
        expect(row).to_have_attribute("data-status", "open")
        expect(row.locator('[data-testid="duel-tournament-join"]')).to_be_enabled()
    shoot(alice, "tournament-1-list-alice.png")

    # One click each: in, with a highlighted row of their own, waiting for the start.
    for page in (alice, bob):
        join(page, tournament_id)
        expect(status(page)).to_have_attribute("data-state", "open")
    for page, me, other in ((alice, "Alice", "Bob"), (bob, "Bob", "Alice")):
        expect(card(page).locator('[data-testid="duel-standing-row"]')).to_have_count(2, timeout=15_000)
        expect(standing(page, me)).to_have_attribute("data-me", "true")
        expect(standing(page, me)).to_have_attribute("aria-current", "true")
        expect(standing(page, me)).to_have_class(re.compile(r"\bjp-mod-me\b"))
        expect(standing(page, other)).to_have_attribute("data-me", "false")
        expect(card(page).locator('[data-testid="duel-tournament-time"]')).to_contain_text("once started")
        expect(card(page).locator('[data-testid="duel-tournament-pause"]')).to_have_text("Pause")
    shoot(alice, "tournament-2-joined-alice.png")

    # Started: both are paired at once, the game opens as any duel and says which tournament it belongs to.
    start(lab, tournament_id)
    for page in (alice, bob):
        view = duel_view(page)
        expect(view).to_be_visible(timeout=30_000)
        expect(view.locator('[data-testid="duel-tournament-tag"]')).to_have_text(f"Tournament: {ARENA}",
                                                                                 timeout=15_000)
        expect(status(page)).to_have_attribute("data-state", "playing", timeout=15_000)
        time_left = card(page).locator('[data-testid="duel-tournament-time"]')
        expect(time_left).to_contain_text("left")
        assert 0 < int(time_left.get_attribute("data-left")) <= 1800
    expect(status(alice)).to_contain_text("Playing Bob")
    expect(status(bob)).to_contain_text("Playing Alice")
    expect(alice.locator('[data-testid="duel-battle-tournament"]')).to_have_text(f"Tournament: {ARENA}")
    challenge = challenge_on(alice)
    shoot(bob, "tournament-3-game-bob.png")

    # Alice solves it: the duel's result, then the standings and the games in both panels.
    type_code(alice, challenge.reference)
    duel_view(alice).locator('[data-testid="duel-submit"]').click()
    for page, result in ((alice, "won"), (bob, "lost")):
        outcome = page.locator('[data-testid="duel-outcome"]').first
        expect(outcome).to_have_attribute("data-result", result, timeout=60_000)
        expect(outcome.locator('[data-testid="duel-outcome-tournament-note"]')).to_have_text(
            "The result counts in the tournament; your next game comes by itself.")
        expect(outcome.locator('[data-testid="duel-rematch"]')).to_have_count(0)
    for page in (alice, bob):
        expect(standing(page, "Alice")).to_have_attribute("data-score", "2", timeout=15_000)
        expect(standing(page, "Alice")).to_have_attribute("data-rank", "1")
        expect(standing(page, "Bob")).to_have_attribute("data-score", "0")
        expect(standing(page, "Alice").locator('[data-testid="duel-standing-score"]')).to_have_text("2")
    for page, result in ((alice, "won"), (bob, "lost")):
        games = card(page).locator('[data-testid="duel-tournament-game"]')
        expect(games).to_have_count(1)
        expect(games.first).to_have_attribute("data-result", result)
    shoot(alice, "tournament-4-after-win-alice.png")
    shoot(bob, "tournament-4-after-loss-bob.png")

    # The next pairing comes by itself (only the two of them are free): a second duel view, a new game.
    for page in (alice, bob):
        expect(page.locator(".jp-DuelView")).to_have_count(2, timeout=30_000)
        expect(duel_view(page).locator('[data-testid="duel-tournament-tag"]')).to_have_text(f"Tournament: {ARENA}")
        expect(status(page)).to_have_attribute("data-state", "playing", timeout=15_000)

    # The card in both themes passes the accessibility scan (serious or critical violations fail).
    problems = {"light": blocking_violations(alice, '[data-testid="duel-tournaments"]')}
    switch_theme(bob, "JupyterLab Dark", light=False)
    problems["dark"] = blocking_violations(bob, '[data-testid="duel-tournaments"]')
    shoot(bob, "tournament-5-standings-bob-dark.png")
    failing = {theme: found for theme, found in problems.items() if found}
    assert not failing, failing

    # Bob pauses (no new opponent after this game), resumes, then leaves: asked first, and Stay keeps him in.
    pause = card(bob).locator('[data-testid="duel-tournament-pause"]')
    pause.click()
    expect(pause).to_have_text("Resume", timeout=15_000)
    expect(pause).to_have_attribute("aria-pressed", "true")
    pause.click()
    expect(pause).to_have_text("Pause", timeout=15_000)
    card(bob).locator('[data-testid="duel-tournament-leave"]').click()
    bob.locator(".jp-Dialog button", has_text="Stay").click()
    expect(bob.locator(".jp-Dialog")).to_have_count(0)
    expect(card(bob).locator('[data-testid="duel-tournament-leave"]')).to_be_visible()
    card(bob).locator('[data-testid="duel-tournament-leave"]').click()
    bob.locator(".jp-Dialog .jp-mod-warn", has_text="Leave").click()
    # The running game is not forfeited by leaving: Bob is marked as gone, the game plays on.
    for page in (alice, bob):
        expect(standing(page, "Bob")).to_have_attribute("data-withdrawn", "true", timeout=15_000)
        expect(standing(page, "Bob")).to_contain_text("(left)")
    expect(card(bob).locator('[data-testid="duel-tournament-leave"]')).to_have_count(0)
    expect(duel_view(bob).locator('[data-testid="duel-submit"]')).to_be_enabled()
    # An arena takes a player back: the card offers it.
    expect(card(bob).locator('[data-testid="duel-tournament-join"]')).to_have_text("Join again")
    shoot(bob, "tournament-6-left-bob.png")


def test_reload_mid_game_resumes_the_tournament_game(chromium, lab):
    url = lab.url("lab", token=lab.token)
    alice = player(chromium, url, "Alice")
    bob = player(chromium, url, "Bob")
    tournament_id = create_arena(lab, "Reload arena")
    join(alice, tournament_id)
    # Bob joins from the palette: the command lists the tournaments he may join.
    expect(card(bob).locator(f'[data-testid="duel-tournament-row"][data-id="{tournament_id}"]')).to_be_visible(
        timeout=20_000)
    run_command(bob, "Join a Tournament…")
    dialog = bob.locator(".jp-Dialog")
    expect(dialog.locator("select")).to_contain_text("Reload arena")
    dialog.locator(".jp-mod-accept").click()
    expect(card(bob).locator('[data-testid="duel-tournament"]')).to_have_attribute("data-id", tournament_id,
                                                                                   timeout=15_000)
    expect(card(bob).locator('[data-testid="duel-standing-row"]')).to_have_count(2, timeout=15_000)
    assert "Leave Tournament Reload arena…" in palette_labels(bob, "Tournament", "Leave Tournament Reload arena…")
    start(lab, tournament_id)
    for page in (alice, bob):
        expect(duel_view(page)).to_be_visible(timeout=30_000)
        expect(status(page)).to_have_attribute("data-state", "playing", timeout=15_000)
    challenge = challenge_on(alice)

    marker = "# typed before the reload"
    type_code(alice, f"def {challenge.function}(*args):\n    {marker}\n    return None\n")
    expect(bob.locator('[data-testid="duel-mirror"] .cm-content')).to_contain_text(marker, timeout=10_000)

    alice.reload()
    # Back in the same game: the view with her code and the tournament's name, the panel on the tournament.
    view = duel_view(alice)
    expect(view).to_be_visible(timeout=60_000)
    expect(view.locator('[data-testid="duel-editor"] .cm-content')).to_contain_text(marker, timeout=15_000)
    expect(view.locator('[data-testid="duel-tournament-tag"]')).to_have_text("Tournament: Reload arena",
                                                                             timeout=15_000)
    expect(card(alice).locator('[data-testid="duel-tournament"]')).to_have_attribute("data-id", tournament_id,
                                                                                     timeout=15_000)
    expect(status(alice)).to_have_attribute("data-state", "playing")
    expect(status(alice)).to_contain_text("Playing Bob")
    expect(standing(alice, "Alice")).to_have_attribute("data-me", "true")
    shoot(alice, "tournament-7-after-reload-alice.png")

    # The instructor ends the arena while the game runs: no new games, and the panel says so.
    status_code, ended = api(lab, "POST", f"tournaments/{tournament_id}/end")
    assert status_code == 200 and ended["ending"], ended
    for page in (alice, bob):
        expect(status(page)).to_contain_text("the tournament is ending: this is your last game", timeout=15_000)

    # The resumed game counts: she solves it, both panels' standings change.
    type_code(alice, challenge.reference)
    view.locator('[data-testid="duel-submit"]').click()
    expect(alice.locator('[data-testid="duel-outcome"]').first).to_have_attribute("data-result", "won",
                                                                                  timeout=60_000)
    for page in (alice, bob):
        expect(standing(page, "Alice")).to_have_attribute("data-score", "2", timeout=15_000)
        expect(standing(page, "Bob")).to_have_attribute("data-score", "0")
    expect(card(alice).locator('[data-testid="duel-tournament-game"]').first).to_have_attribute("data-result", "won")


def test_a_swiss_shows_its_round_and_the_final_places(chromium, lab):
    url = lab.url("lab", token=lab.token)
    alice = player(chromium, url, "Alice")
    bob = player(chromium, url, "Bob")
    status_code, view = api(lab, "POST", "tournaments",
                            {"name": "One-round Swiss", "format": "swiss", "rounds": 1, "difficulty": "easy"})
    assert status_code == 201, view
    tournament_id = view["id"]
    for page in (alice, bob):
        join(page, tournament_id)
        expect(card(page).locator('[data-testid="duel-tournament-time"]')).to_have_text("1 round, not started yet")
        # No pause in a Swiss: rounds are paired for everyone.
        expect(card(page).locator('[data-testid="duel-tournament-pause"]')).to_have_count(0)
    start(lab, tournament_id)
    for page in (alice, bob):
        expect(duel_view(page)).to_be_visible(timeout=30_000)
        expect(card(page).locator('[data-testid="duel-tournament-time"]')).to_have_text("Round 1 of 1",
                                                                                        timeout=15_000)
        expect(status(page)).to_have_attribute("data-state", "playing", timeout=15_000)
    challenge = challenge_on(alice)
    type_code(alice, challenge.reference)
    duel_view(alice).locator('[data-testid="duel-submit"]').click()

    # The only round is over: the tournament is, and each panel says where its player finished.
    for page, place in ((alice, "#1 with 1 point"), (bob, "#2 with 0 points")):
        expect(status(page)).to_have_attribute("data-state", "finished", timeout=30_000)
        expect(status(page)).to_contain_text(f"Finished: you placed {place}.")
        expect(card(page).locator('[data-testid="duel-tournament"]')).to_have_attribute("data-status", "finished")
        expect(card(page).locator('[data-testid="duel-tournament-time"]')).to_have_text("Over after 1 round")
        expect(card(page).locator('[data-testid="duel-tournament-leave"]')).to_have_count(0)
    expect(card(alice).locator('[data-testid="duel-tournament-game"]').first).to_contain_text("R1 · vs Bob")
    expect(alice.locator('[data-testid="duel-outcome-tournament-note"]')).to_have_text(
        "The tournament is over: the final standings are in the Duel panel.")
    shoot(alice, "tournament-8-swiss-finished-alice.png")
    # Back to the list: the finished tournament stays listed for its players, to look at, no longer to join.
    card(alice).locator('[data-testid="duel-tournament-back"]').click()
    row = card(alice).locator(f'[data-testid="duel-tournament-row"][data-id="{tournament_id}"]')
    expect(row).to_have_attribute("data-status", "finished")
    expect(row.locator('[data-testid="duel-tournament-join"]')).to_have_count(0)
    row.locator('[data-testid="duel-tournament-open"]').click()
    expect(status(alice)).to_have_attribute("data-state", "finished")


#: The organiser's notebook: create the arena, show its control panel, start it, export it (one cell each).
ORGANISER_CELLS = [
    'from jupyter_duel.tournament import Tournament\n'
    't = Tournament.create("Notebook arena", "arena", duration_s=1800, difficulty="easy")\n'
    'print("created", t.id)',
    "t.widget()",
    'print("status", t.start()["status"])',
    'print("exported", t.export_notebook("arena-export.ipynb"))',
]


def run_cell(page: Page, index: int, output: str) -> None:
    """Run the notebook's cell ``index`` (Shift+Enter in it) and wait until its output shows ``output``."""
    cell = page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(index)
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    expect(cell.locator(".jp-OutputArea-output").first).to_contain_text(output, timeout=90_000)


def test_an_instructor_runs_the_arena_from_a_notebook(chromium, lab):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in ORGANISER_CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(notebook, lab.tmp / "work" / "organiser.ipynb")
    url = lab.url("lab", token=lab.token)

    # The Jupyter user (the instructor of the embedded service) runs the notebook in their own kernel.
    teacher = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    teacher.goto(lab.url("lab/tree/organiser.ipynb", token=lab.token))
    expect(teacher.locator(".jp-NotebookPanel:visible")).to_be_visible(timeout=60_000)
    # A cell run before the kernel is ready would be lost.
    expect(teacher.locator(".jp-StatusBar-TextItem", has_text="Python 3")).to_contain_text("Idle", timeout=60_000)
    run_cell(teacher, 0, "created")
    run_cell(teacher, 1, "Standings")
    panel = teacher.locator(".jd-tournament-panel")
    expect(panel).to_be_visible()

    # The students see the arena the notebook made, and join it from their panels.
    alice = player(chromium, url, "Alice")
    bob = player(chromium, url, "Bob")
    for page in (alice, bob):
        row = card(page).locator('[data-testid="duel-tournament-row"]', has_text="Notebook arena")
        expect(row).to_be_visible(timeout=20_000)
        row.locator('[data-testid="duel-tournament-join"]').click()
        expect(card(page).locator('[data-testid="duel-tournament-name"]')).to_have_text("Notebook arena",
                                                                                        timeout=15_000)
    standings = teacher.locator(".jd-tournament-standings")
    for name in ("Alice", "Bob"):
        expect(standings).to_contain_text(name, timeout=30_000)

    # Started from the notebook: the students are paired.
    run_cell(teacher, 2, "status running")
    for page in (alice, bob):
        expect(duel_view(page).locator('[data-testid="duel-tournament-tag"]')).to_have_text(
            "Tournament: Notebook arena", timeout=30_000)
    challenge = challenge_on(alice)
    bob_code = f"def {challenge.function}(*args):\n    return 'bob tried this'\n"
    type_code(bob, bob_code)
    expect(alice.locator('[data-testid="duel-mirror"] .cm-content').filter(visible=True)).to_contain_text(
        "bob tried this", timeout=10_000)
    type_code(alice, challenge.reference)
    duel_view(alice).locator('[data-testid="duel-submit"]').click()
    expect(alice.locator('[data-testid="duel-outcome"]').first).to_have_attribute("data-result", "won",
                                                                                  timeout=60_000)

    # The widget's standings follow: Alice first with an arena win's 2 points; the students' panels agree.
    alice_row = standings.locator("tr", has_text="Alice")
    expect(alice_row.locator("td").nth(2)).to_have_text("2", timeout=30_000)
    expect(alice_row.locator("td").first).to_have_text("1")
    expect(standings.locator("tr", has_text="Bob").locator("td").nth(2)).to_have_text("0")
    for page in (alice, bob):
        expect(standing(page, "Alice")).to_have_attribute("data-score", "2", timeout=15_000)
    teacher.screenshot(path=ARTIFACTS / "tournament-9-notebook-widget.png")

    # The export: a notebook in the instructor's files holding both final solutions, opened in JupyterLab.
    run_cell(teacher, 3, "exported")
    exported = lab.tmp / "work" / "arena-export.ipynb"
    sources = "\n".join(c.source for c in nbformat.read(exported, as_version=4).cells)
    assert challenge.reference.strip() in sources and "return 'bob tried this'" in sources
    teacher.goto(lab.url("lab/tree/arena-export.ipynb", token=lab.token))
    opened = teacher.locator(".jp-NotebookPanel:visible")
    expect(opened).to_be_visible(timeout=60_000)
    expect(teacher.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")).to_contain_text("arena-export.ipynb")
    expect(opened).to_contain_text("Notebook arena", timeout=20_000)
    expect(opened).to_contain_text("return 'bob tried this'")
    expect(opened).to_contain_text(max(challenge.reference.splitlines(), key=len).strip())
    # The export names Python as its kernel: JupyterLab starts it without asking which kernel to use.
    expect(opened.locator(".jp-Toolbar-kernelName").first).to_contain_text("Python 3", timeout=60_000)
    expect(teacher.locator(".jp-Dialog")).to_have_count(0)
    teacher.screenshot(path=ARTIFACTS / "tournament-10-export-notebook.png")
