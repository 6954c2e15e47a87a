"""A finished battle as a Jupyter notebook (nbformat 4): the statement, both final solutions, every submission's
result, the outcome and the rating change. Served by ``GET {base}api/battles/{id}/notebook`` (``rest.py``).

Built only from the stored review (``Store.battle_review``, whose tests are ``[kind, verdict, passed, time_ms]``
rows without any input or expected value) and the challenge's public view (``Challenge.public_view``: samples,
never hidden tests): a hidden test's input or expected value cannot reach the notebook.
"""

from __future__ import annotations

import time

import nbformat
from nbformat import v4

#: What each battle-ending reason reads as in the notebook.
REASON_TEXT = {
    "solved": "a submission passed every test",
    "forfeit": "a player forfeited",
    "time_limit": "the time ran out",
    "disconnect": "a player did not come back in time",
    "aborted": "the battle was aborted",
}

VERDICT_TEXT = {
    "AC": "Accepted",
    "WA": "Wrong answer",
    "TLE": "Time limit exceeded",
    "MLE": "Memory limit exceeded",
    "RE": "Runtime error",
    "OLE": "Output limit exceeded",
    "CE": "Compilation error",
    "REFUSED": "Refused",
    "LOST": "Lost in a service restart (not counted)",
}


def _cell_text(value: object) -> str:
    """``value`` fit for one cell of a Markdown table: one line, pipes and Markdown markup escaped."""
    text = " ".join(str(value).split())
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return text


def _code_span(value: object) -> str:
    """``value`` as inline code in a Markdown table cell: one line, pipes escaped (GFM allows it inside code),
    delimited by more backticks than any run of them inside. Spaces are kept as they are: in a sample's call
    they are part of the value (``'  hello   world  '``)."""
    text = str(value).replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("|", "\\|")
    ticks = "`"
    while ticks in text:
        ticks += "`"
    return f"{ticks} {text} {ticks}"


def _inline(value: object) -> str:
    """``value`` as plain text inside a Markdown line (a player's name or a title: no markup of their own)."""
    return _cell_text(value)


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return "–"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def _code_block(text: str) -> str:
    """``text`` as a fenced Markdown block whose fence no line of the text can close."""
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}python\n{text}\n{fence}"


def battle_notebook(review: dict, challenge: dict | None) -> nbformat.NotebookNode:
    """The notebook of a finished battle. ``review`` is ``Store.battle_review``'s answer with ``display_names``;
    ``challenge`` is the challenge's public view (None when the challenge is no longer loaded). Validated."""
    players = review["players"]
    names = review.get("display_names") or [p or "?" for p in players]
    title = challenge["title"] if challenge else review["challenge_id"]
    cells = []

    # ---- heading and statement
    head = [f"# Duel: {_inline(title)}", ""]
    head.append(f"**{_inline(names[0])}** vs **{_inline(names[1])}** · "
                f"{'ranked' if review['ranked'] else 'casual'} · {_when(review['started_at'])}")
    if challenge:
        tags = ", ".join(_inline(t) for t in challenge["tags"])
        head.append("")
        head.append(f"Difficulty: **{challenge['difficulty']}**" + (f" · tags: {tags}" if tags else ""))
    cells.append(v4.new_markdown_cell("\n".join(head)))
    if challenge:
        text = challenge["statement"].strip()
        # Most statements open with their own title, which then heads the section.
        statement = [] if text.startswith("#") else ["## Statement", ""]
        statement += [text, "", "### Signature", "", _code_block(challenge["signature"]), "",
                      "### Samples", "", "| Call | Expected |", "|---|---|"]
        statement += [f"| {_code_span(s['call'])} | {_code_span(s['expected'])} |" for s in challenge["samples"]]
        count = challenge["hidden_count"]
        statement += ["", f"{count} hidden test{'' if count == 1 else 's'} ran on Submit (not shown)."]
        cells.append(v4.new_markdown_cell("\n".join(statement)))

    # ---- both final solutions
    for index, name in enumerate(names):
        code = review["codes"][index]
        winner = review["winner"] is not None and review["winner"] == players[index]
        # The code is a player's: nothing runs it unless the reader does, and the heading says to read it first.
        cells.append(v4.new_markdown_cell(
            f"## {_inline(name)}'s final solution" + (" (winner)" if winner else "")
            + "\n\nA player's code: read it before you run it."))
        cell = v4.new_code_cell(code if code else "# (no code)")
        cell.metadata["jupyter_duel"] = {"player": players[index]}
        cells.append(cell)

    # ---- every run and submission
    rows = ["## Results", ""]
    submissions = review["submissions"]
    if submissions:
        rows += ["| # | Player | At | Run | Verdict | Passed |", "|---|---|---|---|---|---|"]
        for number, sub in enumerate(submissions, start=1):
            who = names[players.index(sub["player"])] if sub["player"] in players else sub["player"] or "?"
            verdict = sub["verdict"] or "not judged"
            shown = f"{verdict} ({VERDICT_TEXT[verdict]})" if verdict in VERDICT_TEXT else verdict
            passed = "–" if sub["total"] is None else f"{sub['passed']}/{sub['total']}"
            rows.append(f"| {number} | {_cell_text(who)} | {sub['at_s']:.0f} s | "
                        f"{'samples' if sub['samples_only'] else 'submit'} | {_cell_text(shown)} | {passed} |")
    else:
        rows.append("Nobody ran or submitted any code.")
    cells.append(v4.new_markdown_cell("\n".join(rows)))

    # ---- outcome and ratings
    if review["status"] == "aborted" or review["reason"] == "aborted":
        outcome = "The battle was aborted" + (f": {_inline(review['note'])}" if review.get("note") else ".")
    elif review["winner"] is None:
        outcome = "Draw."
    else:
        outcome = f"**{_inline(names[players.index(review['winner'])])}** won."
    reason = REASON_TEXT.get(review["reason"] or "")
    lines = ["## Outcome", "", outcome + (f" The duel ended because {reason}." if reason else ""), ""]
    changed = False
    for index, name in enumerate(names):
        before, after = review["ratings"][index]
        if before is None:
            continue
        after = before if after is None else after
        delta = round(after) - round(before)
        changed = changed or delta != 0
        sign = "+" if delta >= 0 else "−"
        lines.append(f"- {_inline(name)}: {round(before)} → {round(after)} ({sign}{abs(delta)})")
    if not changed:
        lines += ["", "Ratings unchanged (casual, practice, aborted or not rated)."]
    cells.append(v4.new_markdown_cell("\n".join(lines)))

    for number, cell in enumerate(cells, start=1):
        cell.id = f"duel-{number}"  # the same battle exports to the same notebook
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.metadata["jupyter_duel"] = {
        "battle_id": review["battle_id"],
        "challenge_id": review["challenge_id"],
        "challenge_title": title,
        "players": players,
        "display_names": names,
        "winner": review["winner"],
        "ended_at": review["ended_at"],
    }
    nbformat.validate(notebook)
    return notebook
