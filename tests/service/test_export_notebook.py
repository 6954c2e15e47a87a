"""A finished battle exported as a Jupyter notebook (``GET /api/battles/{id}/notebook``), over real HTTP from a real
service after a real battle: a valid nbformat 4 notebook with the statement, both final solutions, every run's
result, the outcome and the rating change; for the two players and instructors only; never a hidden test."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import nbformat

from helpers import Player, judged, players_on
from jupyter_duel_server.auth import Identity, IdentitySigner
from jupyter_duel_server.challenges import ChallengeLibrary

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())


def token(name: str, instructor: bool = False) -> str:
    return IdentitySigner("test-secret").issue(Identity(name, False, instructor=instructor))


def get_notebook(url: str, battle_id: str, auth: str | None) -> tuple[int, dict]:
    """GET the battle's notebook as the holder of ``auth`` (an identity token): (status, decoded body)."""
    request = urllib.request.Request(f"{url}/api/battles/{battle_id}/notebook")
    if auth:
        request.add_header("Authorization", f"token {auth}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


async def signed_in(url: str, name: str) -> Player:
    """A player who registers with an identity token (as a Jupyter or JupyterHub login gives one)."""
    player = Player(url)
    await player.client.connect(url, transports=["websocket"])
    await player.register({"token": token(name)})
    return player


def hidden_leaks(text: str, challenge) -> list[str]:
    """The hidden tests' calls and (distinctive) expected values that occur in ``text`` while no sample shows them."""
    public = {challenge.call_repr(t) for t in challenge.samples} | {repr(t.expected) for t in challenge.samples}
    leaks = []
    for test in challenge.hidden:
        call, expected = challenge.call_repr(test), repr(test.expected)
        if call not in public and call in text:
            leaks.append(call)
        if len(expected) >= 6 and expected not in public and expected in text:
            leaks.append(expected)
    return leaks


async def test_players_and_instructors_export_a_finished_battle(service):
    url = service.url
    async with players_on(service) as make:
        del make  # these players sign in with identity tokens, not as guests
        ada, bo = await signed_in(url, "ada"), await signed_in(url, "bo")
        outsider = await signed_in(url, "cy")
        try:
            assert (await ada.call("join_queue", {"pool": "easy", "ranked": True}))["ok"]
            await ada.expect("queue_update")
            assert (await bo.call("join_queue", {"pool": "easy", "ranked": True}))["ok"]
            match = await ada.expect("match_found")
            await bo.expect("match_found")
            bid = match["battle_id"]
            challenge = LIBRARY.get(match["challenge"]["id"])

            # While it runs: refused to its players, and an outsider learns nothing more than "not yours".
            status, body = get_notebook(url, bid, token("ada"))
            assert status == 409 and body["error"]["code"] == "battle_running"
            status, body = get_notebook(url, bid, token("cy"))
            assert status == 403 and body["error"]["code"] == "not_in_battle"

            wrong = f"def {challenge.function}(*args):\n    return None  # bo's attempt\n"
            assert (await bo.call("sync_code", {"battle_id": bid, "seq": 1, "text": wrong}))["ok"]
            bo_result = await judged(bo, bid, wrong)
            assert bo_result["verdict"] != "AC"
            assert (await ada.call("sync_code", {"battle_id": bid, "seq": 1, "text": challenge.reference}))["ok"]
            assert (await ada.call("run_samples", {"battle_id": bid, "code": challenge.reference}))["ok"]
            while (await ada.expect("submission_result", timeout=60))["player"] != ada.name:
                pass
            ada_result = await judged(ada, bid, challenge.reference)
            assert ada_result["verdict"] == "AC"
            complete = await ada.expect("battle_complete")
            assert complete["winner"] == "ada"
        finally:
            for p in (ada, bo, outsider):
                await p.close()

        notebooks = {}
        for who, auth in (("ada", token("ada")), ("bo", token("bo")), ("teach", token("teach", instructor=True))):
            status, body = get_notebook(url, bid, auth)
            assert status == 200, (who, body)
            notebooks[who] = body
        # Another player, a forged token, an unknown battle: refused with a machine-readable code.
        assert get_notebook(url, bid, token("cy")) == (
            403, {"error": {"code": "not_in_battle", "message": "this battle is for its players and instructors"}})
        forged = IdentitySigner("guessed").issue(Identity("ada", False))
        status, body = get_notebook(url, bid, forged)
        assert status == 401 and body["error"]["code"] == "auth_failed"
        for crafted in ("no-such-battle", "x'%20OR%201=1--", "%2e%2e", "b" * 4000):
            status, body = get_notebook(url, crafted, token("ada"))
            assert status == 404 and body["error"]["code"] == "unknown_battle", crafted

    assert notebooks["ada"] == notebooks["bo"] == notebooks["teach"]
    raw = notebooks["ada"]
    notebook = nbformat.reads(json.dumps(raw), as_version=4)
    nbformat.validate(notebook)  # raises on anything not nbformat 4
    assert notebook.nbformat == 4 and notebook.metadata.kernelspec.name == "python3"
    meta = notebook.metadata.jupyter_duel
    assert meta.battle_id == bid and meta.players == ["ada", "bo"] and meta.winner == "ada"
    assert meta.challenge_id == challenge.id

    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert [c.source for c in code_cells] == [challenge.reference, wrong]
    assert [c.metadata.jupyter_duel.player for c in code_cells] == ["ada", "bo"]
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "ada's final solution (winner)" in markdown and "bo's final solution" in markdown
    assert challenge.title in markdown and challenge.statement.strip().splitlines()[0] in markdown
    for sample in challenge.samples:
        assert challenge.call_repr(sample).replace("|", "\\|") in markdown
    # Every run, in order, with its verdict and passed/total.
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 3, rows
    assert "| bo |" in rows[0] and "| submit |" in rows[0] and bo_result["verdict"] in rows[0]
    assert f"{bo_result['passed']}/{bo_result['total']}" in rows[0]
    assert "| ada |" in rows[1] and "| samples |" in rows[1]
    assert "| ada |" in rows[2] and "AC (Accepted)" in rows[2]
    assert f"{ada_result['total']}/{ada_result['total']}" in rows[2]
    # The outcome and both rating changes, as battle_complete announced them.
    assert "**ada** won." in markdown and "a submission passed every test" in markdown
    for change in complete["ratings"]:
        before, after = round(change["before"]), round(change["after"])
        delta = after - before
        assert delta != 0
        assert f"{change['name']}: {before} → {after} ({'+' if delta >= 0 else '−'}{abs(delta)})" in markdown

    # No hidden test's input or expected value anywhere in what was sent.
    assert challenge.hidden and hidden_leaks(json.dumps(raw), challenge) == []
    assert hidden_leaks(json.dumps(raw, ensure_ascii=False), challenge) == []


async def test_a_battle_without_submissions_exports_with_unchanged_ratings(service):
    """A casual battle abandoned at once: the notebook still validates, says nobody submitted, ratings unchanged;
    what the player typed is their final solution."""
    url = service.url
    async with players_on(service) as make:
        del make
        dee, eli = await signed_in(url, "dee"), await signed_in(url, "eli")
        try:
            assert (await dee.call("join_queue", {"pool": "any", "ranked": False}))["ok"]
            await dee.expect("queue_update")
            assert (await eli.call("join_queue", {"pool": "any", "ranked": False}))["ok"]
            bid = (await dee.expect("match_found"))["battle_id"]
            await eli.expect("match_found")
            typed = "# dee's | `draft` <b>\nx = 1\n"
            assert (await dee.call("sync_code", {"battle_id": bid, "seq": 1, "text": typed}))["ok"]
            assert (await eli.call("forfeit", {"battle_id": bid}))["ok"]
            await dee.expect("battle_complete")
        finally:
            await dee.close()
            await eli.close()
        status, raw = get_notebook(url, bid, token("eli"))
    assert status == 200, raw
    notebook = nbformat.reads(json.dumps(raw), as_version=4)
    nbformat.validate(notebook)
    code_cells = [c.source for c in notebook.cells if c.cell_type == "code"]
    assert code_cells[0] == typed
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "Nobody ran or submitted any code." in markdown
    assert "Ratings unchanged" in markdown and "a player forfeited" in markdown
