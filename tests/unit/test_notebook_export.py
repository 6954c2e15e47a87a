"""The exported battle notebook (``notebook.battle_notebook``) with hostile content: names, titles and codes that
try to break out of their Markdown, a statement without a title, a challenge no longer loaded. The notebook
always validates and each piece of text stays in its place."""

from __future__ import annotations

import re

import nbformat

from jupyter_duel_server.notebook import battle_notebook


def review(**changes) -> dict:
    base = {
        "battle_id": "b1", "challenge_id": "add-two", "players": ["ann", "guest:bo"],
        "display_names": ["ann", "bo"], "winner": "ann", "status": "finished", "reason": "solved", "note": None,
        "ranked": True, "mirror": "live", "started_at": 1_700_000_000.0, "ended_at": 1_700_000_300.0,
        "ratings": [[1200.0, 1216.4], [1200.0, 1183.6]], "similarity": None,
        "codes": ["def add(a, b):\n    return a + b\n", ""], "timelines": [[], []],
        "submissions": [{"player": "ann", "at_s": 12.3, "samples_only": False, "verdict": "AC", "passed": 3,
                         "total": 3, "tests": [["sample", "AC", True, 1.0]], "code": "x"}],
    }
    base.update(changes)
    return base


CHALLENGE = {
    "id": "add-two", "title": "Add | Two", "difficulty": "easy", "tags": ["warm-up"],
    "statement": "Write `add(a, b)`.", "function": "add", "signature": "def add(a: int, b: int) -> int:",
    "starter_code": "", "samples": [{"call": "add('|', '`')", "expected": "'|`'"}], "hidden_count": 4,
}


def markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_hostile_names_and_code_stay_in_their_cells():
    hostile = "<img src=x onerror=alert(1)>|**x**\n# h"
    code = "```\n</div>\n# not a heading\n"
    nb = battle_notebook(review(display_names=[hostile, "bo"], codes=[code, None]), CHALLENGE)
    nbformat.validate(nb)
    text = markdown(nb)
    assert not re.search(r"(?<!\\)<img", text)  # markup only ever escaped
    assert "\\<img src=x onerror=alert(1)\\>\\|\\*\\*x\\*\\* \\# h's final solution" in text
    assert [c.source for c in nb.cells if c.cell_type == "code"] == [code, "# (no code)"]
    # The sample table keeps two columns: pipes escaped, backticks inside a longer code span.
    assert "| `` add('\\|', '`') `` | `` '\\|`' `` |" in text
    assert "## Statement" in text and "4 hidden tests ran on Submit (not shown)." in text
    assert [c.id for c in nb.cells] == [f"duel-{n}" for n in range(1, len(nb.cells) + 1)]


def test_without_the_challenge_and_without_ratings():
    nb = battle_notebook(review(winner=None, reason="time_limit", ratings=[[1200.0, None], [None, None]],
                                submissions=[]), None)
    nbformat.validate(nb)
    text = markdown(nb)
    assert text.startswith("# Duel: add-two") and "Draw. The duel ended because the time ran out." in text
    assert "Nobody ran or submitted any code." in text and "Ratings unchanged" in text
    assert "ann: 1200 → 1200 (+0)" in text


def test_an_aborted_battle_says_why():
    nb = battle_notebook(review(winner=None, status="aborted", reason="aborted", note="fire drill"), CHALLENGE)
    assert "The battle was aborted: fire drill" in markdown(nb)


def test_a_sample_keeps_its_spaces():
    # Spaces inside a sample's arguments are part of the value: the table must show them as they are.
    spaced = dict(CHALLENGE, samples=[{"call": "reverse_words('  hello   world  ')", "expected": "'world hello'"}])
    text = markdown(battle_notebook(review(), spaced))
    assert "| ` reverse_words('  hello   world  ') ` | ` 'world hello' ` |" in text
